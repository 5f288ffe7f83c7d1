"""The guides' code and the output they show are real: run them and compare."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, REPO_ROOT

GUIDES = REPO_ROOT / "docs" / "guides"


def _blocks(page: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", (GUIDES / page).read_text(encoding="utf-8"), re.M | re.S)


def test_library_guide_code_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    blocks = _blocks("library.md", "python")
    assert len(blocks) == 2
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, "library.md", "exec"), {})
    assert out.getvalue() == "ws-pipeline-plus-1a-task-queue ['core/state/task_queue.py', 'tests/test_task_queue.py']\n"


def test_phase_spec_guide_shows_what_uet_validate_prints(tmp_path: Path) -> None:
    invalid = next(block for block in _blocks("phase-spec.md", "yaml") if 'phase_id: "PH-03"' in block)
    shown = next(block for block in _blocks("phase-spec.md", "text") if block.startswith("phases/PH-03.yaml:"))
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "PH-03.yaml").write_text(invalid, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "validate", "phases/PH-03.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, shown)


def test_phase_spec_guide_includes_the_example_file_that_validates() -> None:
    text = (GUIDES / "phase-spec.md").read_text(encoding="utf-8")
    assert '--8<-- "examples/phases/PH-01A.yaml"' in text
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "validate", str(EXAMPLES / "phases" / "PH-01A.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (0, "")


def test_start_guide_shows_what_uet_init_prints(tmp_path: Path) -> None:
    shown = next(block for block in _blocks("start.md", "text") if block.startswith("created "))
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "init"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout) == (0, shown)
    settings = next(block for block in _blocks("start.md", "json") if "yaml.schemas" in block)
    assert json.loads(settings) == json.loads((tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    modeline = next(block for block in _blocks("start.md", "yaml") if "yaml-language-server" in block)
    first = (tmp_path / "phases" / "PH-01.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert modeline.strip() == first
