"""``uet validate [--kind KIND] PATH…``: check contract files, one line per problem.

Directories are searched for ``*.yaml``, ``*.yml`` and ``*.json``. Problems go to stdout as
``PATH:LINE:COL: JSON-PATH: message``; the summary goes to stderr so stdout stays machine-readable.
A file that is another contract (a DagSnapshot given as a phase spec, say) or a plan ``uet import``
converts (a template-V3 phase plan, a legacy workstream) gets one line naming it and the ``--kind`` or
the command to use, instead of a line per unknown field.
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
    """The output lines for one file: one per problem, none when it is valid; one line naming what the file
    is instead, when it is another contract or one of the formats ``uet import`` converts.

    A contract that carries a graph (a DagSnapshot, a ModuleTasks) is checked by its schema first and,
    once that passes, by the graph integrity rules of ``uet_engine.planning.integrity``.
    """
    cls = contract_named(kind).type
    problems = uet_contracts.check_file(file, cls)
    schema_problems = len(problems) > 1 or (len(problems) == 1 and problems[0].json_path != "$")  # it parsed
    commented = len(problems) == 1 and problems[0].message.startswith("JSON syntax error")  # JSONC, perhaps
    if schema_problems or commented:
        what = recognise(file, kind)
        if what is not None:
            return [uet_contracts.Problem(what, "$", file, 1, 1).format()]
    if not problems and cls in integrity.CHECKS:
        try:
            integrity.load_checked(file, cls)
        except ContractError as exc:
            problems = exc.errors
    return [problem.format() for problem in problems]


def recognise(file: str, kind: str) -> str | None:
    """What a file that fails as ``kind`` is, and how to handle it; None when it is none of the known shapes.

    Only asked for files that parsed and failed the schema, so reading them again costs on the error path only.
    """
    from uet_engine.planning.importing.detect import detect
    from uet_engine.planning.importing.mapping import FORMAT_NAMES
    from uet_engine.planning.importing.reading import read

    data, unreadable = read(Path(file))  # as uet import reads it: JSON with comments too
    if unreadable:
        return None
    asked = contract_named(kind).type.__name__
    found = detect(data)
    if found is not None:
        return f"a {FORMAT_NAMES[found]}, not a {asked}: convert it with `uet import {file} -o DIR`"
    if not isinstance(data, dict):
        return None
    for contract in CONTRACTS:
        schema = uet_contracts.schema(contract.type)
        required = set(schema.get("required", ()))
        if contract.kind != kind and required and required <= data.keys() <= set(schema["properties"]):
            return f"a {contract.type.__name__}, not a {asked}: validate it with --kind {contract.kind}"
    return None


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
