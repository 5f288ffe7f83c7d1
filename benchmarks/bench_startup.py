"""How long ``uet`` takes to start: a one-file ``uet validate`` (the pre-commit case) against its floors.

pre-commit starts ``uet validate`` on every commit, so its start-up is what a person waits for; the goal
is under 150 ms. Printed beside it, in the same run: the bare interpreter (``python -c pass``, the floor
no command can beat), ``import uet_contracts`` (the library alone), ``uet --version`` (the parser of one
command), and ``uet --help`` (every command's module imported) — so a regression shows where it came
from. Each is the median wall time of 20 runs of the installed console script (``--quick``: 7), as a
user or pre-commit starts it; a valid file, so every run exits 0. No timed assertions: the numbers are
for reading.

Then ``uet runs list`` on a store of 10,000 runs (``--quick``: 1,000; two workstreams each, built by
``bench_store``), against the obvious alternative: a plain ``python -c "import sqlite3; ..."`` that runs
the same two queries for the same 20 rows and prints them (goal: the command under 150 ms). The two
commands run interleaved, so a busy machine slows both alike.
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_store import _history
from benchmarks.bench_validate import console_script, timed
from tests.conftest import EXAMPLE_PHASES

GOAL_MS = 150.0

# What ``uet runs list`` reads (``saving.history.summaries``, default limit 20), as plain sqlite3 would.
PLAIN_LIST = """\
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
runs = db.execute("SELECT run_id, started_at FROM runs ORDER BY started_at DESC, run_id DESC LIMIT 20").fetchall()
marks = ",".join("?" * len(runs))
counts = db.execute(
    f"SELECT run_id, status, COUNT(*) FROM uet_runs WHERE run_id IN ({marks}) GROUP BY run_id, status",
    [run_id for run_id, _ in runs],
).fetchall()
print(runs, counts)
"""


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
    runs_list(uet, 1_000 if quick else 10_000, runs)
    return 0


def runs_list(uet: list[str], size: int, runs: int) -> None:
    """``uet runs list`` on a store of ``size`` runs against plain sqlite3 reading the same rows."""
    with tempfile.TemporaryDirectory(prefix="bench-startup-runs-") as tmp:
        folder = _history(Path(tmp), size)
        commands = {
            "uet runs list": [*uet, "runs", "list"],
            "python -c 'import sqlite3; ...'": [sys.executable, "-c", PLAIN_LIST, ".runs/uet.sqlite"],
        }
        samples: dict[str, list[tuple[float, float]]] = {label: [] for label in commands}
        for _ in range(runs):  # interleaved, one run of each at a time
            for label, command in commands.items():
                samples[label].append(timed(command, folder, 1, status=0)[:2])
    results = {
        label: [statistics.median(column) for column in zip(*found, strict=True)] for label, found in samples.items()
    }
    print(f"uet runs list on {size:,} runs, median of {runs} interleaved runs (wall ms, CPU ms)")
    for label, (wall, cpu) in results.items():
        print(f"  {label:<36}{wall * 1e3:>8.1f} ms {cpu * 1e3:>8.1f} ms")
    ours, plain = results["uet runs list"][0], results["python -c 'import sqlite3; ...'"][0]
    verdict = "meets" if ours * 1e3 < GOAL_MS else "misses"
    print(
        f"  uet runs list / plain sqlite3: {ours / plain:.1f}x;"
        f" {ours * 1e3:.0f} ms {verdict} the goal of < {GOAL_MS:.0f} ms"
    )
