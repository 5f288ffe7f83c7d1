"""The README's command table keeps up with the command line: every command and every action of a command
group is listed, and every ``uet …`` the table names exists. A new command that the README forgets fails here."""

from __future__ import annotations

import argparse
import re

from tests.conftest import REPO_ROOT
from uet_engine.cli import COMMANDS, build_parser

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def command_table() -> str:
    start = README.index("## Command line\n")
    return README[start : README.index("\n## ", start + 1)]


def actions(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """The actions of command group ``name`` (``runs list``, ``runs show``…), empty for a plain command."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    group = sub.choices[name]
    found = [a for a in group._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(found[0].choices) if found else []


def test_every_command_and_action_is_in_the_readme_table() -> None:
    table = command_table()
    parser = build_parser()
    missing = [name for name in COMMANDS if f"`uet {name}" not in table]
    for name in COMMANDS:
        row_text = " ".join(line for line in table.splitlines() if f"`uet {name}" in line)
        missing += [f"{name} {action}" for action in actions(parser, name) if not re.search(rf"\b{action}\b", row_text)]
    assert missing == []


def test_the_table_names_no_command_that_does_not_exist() -> None:
    named = set(re.findall(r"`uet ([a-z]+)", command_table()))
    assert named - set(COMMANDS) == set()
