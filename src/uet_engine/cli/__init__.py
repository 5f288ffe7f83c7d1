"""The ``uet`` command line: a thin shell over ``uet_contracts`` and the engine's stages.

Each subcommand lives in its own module with ``register(subparsers)``; this module only wires them
up and turns expected failures into exit codes: 0 success, 1 a finding (invalid input, failed run),
2 a usage error or unreadable input. No traceback reaches the user for any of those: every
``EngineError`` a command lets through is printed here as one line ``uet COMMAND: message`` and ends the
command with the error's own ``exit_code`` (see ``uet_engine.errors``).

Help is written for people who have not read the code: each command module keeps its ``--help`` text in
a ``HELP`` constant in plain words (no markup, no module names; ``tests/uet_engine/cli/test_help.py``
holds every command to that), and ``HelpFormatter`` wraps it to the terminal.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

from uet_contracts import CONTRACTS, Contract, Problem, contract_named
from uet_engine.errors import EngineError, PlanError, ProblemsFound

# Subcommands, in the order ``uet --help`` lists them; each lives in the module of its name, or in the one
# MODULES names (``import`` is a Python keyword).
COMMANDS = (
    "init",
    "validate",
    "schema",
    "import",
    "plan",
    "run",
    "runs",
    "errors",
    "patterns",
    "templates",
    "new",
    "completion",
)
MODULES = {"import": "imports"}

DESCRIPTION = """\
Check UET contract files, plan phase sets into DAG snapshots, run their workstreams in isolated git
worktrees, and inspect what the runs recorded.

Start with "uet init" in a repository, then "uet validate phases", "uet plan phases" and
"uet run phases". "uet COMMAND --help" describes each command. Exit status everywhere: 0 success,
1 a finding (invalid input, a failed run, a breaking change), 2 a usage error or unreadable input.
"""

# Help is never wrapped wider than this, however wide the terminal: long lines are hard to read.
MAX_HELP_WIDTH = 100

if TYPE_CHECKING:
    Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]
else:  # not subscriptable at run time before Python 3.12
    Subparsers = argparse._SubParsersAction


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, with descriptions wrapped paragraph by paragraph instead of run together.

    A paragraph whose lines are indented (an example, a list of values) is kept exactly as written.
    """

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("width", min(shutil.get_terminal_size().columns - 2, MAX_HELP_WIDTH))
        kwargs.setdefault("max_help_position", 30)
        super().__init__(prog, **kwargs)

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        if isinstance(action, argparse._SubParsersAction):  # the commands sit one indent deeper than measured
            longest = max((len(name) for name in action.choices), default=0)
            self._action_max_length = max(self._action_max_length, longest + self._current_indent + 2)

    def _format_action(self, action: argparse.Action) -> str:
        text = super()._format_action(action)
        if isinstance(action, argparse._SubParsersAction):  # drop the lone "COMMAND" line above the commands
            text = text.split("\n", 1)[1]
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
            lines = block.splitlines()
            if any(line.startswith(" ") for line in lines):
                blocks.append("\n".join(indent + line for line in lines))
            else:
                joined = " ".join(line.strip() for line in lines)
                blocks.append(textwrap.fill(joined, width, initial_indent=indent, subsequent_indent=indent))
        return "\n\n".join(blocks) + "\n"


