"""The guides' code and the output they show are real: run them and compare."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from uet_contracts import PhaseTemplate, VerificationRef, VerificationTemplate
from uet_engine.patterns.templates import TemplateLibrary, instantiate, resolve_check, template_file

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


def test_patterns_guide_templates_validate_and_fill_in(tmp_path: Path) -> None:
    blocks = _blocks("patterns.md", "yaml")
    phase = next(b for b in blocks if b.startswith("template_id: module-file"))
    check = next(b for b in blocks if b.startswith("template_id: pytest-green"))
    uet_contracts.loads(phase, PhaseTemplate, "yaml")
    uet_contracts.loads(check, VerificationTemplate, "yaml")
    path = template_file(tmp_path, "phase", "module-file")
    path.parent.mkdir(parents=True)
    path.write_text(phase, encoding="utf-8")
    library = TemplateLibrary(tmp_path)
    values = {"phase_id": "PH-new", "workstream_id": "ws-mod-new", "create_1": "src/mod_new.py"}
    spec = instantiate(library.get("phase", "module-file"), values, label="PH-new.yaml")
    assert (spec.pattern_id, spec.estimate_hours, spec.title) == ("PAT-module-file", 1, "Write src/mod_new.py")
    use = yaml.safe_load(next(b for b in blocks if b.startswith("acceptance:")))["acceptance"]["sh"][0]
    ref = VerificationRef(verify=use["verify"], with_=use["with"])
    assert resolve_check(library, ref, "sh").run == (
        "PYTHONPATH=src python -m pytest -q -p no:cacheprovider tests/test_parser.py"
    )


def test_patterns_guide_shows_what_uet_new_phase_prints(tmp_path: Path) -> None:
    shown = next(b for b in _blocks("patterns.md", "text") if b.startswith("phase template python-module"))
    args = ["new", "phase", "PH-10", "--template", "python-module", "--set", "workstream_id=ws-p"]
    args += ["--set", "module=parser", "--set", "estimate_hours=two", "--set", "colour=red", "-o", "x.yaml"]
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", *args], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (1, shown)
