"""The ``uet`` command line: a thin shell over ``uet_contracts`` and the engine's stages.

Each subcommand lives in its own module with ``register(subparsers)``; this module only wires them
up and turns expected failures into exit codes: 0 success, 1 a finding (invalid input, failed run),
2 a usage error or unreadable input. No traceback reaches the user for any of those: every
``EngineError`` a command lets through is printed here as one line ``uet COMMAND: message`` and ends the
command with the error's own ``exit_code`` (see ``uet_engine.errors``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, TypeAlias

from uet_contracts import Contract, Problem, contract_named
from uet_engine.errors import EngineError, PlanError, ProblemsFound

# Subcommands, in the order ``uet --help`` lists them; each lives in the module of its name, or in the one
# MODULES names (``import`` is a Python keyword).
COMMANDS = ("validate", "schema", "import", "plan", "run", "runs", "errors", "patterns", "templates", "new")
MODULES = {"import": "imports"}


if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time before Python 3.12
    Subparsers = argparse._SubParsersAction


def add_command(subparsers: Subparsers, name: str, summary: str, doc: str | None) -> argparse.ArgumentParser:
    """A subcommand's parser: ``summary`` in ``uet --help``, the module docstring ``doc`` as its own help."""
    return subparsers.add_parser(
        name, help=summary, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def contract_or_usage(command: str, kind: str) -> Contract | None:
    """The contract named by ``--kind``/``KIND``, or None after printing ``uet COMMAND: <why>`` (exit 2 follows)."""
    try:
        return contract_named(kind)
    except KeyError as exc:
        print(f"uet {command}: {exc.args[0]}", file=sys.stderr)
        return None


def command_name(args: argparse.Namespace) -> str:
    """``validate``, ``runs show``, …: how messages name the command that failed."""
    action = getattr(args, "action", None)
    return f"{args.command} {action}" if action else str(args.command)


def report_failure(command: str, exc: EngineError) -> int:
    """Print ``exc`` as the one line a person reads (``uet COMMAND: message``), after the located problems
    it carries (one line each); the exit code it maps to."""
    if isinstance(exc, ProblemsFound):
        sys.stderr.write("".join(problem.format() + "\n" for problem in exc.problems))
    print(f"uet {command}: {exc}", file=sys.stderr)
    return exc.exit_code


def print_plan_problems(exc: PlanError) -> None:
    """Every problem and warning of a set that cannot be planned, one located line each, in file order."""
    problems: list[Problem] = sorted(
        exc.problems + exc.warnings, key=lambda p: (p.file or "", p.line or 0, p.column or 0)
    )
    sys.stderr.write("".join(problem.format() + "\n" for problem in problems))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table: rich's on a terminal, plain columns separated by two spaces otherwise."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        Console().print(table)
        return
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``uet`` parser with every subcommand, or with just ``only`` (one module fewer to import each)."""
    parser = argparse.ArgumentParser(
        prog="uet",
        description="Validate UET contract files, plan phase sets into DAG snapshots, run and inspect workstreams.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        import_module(f"uet_engine.cli.{MODULES.get(name, name)}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    # Import only the chosen subcommand: ``uet validate`` runs on every commit (pre-commit) and must
    # not wait for the imports of ``uet run`` and the others. ``uet --help`` still loads them all.
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except EngineError as exc:
        return report_failure(command_name(args), exc)
    except KeyboardInterrupt:
        print("uet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return code
