"""The help a person reads: ``uet --version``, bare ``uet``, and every command's text in plain words.

Every parser is walked (the commands, and the actions of ``uet runs`` and ``uet schema``), so a command
added later is held to the same rules: a description, help on every argument, no documentation markup
or module names, and lines that fit the CLI reference page.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import version

import pytest

from tests.conftest import REPO_ROOT
from uet_engine.cli import COMMANDS, build_parser

# Documentation markup and names of the code, which mean nothing to someone reading --help.
MARKUP = re.compile(r"``|:(?:mod|func|class|meth|attr):|\buet_engine\b|\buet_contracts\.\w|\bthe seed\b")
# The width the docs render the help at (docs/hooks.py): a code block on the CLI reference page holds
# about 82 characters at 1280 px (tests/docs/test_site.py checks the page).
PAGE_WIDTH = 80


def uet(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run(
        [sys.executable, "-m", "uet_engine", *args], cwd=REPO_ROOT, capture_output=True, text=True, env=env, check=False
    )


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command line, parser)`` of ``uet`` and of every command and action below it."""

    def walk(prefix: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield prefix, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    yield from walk(f"{prefix} {name}", sub)

    yield from walk("uet", build_parser())


ALL = list(parsers())


def test_version_prints_the_installed_version() -> None:
    done = uet("--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, f"uet {version('uet-contracts')}\n", "")


def test_bare_uet_prints_the_command_overview_and_exits_0(monkeypatch: pytest.MonkeyPatch) -> None:
    done = uet(columns=100)
    assert (done.returncode, done.stderr) == (0, "")
    monkeypatch.setenv("COLUMNS", "100")
    assert done.stdout == build_parser().format_help()
    assert done.stdout.startswith("usage: uet [-h] [--version] COMMAND ...\n")
    listed = re.findall(r"^ {4}(\w+) ", done.stdout, flags=re.MULTILINE)
    assert listed == list(COMMANDS)


@pytest.mark.parametrize("group", ["runs", "schema"])
def test_a_command_group_alone_prints_its_actions(group: str) -> None:
    done = uet(group)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith(f"usage: uet {group} [-h] ACTION ...")
    assert "actions:" in done.stdout


@pytest.mark.parametrize(("command", "parser"), ALL, ids=[name for name, _ in ALL])
def test_every_command_is_described_in_plain_words(command: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description and len(parser.description) > 40, f"{command} has no description"
    texts = [parser.description]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            texts += [choice.help or "" for choice in action._choices_actions]
            assert all(choice.help for choice in action._choices_actions), f"{command}: a subcommand has no help"
            continue
        assert action.help, f"{command}: {action.option_strings or action.dest} has no help"
        texts.append(action.help)
    found = [hit for text in texts for hit in MARKUP.findall(text)]
    assert found == [], f"{command}: markup or code names in the help: {found}"


@pytest.mark.parametrize(("command", "parser"), ALL, ids=[name for name, _ in ALL])
def test_help_fits_the_reference_page(
    command: str, parser: argparse.ArgumentParser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", str(PAGE_WIDTH))
    text = parser.format_help()
    wide = [line for line in text.splitlines() if len(line) > PAGE_WIDTH]
    assert wide == []


def test_the_reference_page_renders_the_help_at_that_width() -> None:
    hooks = (REPO_ROOT / "docs" / "hooks.py").read_text(encoding="utf-8")
    assert f'HELP_WIDTH = "{PAGE_WIDTH}"' in hooks


def test_descriptions_are_wrapped_to_the_terminal() -> None:
    narrow, wide = uet("validate", "--help", columns=60).stdout, uet("validate", "--help", columns=100).stdout
    assert max(map(len, narrow.splitlines())) <= 60
    assert max(map(len, wide.splitlines())) > 60
    # an indented example is kept as written, whatever the width
    assert "\n  PATH:LINE:COL: JSON-PATH: message\n" in narrow and "\n  PATH:LINE:COL: JSON-PATH: message\n" in wide
