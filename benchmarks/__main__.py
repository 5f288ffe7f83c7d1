"""``python -m benchmarks [NAME ...] [--quick]``: run the named benchmarks (all when none is named).

One benchmark named may be given its own modes (``python -m benchmarks run --large``): the keys of its
``MODES``, each ``(quick: bool) -> int`` too.

A benchmark is a module ``benchmarks/bench_<NAME>.py`` with ``main(quick: bool) -> int``; the exit
status is non-zero when any of them reports a failure (e.g. tools that disagree on a verdict).
"""

from __future__ import annotations

import argparse
import pkgutil
import sys
from importlib import import_module
from pathlib import Path

NAMES = sorted(
    m.name.removeprefix("bench_")
    for m in pkgutil.iter_modules([str(Path(__file__).parent)])
    if m.name.startswith("bench_")
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(NAMES)}")
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer runs")
    args, flags = parser.parse_known_args(argv)
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from: {', '.join(NAMES)}")
    modules = {name: import_module(f"benchmarks.bench_{name}") for name in args.names or NAMES}
    # A benchmark's own flags (``run --large``): its MODES, for one named benchmark only.
    chosen = [getattr(module, "MODES", {}).get(flag) for module in modules.values() for flag in flags]
    if flags and (len(modules) != 1 or None in chosen):
        parser.error(f"unknown option {flags[0]!r} (a benchmark's own flags need that one benchmark named)")
    failed = 0
    for module in modules.values():
        for run in chosen or [module.main]:
            failed |= run(quick=args.quick)
    return failed


if __name__ == "__main__":
    sys.exit(main())
