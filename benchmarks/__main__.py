"""``python -m benchmarks [NAME ...] [--quick] [--MODE ...]``: run the named benchmarks (all when none is named).

A benchmark is a module ``benchmarks/bench_<NAME>.py`` with ``main(quick: bool) -> int``; the exit
status is non-zero when any of them reports a failure (e.g. tools that disagree on a verdict). A module
with parts of its own names them in ``MODES`` (flag -> function of ``quick``): ``python -m benchmarks run
--chain`` runs only that part of ``bench_run``.
"""

from __future__ import annotations

import argparse
import compileall
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
    args, modes = parser.parse_known_args(argv)
    unknown = [name for name in args.names if name not in NAMES]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from: {', '.join(NAMES)}")
    modules = [import_module(f"benchmarks.bench_{name}") for name in args.names or NAMES]
    for mode in modes:
        if not any(mode in getattr(module, "MODES", {}) for module in modules):
            parser.error(f"unrecognized argument {mode!r} (no benchmark named has that part)")
    compiled()
    failed = 0
    for module in modules:
        chosen = [part for flag, part in getattr(module, "MODES", {}).items() if flag in modes]
        for run in chosen or [module.main]:
            failed |= run(quick=args.quick)
    return failed


def compiled() -> None:
    """Byte-compile the packages under test first, as installing them does: every ``uet`` a benchmark starts then
    loads them instead of compiling its modules again (which it would do at each start where
    ``PYTHONDONTWRITEBYTECODE`` is set, as on some CI machines), and start-up is measured as users have it."""
    import uet_contracts
    import uet_engine

    for package in (uet_contracts, uet_engine):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


if __name__ == "__main__":
    sys.exit(main())
