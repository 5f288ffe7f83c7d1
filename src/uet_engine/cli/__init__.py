"""The ``uet`` command line: a thin shell over ``uet_contracts`` and the engine's stages.

Each subcommand lives in its own module with ``register(subparsers)``; this module only wires them
up and turns expected failures into exit codes: 0 success, 1 a finding (invalid input, failed run),
2 a usage error or unreadable input. No traceback reaches the user for any of those.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, TypeAlias

from uet_contracts import Contract, contract_named

# Subcommand modules, in the order ``uet --help`` lists them.
COMMANDS = ("validate", "schema", "plan", "run", "runs")


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


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``uet`` parser with every subcommand, or with just ``only`` (one module fewer to import each)."""
    parser = argparse.ArgumentParser(
        prog="uet",
        description="Validate UET contract files, plan phase sets into DAG snapshots, run and inspect workstreams.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS if only is None else (only,):
        import_module(f"uet_engine.cli.{name}").register(subparsers)
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
    except KeyboardInterrupt:
        print("uet: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    return code
