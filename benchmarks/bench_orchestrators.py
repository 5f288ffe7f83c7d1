"""``nox -s bench -- orchestrators``: uet against the orchestrators people would pick instead, side by side.

200 no-op tasks, as a chain and as a fan of width 2 (two independent chains of 100), on: ``uet run
--jobs 2`` (one step and one acceptance check per workstream, each ``sh -c true``, in a 200-file git
repository, every workstream in its own worktree), Prefect 3.9 (its default local runner with its local
SQLite), Dagster 1.13 (``execute_in_process`` on a persistent SQLite instance) and plain subprocess
(the same commands on 2 threads). See ``orchestrators_driver.py`` for how each runs.

Prefect and Dagster are installed only for this benchmark, into their own venv (``.nox/bench-
orchestrators``, or ``$UET_BENCH_ORCHESTRATORS_VENV``; made on first use with pip, ~2 minutes), never
into the project's environment. Each figure is one whole process, timed from outside (start-up and
imports included); *per task* is ``(T(N) - T(2)) / (N - 2)``, the cost of one more task once the fixed
costs are paid (each T the best of 2 runs); peak RSS is the largest resident set of the process tree.
``--quick``: 50 tasks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_run import JOBS, make_repo, make_specs

TASKS = 200
ROUNDS = 2  # each figure the best of two runs: Prefect's start-up alone varies by seconds
TOOLS = ("uet", "prefect", "dagster", "plain")
SHAPES = ("chain", "fan")
PINS = ("prefect==3.9.*", "dagster==1.13.*")
DRIVER = Path(__file__).with_name("orchestrators_driver.py")
ROOT = Path(__file__).resolve().parent.parent
# Runs a command and prints its wall seconds and the peak RSS (KiB) of its process tree, as JSON.
_MEASURE = (
    "import json, resource, subprocess, sys, time\n"
    "start = time.perf_counter()\n"
    "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)\n"
    "wall = time.perf_counter() - start\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(json.dumps({'wall': wall, 'rss_kib': peak, 'code': done.returncode, 'stderr': done.stderr[-2000:]}))\n"
)


def venv_python() -> Path:
    """The separate venv's interpreter, with Prefect and Dagster installed (made on first use)."""
    folder = Path(os.environ.get("UET_BENCH_ORCHESTRATORS_VENV", ROOT / ".nox" / "bench-orchestrators"))
    python = folder / "bin" / "python"
    marker = folder / "uet-bench-pins.txt"
    if not (python.exists() and marker.exists() and marker.read_text() == "\n".join(PINS)):
        print(f"bench orchestrators: installing {', '.join(PINS)} into {folder} (once)", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
        marker.write_text("\n".join(PINS))
    return python


def measure(command: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    result = json.loads(done.stdout)
    if result["code"] != 0:
        raise RuntimeError(f"{' '.join(command[:4])} exited {result['code']}: {result['stderr']}")
    return result


def run_one(tool: str, shape: str, count: int, python: Path, scratch: Path) -> dict[str, float]:
    if tool == "uet":
        folder = Path(tempfile.mkdtemp(prefix=f"{shape}-{count}-", dir=scratch))
        specs = make_specs(folder, count, chain=True, width=1 if shape == "chain" else 2)
        repo = make_repo(folder)
        command = [sys.executable, "-m", "uet_engine", "run", str(specs), "--repo", str(repo), "--jobs", str(JOBS)]
        return measure(command)
    home = Path(tempfile.mkdtemp(prefix=f"{tool}-home-", dir=scratch))
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1"}
    env["PREFECT_LOGGING_LEVEL"] = "WARNING"
    env["DAGSTER_HOME"] = str(home)
    return measure([str(python), str(DRIVER), tool, shape, str(count)], env)


def _wall(result: dict[str, float]) -> float:
    return result["wall"]


def main(quick: bool = False) -> int:
    count = 50 if quick else TASKS
    try:
        python = venv_python()
    except subprocess.CalledProcessError as exc:
        print(f"bench orchestrators: could not make the venv: {exc}", file=sys.stderr)
        return 1
    results: dict[tuple[str, str], tuple[dict[str, float], dict[str, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="uet-bench-orchestrators-") as tmp:
        for shape in SHAPES:
            for tool in TOOLS:
                small = min((run_one(tool, shape, 2, python, Path(tmp)) for _ in range(ROUNDS)), key=_wall)
                full = min((run_one(tool, shape, count, python, Path(tmp)) for _ in range(ROUNDS)), key=_wall)
                results[(tool, shape)] = (small, full)
    print(
        f"bench orchestrators: {count} no-op tasks (2 x sh -c true each), 2 at once, best of {ROUNDS} ({time.ctime()})"
    )
    for shape in SHAPES:
        width = "a chain" if shape == "chain" else "a fan of width 2"
        print(f"  as {width}:")
        print(f"    {'':8} {'wall s':>8} {'per task ms':>12} {'peak RSS MiB':>13}")
        per_task: dict[str, float | None] = {}
        for tool in TOOLS:
            small, full = results[(tool, shape)]
            extra = (full["wall"] - small["wall"]) / (count - 2)
            # Where the fixed cost varies more between runs than all the tasks cost (Prefect's server start), the
            # difference says nothing about a task: it is left out rather than printed as a negative cost.
            per_task[tool] = extra if extra > 0 else None
            shown = f"{extra * 1000:12.2f}" if extra > 0 else f"{'n/a':>12}"
            print(f"    {tool:8} {full['wall']:8.2f} {shown} {full['rss_kib'] / 1024:13.1f}")
        uet = results[("uet", shape)][1]["wall"]
        for tool in ("prefect", "dagster", "plain"):
            ratio = uet / results[(tool, shape)][1]["wall"]
            mine, theirs = per_task["uet"], per_task[tool]
            per = "   n/a (fixed cost too noisy)"
            if mine is not None and theirs is not None:
                per = f"{mine / theirs:6.2f}x"
            print(f"    wall uet / {tool:8} {ratio:6.2f}x   per task {per}")
        faster = min(results[(tool, shape)][1]["wall"] for tool in ("prefect", "dagster"))
        print(f"    goal: uet <= 0.5x the faster of Prefect and Dagster: {uet / faster:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
