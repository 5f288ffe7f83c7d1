"""The repository's own pre-commit hooks (``.pre-commit-config.yaml``): pre-commit accepts the config, and
each hook runs a real command with real options."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO_ROOT

PRE_COMMIT_CONFIG = REPO_ROOT / ".pre-commit-config.yaml"


def hooks() -> list[dict[str, object]]:
    config = yaml.safe_load(PRE_COMMIT_CONFIG.read_text(encoding="utf-8"))
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_pre_commit_accepts_the_config() -> None:
    command = shutil.which("pre-commit")
    assert command is not None, "pre-commit is part of the dev extra"
    done = subprocess.run(
        [command, "validate-config", str(PRE_COMMIT_CONFIG)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_hooks_are_ruff_ruff_format_and_the_codegen_drift_gate() -> None:
    entries = {hook["id"]: hook["entry"] for hook in hooks()}
    assert entries == {
        "ruff": "ruff check --force-exclude",
        "ruff-format": "ruff format --force-exclude",
        "codegen-check": "python -m codegen --check",
    }


@pytest.mark.parametrize("hook", hooks(), ids=lambda hook: str(hook["id"]))
def test_each_hook_names_a_real_command_with_real_options(hook: dict[str, object]) -> None:
    """Each entry, with ``--help`` added, runs: the program is installed and takes the options given."""
    program, *args = shlex.split(str(hook["entry"]))
    found = sys.executable if program == "python" else shutil.which(program)
    assert found is not None, f"{program} is not installed"
    done = subprocess.run([found, *args, "--help"], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_drift_gate_hook_watches_what_codegen_reads_and_writes() -> None:
    (gate,) = (hook for hook in hooks() if hook["id"] == "codegen-check")
    watched = re.compile(str(gate["files"]))
    for path in (
        "schemas/v1/common.schema.json",
        "codegen/reference.py",
        "examples/phases/PH-01A.yaml",
        "generated/manifest.json",
        "src/uet_contracts/models/common_schema.py",
        "pyproject.toml",
    ):
        assert watched.search(path), path
    assert not watched.search("src/uet_engine/paths.py")
    assert gate["pass_filenames"] is False
