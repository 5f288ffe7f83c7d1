"""``uet validate`` against ``check-jsonschema`` with the bundled phase schema, on the same files.

Writes 10,000 phase files (1% invalid, varied defects) into a scratch folder, times a whole-folder
run (median of 5) and a single-file run (the pre-commit case, median of 20) of each, prints files/s
and the ratios, and fails unless both tools gave the same verdict for every file.
``--quick``: 1,000 files, 3 and 5 runs. Both tools are started as their console scripts, as a
user (or pre-commit) would start them.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks.corpus import write_phase_set

BUNDLED_SCHEMA = Path(__file__).resolve().parents[1] / "generated" / "bundled" / "phase_spec.schema.json"


def console_script(name: str) -> list[str]:
    """The command of an installed console script, preferring the one beside this interpreter."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        raise SystemExit(f"bench validate: {name!r} is not installed (pip install -e '.[dev]')")
    return [found]


def timed(command: Sequence[str], cwd: Path, runs: int, status: int) -> tuple[float, float, str]:
    """Median wall time and median CPU time (user + system, all processes) of ``runs`` runs, in seconds,
    and the output of the last run.

    Every run must exit with ``status``: a run that fails early would look fast.

    CPU time is printed beside wall time because the machine may be shared: it shows the work done,
    wall time what a user waits for.
    """
    walls, cpus = [], []
    for _ in range(runs):
        before = os.times()
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        after = os.times()  # children's times: zero on Windows, where only wall time is meaningful
        cpus.append(after.children_user + after.children_system - before.children_user - before.children_system)
        if done.returncode != status:
            raise SystemExit(
                f"bench validate: {command[0]} exited {done.returncode}, not {status}: {done.stderr[-500:]!r}"
            )
    return statistics.median(walls), statistics.median(cpus), done.stdout


def row(label: str, uet: float, other: float, unit: str, higher_is_better: bool) -> str:
    ratio = uet / other if higher_is_better else other / uet
    return f"{label:<40}{uet:>14,.3g} {unit:<8}{other:>14,.3g} {unit:<8}{ratio:>8.1f}x"


def uet_invalid(stdout: str) -> set[str]:
    """Names of the files ``uet validate`` reported (each problem line starts with the file's path)."""
    return {Path(line.split(":", 1)[0]).name for line in stdout.splitlines() if line}


def check_jsonschema_invalid(stdout: str) -> set[str]:
    """Names of the files ``check-jsonschema -o JSON`` reported as invalid or unparsable."""
    report = json.loads(stdout)
    return {Path(e["filename"]).name for e in report["errors"] + report["parse_errors"]}


def main(quick: bool = False) -> int:
    count, runs, single_runs = (1_000, 3, 5) if quick else (10_000, 5, 20)
    uet = [*console_script("uet"), "validate"]
    check_jsonschema = [*console_script("check-jsonschema"), "--schemafile", str(BUNDLED_SCHEMA)]
    with tempfile.TemporaryDirectory(prefix="uet-bench-validate-") as scratch:
        folder = Path(scratch)
        phases = write_phase_set(folder, count, invalid_ratio=0.01, seed=2026)
        names = [path.name for path in phases.files]
        expected = {path.name for path in phases.invalid}

        valid = phases.valid[0].name
        uet_all, uet_all_cpu, uet_out = timed([*uet, "."], folder, runs, status=1)
        cj_all, cj_all_cpu, cj_out = timed([*check_jsonschema, "-o", "JSON", *names], folder, runs, status=1)
        uet_one, uet_one_cpu, _ = timed([*uet, valid], folder, single_runs, status=0)
        cj_one, cj_one_cpu, _ = timed([*check_jsonschema, valid], folder, single_runs, status=0)

    uet_says, cj_says = uet_invalid(uet_out), check_jsonschema_invalid(cj_out)
    disagree = sorted(uet_says ^ cj_says)
    if disagree:
        print(f"bench validate: the tools disagree on {len(disagree)} file(s):", file=sys.stderr)
        for name in disagree[:20]:
            print(f"  {name}: uet says {'invalid' if name in uet_says else 'valid'}", file=sys.stderr)
        return 1
    if uet_says != expected:
        print(f"bench validate: both tools missed or invented defects: {sorted(uet_says ^ expected)[:20]}")
        return 1

    print(f"validate: {count:,} phase files ({len(expected)} invalid), the same verdict from both tools for each")
    print(f"{'':40}{'uet validate':>23}{'check-jsonschema':>23}{'ratio':>9}")
    print(row(f"folder, wall (median of {runs})", count / uet_all, count / cj_all, "files/s", True))
    if uet_all_cpu and cj_all_cpu:
        print(row(f"folder, CPU (median of {runs})", count / uet_all_cpu, count / cj_all_cpu, "files/s", True))
    print(row(f"one file, wall (median of {single_runs})", uet_one * 1e3, cj_one * 1e3, "ms", False))
    if uet_one_cpu and cj_one_cpu:
        print(row(f"one file, CPU (median of {single_runs})", uet_one_cpu * 1e3, cj_one_cpu * 1e3, "ms", False))
    return 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
