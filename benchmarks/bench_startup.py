"""How long ``uet`` takes to start: a one-file ``uet validate`` (the pre-commit case) against its floors.

pre-commit starts ``uet validate`` on every commit, so its start-up is what a person waits for; the goal
is under 150 ms. Printed beside it, in the same run: the bare interpreter (``python -c pass``, the floor
no command can beat), ``import uet_contracts`` (the library alone), ``uet --version`` (the parser of one
command), and ``uet --help`` (every command's module imported) — so a regression shows where it came
from. Each is the median wall time of 20 runs of the installed console script (``--quick``: 7), as a
user or pre-commit starts it; a valid file, so every run exits 0. No timed assertions: the numbers are
for reading.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_validate import console_script, timed
from tests.conftest import EXAMPLE_PHASES

GOAL_MS = 150.0


def main(quick: bool) -> int:
    runs = 7 if quick else 20
    uet = console_script("uet")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        folder = Path(tmp)
        shutil.copy(EXAMPLE_PHASES[0], folder / "PH-00.yaml")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import uet_contracts'": [sys.executable, "-c", "import uet_contracts"],
            "uet --version": [*uet, "--version"],
            "uet validate PH-00.yaml": [*uet, "validate", "PH-00.yaml"],
            "uet --help": [*uet, "--help"],
        }
        timed(commands["uet validate PH-00.yaml"], folder, 2, status=0)  # warm the file cache
        results = {label: timed(command, folder, runs, status=0)[:2] for label, command in commands.items()}
    floor = results["python -c pass"][0]
    print(f"start-up, median of {runs} runs (wall ms, CPU ms, wall over the bare interpreter)")
    for label, (wall, cpu) in results.items():
        print(f"  {label:<36}{wall * 1e3:>8.1f} ms {cpu * 1e3:>8.1f} ms {wall / floor:>7.1f}x")
    validate_ms = results["uet validate PH-00.yaml"][0] * 1e3
    verdict = "meets" if validate_ms < GOAL_MS else "misses"
    print(f"one-file uet validate: {validate_ms:.0f} ms, {verdict} the goal of < {GOAL_MS:.0f} ms")
    return 0
