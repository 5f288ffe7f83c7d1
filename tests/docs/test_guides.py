"""The guides' code and the output they show are real: run them and compare."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.uet_engine.cli.test_run import make_repo, rows, uet
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


def titled_blocks(page: str) -> dict[str, str]:
    """The code blocks of a guide that carry a file name (```python title="name.py"), by name."""
    text = (GUIDES / page).read_text(encoding="utf-8")
    return dict(re.findall(r'^```\w+ title="([^"]+)"\n(.*?)^```$', text, re.M | re.S))


def test_hooks_and_plugins_guide_code_runs(tmp_path: Path) -> None:
    """The guide's hook, plugin, package and phase spec, installed with pip and used by a real run."""
    files = titled_blocks("hooks-and-plugins.md")
    assert sorted(files) == ["check_todos.py", "my_hooks.py", "my_plugins.py", "phases/PH-01.yaml", "pyproject.toml"]
    package = tmp_path / "package"
    package.mkdir()
    for name in ("my_hooks.py", "my_plugins.py", "pyproject.toml"):
        (package / name).write_text(files[name], encoding="utf-8")
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(package)]
    done = subprocess.run(install, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    repo = make_repo(
        tmp_path / "repo",
        {"check_todos.py": files["check_todos.py"], "src/app.py": "x = 1\ny = 2  # TODO: name it\n"},
    )
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "PH-01.yaml").write_text(files["phases/PH-01.yaml"], encoding="utf-8")
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]), "TIMELINE_DIR": str(tmp_path)}
    ran = uet(repo, "run", str(tmp_path / "phases"), "--hook", "my_hooks:Timeline", env=env)
    assert ran.code == 0, ran.stdout + ran.stderr
    assert (repo / "src" / "app.py").read_text() == "x = 1\ny = 2  # DONE: name it\n"
    todos = [e for e in rows(repo, "error_events") if e.get("plugin") == "todos"]
    assert [(e["path"], e["line"], e["code"], e["category"], e["message"]) for e in todos] == [
        ("src/app.py", 2, "todo", "style", "left to do: name it")
    ] * 2  # the check's two tries before the fix
    tries = [(a["kind"], a["attempt"], a["result"]["success"]) for a in rows(repo, "step_attempts")]
    assert tries == [("acceptance", 1, False), ("acceptance", 2, False), ("fix", 1, True), ("acceptance", 3, True)]
    timeline = [json.loads(line) for line in (tmp_path / "timeline.jsonl").read_text().splitlines()]
    assert [(t["event"], t.get("task"), t.get("status")) for t in timeline][-2:] == [
        ("end", "acceptance/0", None),
        ("workstream", None, "succeeded"),
    ]
    seen = [json.loads(line) for line in (tmp_path / "errors-seen.jsonl").read_text().splitlines()]
    assert seen == rows(repo, "error_events")


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


def test_start_guide_shows_what_uet_new_phase_prints(tmp_path: Path) -> None:
    """The guide's commands, run after ``uet init`` in a fresh folder, print what it shows; the spec validates."""
    commands = [block.strip() for block in _blocks("start.md", "bash") if block.startswith("uet new phase ")]
    shown = [b for b in _blocks("start.md", "text") if b.startswith("uet new phase:")]
    assert len(commands) == len(shown) == 2
    assert uet(tmp_path, "init").code == 0
    for command, expected in zip(commands, shown, strict=True):
        args = shlex.split(command)
        assert args[:3] == ["uet", "new", "phase"]
        done = uet(tmp_path, *args[1:])
        assert (done.code, done.stdout, done.stderr) == (0 if "wrote" in expected else 2, "", expected)
    assert uet(tmp_path, "validate", "phases").code == 0
    assert not (tmp_path / "phases" / "PH-03.yaml").exists()
