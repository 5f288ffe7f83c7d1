"""``uet validate [--kind KIND] PATH…``: check contract files, one line per problem.

Directories are searched for ``*.yaml``, ``*.yml`` and ``*.json``. Problems go to stdout as
``PATH:LINE:COL: JSON-PATH: message``; the summary goes to stderr so stdout stays machine-readable.
Files are reported in the order given (folders sorted); large batches are spread over the CPUs
(``uet_engine.planning.parallel``), with the same output. A ``dag_snapshot`` or ``module_tasks`` file that
passes its schema is then checked as a graph: acyclic edges between known nodes, levels that are the Kahn
layering of the edges, a critical path that is a real chain, every node once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import uet_contracts
from uet_contracts import CONTRACTS, ContractError, contract_named
from uet_engine.cli import Subparsers, add_command, contract_or_usage
from uet_engine.planning import integrity
from uet_engine.planning.parallel import map_files


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "validate", "check contract files against their schemas", __doc__)
    parser.add_argument(
        "--kind",
        default="phase_spec",
        help="the contract the files hold (default: phase_spec); one of: " + ", ".join(c.kind for c in CONTRACTS),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to search for contract files")
    parser.set_defaults(handler=run)


def expand(paths: list[str]) -> tuple[list[str], list[str]]:
    """(files to check, paths that cannot be read); folders give their contract files, sorted."""
    files: list[str] = []
    unreadable: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [str(p) for p in uet_contracts.contract_files(path)]
            if not found:
                unreadable.append(f"{raw}: no .yaml, .yml or .json files in this folder")
            files.extend(found)
        elif not path.exists():
            unreadable.append(f"{raw}: no such file")
        elif not os.access(path, os.R_OK):
            unreadable.append(f"{raw}: permission denied")
        else:
            files.append(raw)
    return files, unreadable


def problem_lines(file: str, kind: str) -> list[str]:
    """The output lines for one file: one per problem, none when it is valid.

    A contract that carries a graph (a DagSnapshot, a ModuleTasks) is checked by its schema first and,
    once that passes, by the graph integrity rules of ``uet_engine.planning.integrity``.
    """
    cls = contract_named(kind).type
    if cls not in integrity.CHECKS:
        return [problem.format() for problem in uet_contracts.check_file(file, cls)]
    try:
        integrity.load_checked(file, cls)
    except ContractError as exc:
        return [problem.format() for problem in exc.errors]
    return []


def check_files(files: list[str], kind: str, jobs: int | None = None) -> Iterator[list[str]]:
    """``problem_lines`` of each file, in the order of ``files``; ``jobs`` processes (default: one per CPU)."""
    return map_files(partial(problem_lines, kind=kind), files, jobs)


def run(args: argparse.Namespace) -> int:
    contract = contract_or_usage("validate", args.kind)
    if contract is None:
        return 2
    files, unreadable = expand(args.paths)
    for line in unreadable:
        print(line)
    invalid = 0
    out = sys.stdout
    for lines in check_files(files, contract.kind):
        if lines:
            invalid += 1
            out.write("".join(line + "\n" for line in lines))
    valid = len(files) - invalid
    summary = f"{len(files)} file(s) checked as {contract.kind}: {valid} valid, {invalid} invalid"
    if unreadable:
        summary += f", {len(unreadable)} unreadable"
    print(summary, file=sys.stderr)
    if unreadable:
        return 2
    return 1 if invalid else 0
