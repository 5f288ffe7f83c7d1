"""``uet validate`` on hostile files: thousands of unknown keys must cost time linear in their number.

A phase file with N unknown top-level keys gets N located "unknown field" lines. Reported for 3,000 keys
(a 35 kB file; goal under 1 s) and 50,000 keys (under the 1 MB cap; goal under 5 s), median of 3 runs of
the ``uet`` console script each, against a valid file of the same size (comments instead of keys: the
cost of reading it), and the cost per key at 50,000 against that at 3,000 (linear: close to 1).
``--quick``: one run each.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_validate import console_script

BASE = (Path(__file__).resolve().parents[1] / "examples" / "phases" / "PH-01A.yaml").read_text(encoding="utf-8")


def timed(command: list[str], cwd: Path, runs: int, status: int) -> float:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if done.returncode != status:
            raise SystemExit(f"bench unknown_keys: exit {done.returncode}, not {status}: {done.stderr[-300:]!r}")
    return statistics.median(walls)


def main(quick: bool = False) -> int:
    runs = 1 if quick else 3
    uet = [*console_script("uet"), "validate"]
    per_key: dict[int, float] = {}
    print(f"unknown_keys: uet validate on a phase file with N unknown keys, median of {runs}")
    with tempfile.TemporaryDirectory(prefix="uet-bench-keys-") as tmp:
        root = Path(tmp)
        for count, goal in ((3_000, 1.0), (50_000, 5.0)):
            hostile = root / f"keys-{count}.yaml"
            hostile.write_text(BASE + "".join(f"k{i}: 1\n" for i in range(count)), encoding="utf-8")
            plain = root / f"plain-{count}.yaml"
            plain.write_text(BASE + "#" * (hostile.stat().st_size - len(BASE) - 1) + "\n", encoding="utf-8")
            seconds = timed([*uet, hostile.name], root, runs, 1)
            reading = timed([*uet, plain.name], root, runs, 0)
            per_key[count] = (seconds - reading) / count
            size = hostile.stat().st_size
            print(
                f"  {count:>6,} keys ({size / 1000:6.0f} kB): {seconds:6.2f} s (goal < {goal:g} s), "
                f"valid file of that size {reading:5.2f} s, {per_key[count] * 1e6:6.1f} us per key"
            )
    print(f"  cost per key, 50,000 vs 3,000: {per_key[50_000] / per_key[3_000]:5.2f}x (linear: ~1)")
    return 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
