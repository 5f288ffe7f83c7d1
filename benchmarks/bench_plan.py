"""``uet plan`` against ``uet validate`` on the same files, check-jsonschema, and plain graphlib.

Writes layered DAGs of generated phases (``write_phase_set(..., plannable=True)``: several prerequisites
each, no scope clashes, so the whole plan runs) and prints, per size:

- ``uet plan -o`` against ``uet validate`` (goal: plan at most 1.5x validate), wall and CPU time, and
  the plan process's peak memory (``ru_maxrss`` of that child; goal: under 1 GB at 100,000 phases);
- ``uet plan`` against the check-jsonschema CLI alone (10,000 files or fewer: it is slow; goal 10x);
- the graph part in-process: the set-level checks plus levels and critical path, against plain
  ``graphlib`` doing levels plus a longest-path pass on the same edges;
- the overlap index in-process on entries with globs (the generated phases write plain paths only):
  per phase a module, a ``tests/<package>/test_m<i>_*.py`` and a folder ``<package>/m<i>/**``, plus a
  ``**/*.lock`` that overlaps nearly all of them; its time should grow with the size, not its square.

Default sizes 10,000 and 100,000 phases (several minutes, mostly writing and validating the 100,000
files); ``--quick``: 2,000.
"""

from __future__ import annotations

import graphlib
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import uet_contracts
from benchmarks.bench_validate import BUNDLED_SCHEMA, console_script
from benchmarks.corpus import write_phase_set
from uet_engine.paths import PathIndex
from uet_engine.planning import phase_set as phase_set_module
from uet_engine.planning.snapshot import critical_path, weight

GOAL_VS_VALIDATE = 1.5
CHECK_JSONSCHEMA_MAX = 10_000


def measure(command: Sequence[str], cwd: Path) -> tuple[float, float, int, int]:
    """(wall s, CPU s, peak RSS in bytes, exit status) of one child process, from its own rusage."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        pid = os.posix_spawn(command[0], list(command), os.environ, file_actions=_quiet(null.fileno()))
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def _quiet(fd: int) -> list[tuple[int, int, int]]:
    return [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]


def graph_part(folder: Path) -> tuple[float, float]:
    """(ours, plain graphlib) seconds for the graph work on already-loaded specs."""
    loaded, problems, _ = phase_set_module._load_files(uet_contracts.contract_files(folder))
    assert not problems, problems[0].format()
    start = time.perf_counter()
    checker = phase_set_module._SetChecker(loaded)
    assert checker.check() == []
    weights = {p: weight(s.estimate_hours) for p, s in checker.specs.items()}
    critical_path(checker.edges, checker.levels, weights)
    ours = time.perf_counter() - start

    prereqs = {s.phase_id: list(s.depends_on or []) for s, _ in loaded}
    start = time.perf_counter()
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter(prereqs)
    sorter.prepare()
    levels, longest = [], {}
    while sorter.is_active():
        ready = sorter.get_ready()
        levels.append(sorted(ready))
        for node in ready:
            longest[node] = weights[node] + max((longest[p] for p in prereqs[node]), default=0)
        sorter.done(*ready)
    plain = time.perf_counter() - start
    return ours, plain


def overlap_part(n: int) -> tuple[float, int, int]:
    """(CPU seconds, entries, overlapping pairs) of ``PathIndex.pairs`` on ``n`` phases' glob-heavy entries."""
    packages = ("core", "api", "queue", "store", "cli", "web", "auth", "billing", "reports", "sync")
    entries = ["**/*.lock", "*.toml"]
    for i in range(n):
        package = packages[i % len(packages)]
        entries += [f"{package}/m{i}.py", f"tests/{package}/test_m{i}_*.py", f"{package}/m{i}/**"]
        if i % 100 == 0:
            entries += [f"docs/{package}/*.md", f"{package}/generated{i}"]
    start = time.process_time()
    with phase_set_module.gc_paused():  # as in uet plan
        found = len(PathIndex(entries).pairs())
    return time.process_time() - start, len(entries), found


def main(quick: bool) -> int:
    uet = console_script("uet")
    sizes = [2_000] if quick else [10_000, 100_000]
    failed = 0
    print("bench plan: uet plan vs uet validate, check-jsonschema and plain graphlib (CPU = user + system)")
    with tempfile.TemporaryDirectory(prefix="bench-plan-") as scratch:
        root = Path(scratch)
        for n in sizes:
            folder = root / f"n{n}"
            start = time.perf_counter()
            write_phase_set(folder, n, plannable=True)
            print(f"\n{n:,} phases (written in {time.perf_counter() - start:.1f} s)")
            v_wall, v_cpu, v_rss, v_code = measure([*uet, "validate", str(folder)], root)
            p_wall, p_cpu, p_rss, p_code = measure([*uet, "plan", str(folder), "-o", str(root / "dag.json")], root)
            if v_code or p_code:
                print(f"  FAILED: uet validate exited {v_code}, uet plan exited {p_code}")
                failed = 1
                continue
            print(f"  {'':<34}{'wall s':>10}{'CPU s':>10}{'peak MB':>10}")
            print(f"  {'uet validate':<34}{v_wall:>10.2f}{v_cpu:>10.2f}{v_rss / 2**20:>10.0f}")
            print(f"  {'uet plan -o':<34}{p_wall:>10.2f}{p_cpu:>10.2f}{p_rss / 2**20:>10.0f}")
            ratio = p_cpu / v_cpu
            verdict = "ok" if ratio <= GOAL_VS_VALIDATE else "OVER GOAL"
            print(f"  plan / validate: {p_wall / v_wall:.2f}x wall, {ratio:.2f}x CPU (goal <= 1.5x: {verdict})")
            print(f"  plan peak memory: {p_rss / 2**20:.0f} MB (goal < 1024 MB: {'ok' if p_rss < 2**30 else 'OVER'})")
            if n <= CHECK_JSONSCHEMA_MAX:
                files = sorted(str(p) for p in folder.iterdir())
                command = [*console_script("check-jsonschema"), "--schemafile", str(BUNDLED_SCHEMA), *files]
                c_wall, c_cpu, _, _ = measure(command, root)
                print(
                    f"  check-jsonschema alone: {c_wall:.2f} s wall, {c_cpu:.2f} s CPU;"
                    f" uet plan is {c_wall / p_wall:.1f}x faster (wall), {c_cpu / p_cpu:.1f}x (CPU) (goal >= 10x)"
                )
            ours, plain = graph_part(folder)
            print(
                f"  graph part in-process: ours {ours * 1000:.0f} ms (set checks + levels + critical path),"
                f" plain graphlib {plain * 1000:.0f} ms (levels + longest path): {ours / plain:.1f}x"
            )
            cpu, entries, found = overlap_part(n)
            print(
                f"  overlap index in-process: {entries:,} entries with globs, {cpu * 1000:.0f} ms CPU,"
                f" {found:,} overlapping pairs ({cpu / entries * 1e6:.1f} us per entry)"
            )
    return failed


if __name__ == "__main__":
    sys.exit(main(quick="--quick" in sys.argv))
