"""``uet validate [--kind KIND] PATH…``: check contract files, one line per problem.

Directories are searched for ``*.yaml``, ``*.yml`` and ``*.json``. Problems go to stdout as
``PATH:LINE:COL: JSON-PATH: message``; the summary goes to stderr so stdout stays machine-readable.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import uet_contracts
from uet_contracts import CONTRACTS, contract_named

SUFFIXES = (".yaml", ".yml", ".json")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check contract files against their schemas",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
            found = sorted(str(p) for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())
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


def run(args: argparse.Namespace) -> int:
    try:
        contract = contract_named(args.kind)
    except KeyError as exc:
        print(f"uet validate: {exc.args[0]}", file=sys.stderr)
        return 2
    files, unreadable = expand(args.paths)
    for line in unreadable:
        print(line)
    invalid = 0
    out = sys.stdout
    for file in files:
        found = uet_contracts.check_file(file, contract.type)
        if found:
            invalid += 1
            out.write("".join(problem.format() + "\n" for problem in found))
    valid = len(files) - invalid
    summary = f"{len(files)} file(s) checked as {contract.kind}: {valid} valid, {invalid} invalid"
    if unreadable:
        summary += f", {len(unreadable)} unreadable"
    print(summary, file=sys.stderr)
    if unreadable:
        return 2
    return 1 if invalid else 0
