"""``uet validate``: check contract files, one line (or one JSON problem) per problem.

What the command does for a user is its ``HELP`` text below. A file that is another contract (a
DagSnapshot given as a phase spec, say) or a plan ``uet import`` converts (a template-V3 phase plan, a
legacy workstream) gets one problem naming it and the ``--kind`` or the command to use, instead of one
per unknown field. A ``dag_snapshot`` or ``module_tasks`` file that passes its schema is then checked as a
graph (``uet_engine.planning.integrity``). Files are reported in the order given (folders sorted); large
batches are spread over the CPUs (``uet_engine.planning.parallel``), with the same output.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import uet_contracts
from uet_contracts import CONTRACTS, ContractError, Problem, contract_named
from uet_engine.cli import Subparsers, add_command, complete_kinds, completes, contract_or_usage
from uet_engine.cli.output import add_json_option, emit, problem_json, status
from uet_engine.planning.parallel import map_files

# The kinds whose files carry a graph that ``planning.integrity`` checks after the schema (its CHECKS, by
# kind; a test holds the two together). Named here so that the pre-commit case, a phase spec, never pays
# for importing the planning stage.
GRAPH_KINDS = frozenset({"dag_snapshot", "module_tasks"})

HELP = """\
Check contract files (phase specs unless --kind says otherwise) against their schemas. Folders are
searched for .yaml, .yml and .json files. Each problem is printed on its own line as

  PATH:LINE:COL: JSON-PATH: message

on stdout, in the order the files were given; a summary goes to stderr. Loading is strict: duplicate
keys, YAML anchors and aliases, values YAML 1.1 would turn into booleans or dates, and files over 1 MB
are refused. A file that is another contract, or a plan "uet import" converts (a template-V3 phase
plan, a legacy workstream), gets one problem saying so and what to use instead. A dag_snapshot or
module_tasks file that passes its schema is then checked as a graph: edges between known nodes without
a cycle, levels that are the layering of the edges, a critical path that is a real chain, every node
once. With --json, stdout
holds one JSON document shaped like check-jsonschema's JSON output
("status", "errors" with filename, line, column, path and message, "parse_errors").

Exit status: 0 every file is valid, 1 some file is invalid, 2 a usage error or a path that cannot be read.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "validate", "check contract files against their schemas", HELP)
    kind = parser.add_argument(
        "--kind",
        default="phase_spec",
        help="the contract the files hold (default: phase_spec); one of: " + ", ".join(c.kind for c in CONTRACTS),
    )
    completes(kind, complete_kinds)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to search for contract files")
    add_json_option(parser, "the problems")
    parser.set_defaults(handler=run)


def expand(paths: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """(files to check, (path, why) of each path that cannot be read); folders give their contract files, sorted."""
    files: list[str] = []
    unreadable: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = [str(p) for p in uet_contracts.contract_files(path)]
            if not found:
                unreadable.append((raw, "no .yaml, .yml or .json files in this folder"))
            files.extend(found)
        elif not path.exists():
            unreadable.append((raw, "no such file"))
        elif not os.access(path, os.R_OK):
            unreadable.append((raw, "permission denied"))
        else:
            files.append(raw)
    return files, unreadable


def problem_lines(file: str, kind: str) -> tuple[bool, list[str]]:
    """(whether the file could not be read at all, the output lines): one line per problem, none when it is
    valid."""
    refused, problems = file_problems(file, kind)
    return refused, [problem.format() for problem in problems]


def file_problems(file: str, kind: str) -> tuple[bool, list[Problem]]:
    """(whether the file could not be read at all, every problem of it): none when it is valid; one problem
    naming what the file is instead, when it is another contract or one of the formats ``uet import`` converts.

    A contract that carries a graph (a DagSnapshot, a ModuleTasks) is checked by its schema first and,
    once that passes, by the graph integrity rules of ``uet_engine.planning.integrity``.
    """
    cls = contract_named(kind).type
    try:
        text = uet_contracts.read_text(file)
        fmt = uet_contracts.format_of(file)
    except ContractError as exc:
        return exc.unreadable, exc.errors
    problems = uet_contracts.check_text(text, cls, fmt, file)[1]
    schema_problems = len(problems) > 1 or (len(problems) == 1 and problems[0].json_path != "$")  # it parsed
    commented = len(problems) == 1 and problems[0].message.startswith("JSON syntax error")  # JSONC, perhaps
    if schema_problems or commented:
        what = recognise(file, kind)
        if what is not None:
            return False, [Problem(what, "$", file, 1, 1)]
    if not problems and kind in GRAPH_KINDS:
        from uet_engine.planning import integrity

        try:
            integrity.load_checked(file, cls)
        except ContractError as exc:
            problems = exc.errors
    return False, problems


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


def check_files(files: list[str], kind: str, jobs: int | None = None) -> Iterator[tuple[bool, list[str]]]:
    """``problem_lines`` of each file, in the order of ``files``; ``jobs`` processes (default: one per CPU)."""
    return map_files(partial(problem_lines, kind=kind), files, jobs)


def _json_report(files: list[str], unreadable: list[tuple[str, str]], kind: str) -> int:
    """The ``--json`` document: check-jsonschema's ``status``/``errors``/``parse_errors`` plus counts."""
    errors: list[dict[str, object]] = []
    parse_errors = [{"filename": path, "message": why} for path, why in unreadable]
    invalid = cannot_read = 0
    checks = map_files(partial(file_problems, kind=kind), files, None)
    for file, (refused, problems) in zip(files, checks, strict=True):
        if refused:
            cannot_read += 1
            parse_errors += [{"filename": file, "message": problem.message} for problem in problems]
            continue
        invalid += bool(problems)
        errors += [problem_json(problem) for problem in problems]
    checked = len(files) - cannot_read
    emit(
        {
            "status": status(bool(errors or parse_errors)),
            "kind": kind,
            "checked": checked,
            "valid": checked - invalid,
            "invalid": invalid,
            "errors": errors,
            "parse_errors": parse_errors,
        }
    )
    return _summary(checked, invalid, len(unreadable) + cannot_read, kind)


def _summary(checked: int, invalid: int, unreadable: int, kind: str) -> int:
    """Print the summary line on stderr; the exit status."""
    summary = f"{checked} file(s) checked as {kind}: {checked - invalid} valid, {invalid} invalid"
    if unreadable:
        summary += f", {unreadable} unreadable"
    print(summary, file=sys.stderr)
    if unreadable:
        return 2
    return 1 if invalid else 0


def run(args: argparse.Namespace) -> int:
    contract = contract_or_usage("validate", args.kind)
    if contract is None:
        return 2
    files, unreadable = expand(args.paths)
    if args.json:
        return _json_report(files, unreadable, contract.kind)
    for path, why in unreadable:
        print(f"{path}: {why}")
    invalid = cannot_read = 0
    out = sys.stdout
    for refused, lines in check_files(files, contract.kind):
        out.write("".join(line + "\n" for line in lines))
        if refused:
            cannot_read += 1
        elif lines:
            invalid += 1
    return _summary(len(files) - cannot_read, invalid, len(unreadable) + cannot_read, contract.kind)
