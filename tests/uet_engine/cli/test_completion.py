"""Shell completion: the script ``uet completion bash`` prints, sourced in a real bash, completes real words.

``uet`` on PATH is a two-line wrapper around ``python -m uet_engine`` (this checkout), so the completions
come from the parser under test, through argcomplete, exactly as a shell gets them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.uet_engine.run_records import RUN, RUN2, record
from uet_engine.saving.store import RunStore

pytestmark = pytest.mark.skipif(
    shutil.which("bash") is None, reason="bash is not installed: install bash to test shell completion"
)

COMPLETE = """
eval "$(uet completion bash)"
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -r -a COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_python_argcomplete uet
printf '%s\\n' "${COMPREPLY[@]}"
"""


@pytest.fixture
def shell_path(tmp_path: Path) -> str:
    """A PATH whose ``uet`` runs this checkout's engine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "uet"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m uet_engine "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    return f"{bin_dir}{os.pathsep}{os.environ['PATH']}"


def complete(line: str, path: str, cwd: Path) -> list[str]:
    """What bash offers for ``line`` (the cursor at its end)."""
    done = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", COMPLETE, "bash", line],
        cwd=cwd,
        env={**os.environ, "PATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [word.strip() for word in done.stdout.splitlines()]


def words(offered: list[str]) -> list[str]:
    """The offers that are not options (an empty word is offered the options too)."""
    return [word for word in offered if not word.startswith("-")]


def test_bash_completes_commands(shell_path: str, tmp_path: Path) -> None:
    assert complete("uet ru", shell_path, tmp_path) == ["run", "runs"]
    assert words(complete("uet runs ", shell_path, tmp_path)) == ["list", "show", "logs", "verify", "prune"]
    assert complete("uet validate --k", shell_path, tmp_path) == ["--kind"]


def test_bash_completes_contract_kinds_and_run_ids(shell_path: str, tmp_path: Path) -> None:
    assert complete("uet schema path phase_s", shell_path, tmp_path) == ["phase_spec"]
    with RunStore.open(tmp_path) as store:
        for run_id in (RUN, RUN2):
            store.queue(run_id, [record(run_id, "ws-a")])
    assert words(complete("uet runs show ", shell_path, tmp_path)) == ["latest", RUN2, RUN]
    assert complete("uet runs show run-20261125T10", shell_path, tmp_path) == [RUN]


@pytest.mark.parametrize(
    ("shell", "marker"), [("bash", "complete "), ("zsh", "compdef"), ("fish", "complete --command")]
)
def test_completion_prints_each_shells_code(shell: str, marker: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "completion", shell], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and done.stderr == ""
    assert marker in done.stdout and "uet" in done.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "completion", "tcsh"], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert "invalid choice: 'tcsh'" in done.stderr