def add_command(subparsers: Subparsers, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A subcommand's parser: ``summary`` in ``uet --help``, ``description`` (plain words) atop its own help."""
    return subparsers.add_parser(name, help=summary, description=description, formatter_class=HelpFormatter)


def add_action(
    actions: Subparsers, name: str, summary: str, description: str, parents: Sequence[argparse.ArgumentParser] = ()
) -> argparse.ArgumentParser:
    """An action of a command group (``uet runs list``): the same as ``add_command`` one level down."""
    return actions.add_parser(
        name, help=summary, description=description, parents=list(parents), formatter_class=HelpFormatter
    )


def repo_option(records: str) -> argparse.ArgumentParser:
    """The ``--repo DIR`` every action of a record-reading group shares (a parent parser for ``add_action``);
    ``records`` names what is read there ("runs", "errors")."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--repo",
        metavar="DIR",
        default=".",
        type=Path,
        help=f"a folder of the repository whose {records} to read (default: the current folder)",
    )
    return parent


def add_group(subparsers: Subparsers, name: str, summary: str, description: str) -> Subparsers:
    """A command made of actions (``uet runs list|show|verify``); alone it prints its own help."""
    parser = add_command(subparsers, name, summary, description)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions")

    def overview(args: argparse.Namespace) -> int:
        parser.print_help()
        return 0

    parser.set_defaults(handler=overview, action=None)
    return actions


def completes(action: argparse.Action, completer: Callable[..., list[str]]) -> None:
    """Let shell completion (``uet completion``) offer ``completer(prefix=..., parsed_args=...)`` for ``action``."""
    setattr(action, "completer", completer)  # noqa: B010 - argcomplete reads this attribute


def complete_kinds(**_: object) -> list[str]:
    """Completion of a contract kind."""
    return [c.kind for c in CONTRACTS]


def complete_run_id(prefix: str, parsed_args: argparse.Namespace, **_: object) -> list[str]:
    """Shell completion of a RUN_ID: latest and the recorded run ids (of ``--repo``) that start with ``prefix``."""
    from uet_engine.saving.lookup import LATEST, find_repo
    from uet_engine.saving.store import RunStore

    try:
        with RunStore.open(find_repo(Path(getattr(parsed_args, "repo", "."))), create=False, audit=False) as store:
            ids = store.run_ids_starting(prefix, 50)
    except Exception:  # completion must never print a traceback into the shell
        ids = []
    return [LATEST, *ids] if LATEST.startswith(prefix) else ids


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


def sorted_problems(problems: Sequence[Problem]) -> list[Problem]:
    """``problems`` in file order (file, line, column)."""
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0))


def print_plan_problems(exc: PlanError) -> None:
    """Every problem and warning of a set that cannot be planned, one located line each, in file order."""
    sys.stderr.write("".join(problem.format() + "\n" for problem in sorted_problems(exc.problems + exc.warnings)))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    """A table: rich's on a terminal (no style under NO_COLOR), plain columns separated by two spaces otherwise."""
    if sys.stdout.isatty():
        from rich.table import Table

        from uet_engine.execution.progress import console_for

        table = Table(*headers)
        for row in rows:
            table.add_row(*row)
        console_for(sys.stdout).print(table)
        return
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in [headers, *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


class _Version(argparse.Action):
    """``--version``: looks the version up only when asked (package metadata costs milliseconds)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"uet {version()}")
        parser.exit()


def version() -> str:
    """The installed uet-contracts version (``unknown`` when running from a checkout that is not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("uet-contracts")
    except PackageNotFoundError:
        return "unknown"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``uet`` parser with every subcommand, or with just ``only`` (one module fewer to import each)."""
    parser = argparse.ArgumentParser(prog="uet", description=DESCRIPTION, formatter_class=HelpFormatter)
    parser.add_argument("--version", action=_Version, help="print the version of uet and exit")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for name in COMMANDS if only is None else (only,):
        import_module(f"uet_engine.cli.{MODULES.get(name, name)}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if "_ARGCOMPLETE" in os.environ:  # a shell asks for completions (see ``uet completion``)
        from uet_engine.cli.completion import complete

        complete(build_parser())
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv == ["--version"]:  # no command's module is needed for that
        print(f"uet {version()}")
        return 0
    # Import only the chosen subcommand: ``uet validate`` runs on every commit (pre-commit) and must
    # not wait for the imports of ``uet run`` and the others. ``uet --help`` still loads them all.
    chosen = argv[0] if argv and argv[0] in COMMANDS else None
    parser = build_parser(chosen)
    args = parser.parse_args(argv)
    if args.command is None:  # bare ``uet``: what it can do, not an error
        parser.print_help()
        return 0
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
