"""``uet run`` overhead per workstream against running the same commands with plain subprocess.

N workstreams (1,000; ``--quick``: 100), each one no-op step (``sh -c true``) and one no-op acceptance
check (``sh -c true``), independent of each other, in a git repository of 200 files, ``--jobs 2``.
The alternative is the same 2N commands run by ``subprocess.run`` on a pool of 2 threads.

Reported, per workstream and in worker-seconds (wall time × jobs / N, so the pool's parallelism is
not counted as a saving): the engine's overhead over the plain commands, split into time spent in git
(worktree add, stage, diff, apply, remove: summed from the engine's own counters, ``UET_PROFILE=1``)
and everything else (records, scheduling, process handling). The fixed cost of starting Python and
planning the specs (a ``--dry-run`` of the same set) is measured separately and left out of the per
workstream figures. Also shown: the engine's own CPU time per workstream (all its threads, from
``time.process_time`` around the run, reported by ``UET_PROFILE=1``; git's and the commands' processes are not in
it), the figure that depends least on how busy the machine is. Peak memory is the engine process's maximum
resident set size. The same set run once more with a no-op ``--hook`` (six calls per workstream on its
helper thread) shows what observing a run costs; the built-in hooks (the ExecutionLog writer) are in both
runs and measured alone by ``python -m benchmarks detection``.

The sandbox: the same set runs with ``--sandbox off`` (the figures above) and again under each
mechanism this machine has (bubblewrap, Landlock); their extra cost is printed per workstream and per
command (each workstream runs two commands), against the unconfined run.

``python -m benchmarks.bench_run --dask [--quick]`` compares instead the two executors on 100 of those
workstreams: local threads (``--jobs 2``) against a Dask ``LocalCluster`` of two single-threaded worker
processes on this machine (``--dask-scheduler``, also ``--jobs 2``), and prints the ratio. It needs the dask extra.

``--chain``: 100 workstreams that each write one file (``--quick``: 25), run as a chain (each depends on
the one before) and as a fan (independent), ``--jobs 2``; the ratio chain / fan (goal <= 1.3).

``--large``: 50 no-op workstreams (``--quick``: 20) in repositories of 200, 5,000 and 50,000 files
(``--quick``: 200 and 5,000): a first run, then a second one with ``--force`` (worktree slots kept under
``.runs/`` are reused); each against the 200-file repository (goal: 5,000 files <= 1.3x, second run).
Twice: with the default sandbox, and with ``--sandbox off`` (the after-step guard then checks the
user's tree after every command); the second run's git calls and git time per workstream are shown.

Without a flag: the overhead figures above, then ``--chain`` and ``--large``.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

JOBS = 2
FILES = 200
ROUNDS = int(os.environ.get("UET_BENCH_ROUNDS", "3"))  # rounds of --chain and --large
# Whether this engine knows --force (the second run of --large must run everything again).
FORCE: tuple[str, ...] = ("--force",) if os.environ.get("UET_BENCH_NO_FORCE") is None else ()
GIT_ID = ["-c", "user.name=bench", "-c", "user.email=bench@localhost"]
# Whether this engine knows --durability (the overhead figures compare the default with ``full``).
DURABILITY_FULL: tuple[str, ...] = ("--durability", "full") if os.environ.get("UET_BENCH_NO_DURABILITY") is None else ()


def make_repo(root: Path, files: int = FILES) -> Path:
    repo = root / "repo"
    for i in range(files):
        path = repo / f"pkg{i % 10}" / f"sub{i % 100 // 10}" / f"module_{i}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f'"""Module {i}."""\n\nVALUE = {i}\n' + "# filler line\n" * 20)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    # gc in the foreground: a detached auto-gc would repack (and write .git/info/refs) during the measured runs.
    subprocess.run(
        ["git", *GIT_ID, "-c", "gc.autoDetach=false", "commit", "-qm", f"{files} files"], cwd=repo, check=True
    )
    return repo


def make_specs(
    root: Path, count: int, *, chain: bool = False, width: int = 1, writing: bool = False, name: str = "specs"
) -> Path:
    """``count`` no-op workstreams; ``chain``: each depends on the one ``width`` before (``width`` chains);
    ``writing``: each writes one file."""
    specs = root / name
    specs.mkdir()
    for i in range(count):
        out = f"out/f_{i:04d}.txt"
        spec = {
            "phase_id": f"PH-{i:04d}",
            "workstream_id": f"ws-bench-{i:04d}",
            "title": f"No-op {i}",
            "objective": "Measure the engine's overhead.",
            "phase_type": "test",
            "file_scope": {"create": [], "modify": [], "read_only": []},
            "steps": [{"operation_kind": "EXEC-NOOP", "tool": "sh", "run": "true"}],
            "acceptance": {"sh": ["true"]},
        }
        if chain and i >= width:
            spec["depends_on"] = [f"PH-{i - width:04d}"]
        if writing:
            spec["file_scope"] = {"create": [out], "modify": [], "read_only": []}
            spec["steps"] = [{"operation_kind": "EXEC-WRITE", "tool": "sh", "run": f"mkdir -p out && echo {i} > {out}"}]
        (specs / f"PH-{i:04d}.json").write_text(json.dumps(spec))
    return specs


def plain(repo: Path, count: int) -> float:
    """Wall seconds for the same 2N commands run by subprocess on JOBS threads."""

    def one(_: int) -> None:
        for _ in range(2):
            subprocess.run(["/bin/sh", "-c", "true"], cwd=repo, stdin=subprocess.DEVNULL, check=True)

    start = time.perf_counter()
    with ThreadPoolExecutor(JOBS) as pool:
        list(pool.map(one, range(count)))
    return time.perf_counter() - start


def uet(repo: Path, specs: Path, *extra: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "run", str(specs), "--repo", str(repo), "--jobs", str(JOBS), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "UET_PROFILE": "1"},
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        shown = subprocess.run(
            [sys.executable, "-m", "uet_engine", "runs", "list", "--repo", str(repo), "--limit", "1", "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        run_id = json.loads(shown.stdout or "[{}]")[0].get("run_id", "?")
        show = subprocess.run(
            [sys.executable, "-m", "uet_engine", "runs", "show", run_id, "--repo", str(repo), "--json"],
            capture_output=True,
            text=True,
            check=False,
        )
        errors = [e["message"] for e in json.loads(show.stdout or "{}").get("errors", [])]
        raise RuntimeError(f"uet run exited {done.returncode}: {done.stderr[-2000:]} {errors[:3]}")
    return elapsed, done.stderr


def chain_main(quick: bool = False) -> int:
    """A chain of writing workstreams against a fan of the same ones; the ratio of wall times."""
    count = 25 if quick else 100
    times: dict[str, tuple[float, str]] = {}
    with tempfile.TemporaryDirectory(prefix="uet-bench-chain-") as tmp:
        root = Path(tmp)
        specs = {
            shape: make_specs(root, count, chain=shape == "chain", writing=True, name=f"specs-{shape}")
            for shape in ("fan", "chain")
        }
        ratios = []
        for round_ in range(ROUNDS):  # interleaved, best of ROUNDS: a busy machine weighs on both alike
            this_round = {}
            for shape in ("fan", "chain"):
                measured = uet(make_repo(root / f"{shape}-{round_}"), specs[shape])
                this_round[shape] = measured[0]
                if shape not in times or measured[0] < times[shape][0]:
                    times[shape] = measured
            ratios.append(this_round["chain"] / this_round["fan"])
    print(f"run --chain: {count} workstreams each writing one file, {FILES}-file repo, --jobs {JOBS}, best of {ROUNDS}")
    for shape, (seconds, stderr) in times.items():
        found = re.search(r"uet-profile: git (\d+) calls", stderr)
        calls = found[1] if found else "?"
        print(f"  {shape + ':':<27} {seconds:8.2f} s  ({calls} git calls)")
    ratio = times["chain"][0] / times["fan"][0]
    print(f"  ratio chain / fan:          {ratio:8.2f}x  (goal <= 1.3x)")
    rounds = "  ".join(f"{r:.2f}x" for r in ratios)
    print(f"  per round (chain / fan):    {rounds}  (spread {min(ratios):.2f}-{max(ratios):.2f}x)")
    return 0


def large_main(quick: bool = False) -> int:
    """The same no-op workstreams in repositories of growing size, with the default sandbox and with
    ``--sandbox off`` (then the after-step guard watches the user's tree): a first run and a second (slots
    reused), each against the 200-file repository."""
    count = 20 if quick else 50
    sizes = (FILES, 5_000) if quick else (FILES, 5_000, 50_000)
    modes = {"default": (), "off": ("--sandbox", "off")}
    rows: dict[tuple[str, int], tuple[float, float, str]] = {}
    with tempfile.TemporaryDirectory(prefix="uet-bench-large-") as tmp:
        root = Path(tmp)
        specs = make_specs(root, count)
        repos = {(mode, size): make_repo(root / f"{size}-{mode}", size) for size in sizes for mode in modes}
        firsts = {key: uet(repo, specs, *modes[key[0]])[0] for key, repo in repos.items()}
        seconds: dict[tuple[str, int], tuple[float, str]] = {}
        for _round in range(ROUNDS):  # interleaved, best of ROUNDS: a busy machine weighs on every size alike
            for key, repo in repos.items():
                measured = uet(repo, specs, *modes[key[0]], *FORCE)
                if key not in seconds or measured[0] < seconds[key][0]:
                    seconds[key] = measured
        for key, (second, stderr) in seconds.items():
            found = re.search(r"uet-profile: git (\d+) calls ([0-9.]+) s", stderr)
            git_line = (
                f"{int(found[1]) / count:5.1f} git calls/ws, {float(found[2]) / count * 1000:6.1f} ms/ws"
                if found
                else "?"
            )
            rows[key] = (firsts[key], second, git_line)
    mechanism = next(iter(available_mechanisms()), "none")
    print(
        f"run --large: {count} no-op workstreams, --jobs {JOBS}; a first run, then again {' '.join(FORCE)} "
        f"(best of {ROUNDS})"
    )
    for mode in modes:
        shown = f"default sandbox ({mechanism})" if mode == "default" else "--sandbox off (guard on the user's tree)"
        print(f"  {shown}:")
        small = rows[mode, FILES]
        for size in sizes:
            first, second, git_line = rows[mode, size]
            print(
                f"    {size:>6,} files: first {first:7.2f} s ({first / small[0]:5.2f}x)   "
                f"second {second:7.2f} s ({second / small[1]:5.2f}x)   second run's git: {git_line}"
            )
        ratios = "   ".join(f"{size:,}/{FILES}: {rows[mode, size][1] / small[1]:.2f}x" for size in sizes[1:])
        print(f"    second run, ratios: {ratios}")
    print(f"  goal: 5,000 files <= 1.3x {FILES} files")
    return 0


def dask_main(quick: bool = False) -> int:
    """Local threads against a LocalCluster for the same no-op workstreams; the ratio of wall times."""
    try:
        from distributed import LocalCluster
    except ImportError:
        print("bench_run --dask: needs Dask: pip install '.[dask]'", file=sys.stderr)
        return 1
    count = 20 if quick else 100
    with tempfile.TemporaryDirectory(prefix="uet-bench-dask-") as tmp:
        root = Path(tmp)
        specs = make_specs(root, count)
        local, _ = uet(make_repo(root / "a"), specs)
        with LocalCluster(
            n_workers=JOBS, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster:
            on_dask, _ = uet(make_repo(root / "b"), specs, "--dask-scheduler", cluster.scheduler_address)
    print(f"run --dask: {count} no-op workstreams, {FILES}-file repo, {JOBS} at once")
    print(f"  local threads:              {local:8.2f} s  ({local * JOBS / count * 1000:6.2f} ms/ws)")
    print(f"  Dask LocalCluster:          {on_dask:8.2f} s  ({on_dask * JOBS / count * 1000:6.2f} ms/ws)")
    print(f"  ratio dask / local:         {on_dask / local:8.2f}x")
    return 0


def overhead_main(quick: bool = False) -> int:
    """The engine's overhead per workstream over plain subprocess, split into git and the rest."""
    count = 100 if quick else 1000
    with tempfile.TemporaryDirectory(prefix="uet-bench-run-") as tmp:
        root = Path(tmp)
        repo = make_repo(root)
        specs = make_specs(root, count)
        fixed, _ = uet(repo, specs, "--dry-run", "--sandbox", "off")
        baseline = plain(repo, count)
        total, stderr = uet(repo, specs, "--sandbox", "off")
        peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        hooked, _ = uet(
            make_repo(root / "hooked"), specs, "--sandbox", "off", "--hook", "benchmarks.bench_detection:NoopHook"
        )
        full, _ = uet(make_repo(root / "full"), specs, "--sandbox", "off", *DURABILITY_FULL)
        # Each in a repository of its own: in the first one every workstream would be up to date.
        confined = {name: uet(make_repo(root / name), specs, "--sandbox", name)[0] for name in available_mechanisms()}
    found = re.search(r"uet-profile: git (\d+) calls ([0-9.]+) s", stderr)
    if found is None:
        print("bench_run: the engine reported no profile line", file=sys.stderr)
        return 1
    git_calls, git_seconds = int(found[1]), float(found[2])
    cpu = re.search(r"run cpu ([0-9.]+) s", stderr)
    per_ws = (total - fixed - baseline) * JOBS / count
    git_per_ws = git_seconds / count
    print(f"run: {count} workstreams x (1 no-op step + 1 no-op acceptance), {FILES}-file repo, --jobs {JOBS}")
    print(f"  plain subprocess:           {baseline:8.2f} s  ({baseline * JOBS / count * 1000:6.2f} ms/ws)")
    print(f"  uet run:                    {total:8.2f} s  (startup + planning {fixed:.2f} s)")
    print(f"  ratio uet / plain:          {total / baseline:8.2f}x")
    print(f"  overhead per workstream:    {per_ws * 1000:8.2f} ms  (worker-seconds; goal <= 40 ms)")
    print(f"    git ({git_calls / count:.1f} calls/ws):      {git_per_ws * 1000:8.2f} ms")
    print(f"    everything else:          {(per_ws - git_per_ws) * 1000:8.2f} ms  (goal <= 2 ms)")
    if cpu is not None:  # the engine's own CPU time: its threads, not git's or the commands' processes
        print(f"  engine CPU per workstream:  {float(cpu[1]) / count * 1000:8.2f} ms  (its own process, all threads)")
    print(f"  peak memory (max RSS):      {peak_kib / 1024:8.1f} MiB  (goal < 200 MiB)")
    hook_per_ws = (hooked - total) * JOBS / count
    print(f"  with a no-op --hook:        {hooked:8.2f} s  ({hook_per_ws * 1000:+.2f} ms/ws; the built-in hooks alone:")
    print("                                         python -m benchmarks detection)")
    full_per_ws = (full - total) * JOBS / count
    print(
        f"  with --durability full:     {full:8.2f} s  ({full_per_ws * 1000:+.2f} ms/ws: a patch file and an audit "
        f"line synced per workstream; ratio {full / total:.2f}x)"
    )
    print("  sandbox (the same run confined; extra worker-time against --sandbox off):")
    for name, seconds in confined.items():
        extra = (seconds - total) * JOBS / count
        print(
            f"    {name + ':':<26}{seconds:8.2f} s  (+{extra * 1000:6.2f} ms/ws, +{extra * 500:6.2f} ms/command; "
            "goal <= 5 ms/command)"
        )
    if not confined:
        print("    no mechanism available here (bubblewrap not installed, no Landlock)")
    return 0


def available_mechanisms() -> list[str]:
    """The sandbox mechanisms that work on this machine, in the order ``--sandbox auto`` tries them."""
    from uet_engine.execution import sandbox

    return [name for name, why in sandbox.problems().items() if why is None]


def all_main(quick: bool = False) -> int:
    """``python -m benchmarks run``: the overhead figures, then the chain and the large-repository ones."""
    return overhead_main(quick) | chain_main(quick) | large_main(quick)


main = all_main
MODES = {"--dask": dask_main, "--chain": chain_main, "--large": large_main, "--overhead": overhead_main}

if __name__ == "__main__":
    chosen = [MODES[arg] for arg in sys.argv[1:] if arg in MODES]
    sys.exit((chosen[0] if chosen else all_main)("--quick" in sys.argv))
