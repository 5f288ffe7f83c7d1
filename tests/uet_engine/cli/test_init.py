"""``uet init`` as a user runs it: the files it writes validate, plan and run; nothing is overwritten.

Every test runs the real command in a real folder; the scaffold's example is then checked by the real
``uet validate``, ``uet plan`` and ``uet run``, and by pre-commit's own config check.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.uet_engine.cli.test_run import assert_every_record_validates, uet
from uet_contracts import CONTRACTS, contract_named
from uet_engine.planning import scaffold

EXPECTED = ["phases/PH-01.yaml", "uet.config.yaml", ".pre-commit-config.yaml", ".gitignore", ".vscode/settings.json"]
PHASE_URL = "https://uet-contracts.dev/schemas/v1/phase_spec.schema.json"


def files_below(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and ".git/" not in str(p))


def test_init_creates_the_scaffold(tmp_path: Path) -> None:
    done = uet(tmp_path, "init", "proj")
    assert done.code == 0, done.stderr
    root = tmp_path / "proj"
    assert done.stdout.splitlines() == [f"created {name}" for name in EXPECTED]
    assert done.stderr.startswith("next: cd proj && uet validate phases && uet plan phases && uet run phases")
    assert files_below(root) == sorted(EXPECTED)
    spec = (root / "phases" / "PH-01.yaml").read_text(encoding="utf-8")
    assert spec.startswith(f"# yaml-language-server: $schema={PHASE_URL}\n")
    assert (root / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == ".runs/"
    settings = json.loads((root / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["yaml.schemas"][PHASE_URL] == scaffold.PHASE_GLOBS
    config = yaml.safe_load((root / "uet.config.yaml").read_text(encoding="utf-8"))
    assert config == {"project_id": "proj"}


def test_the_example_validates_plans_and_runs(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    assert uet(tmp_path, "init", "proj").code == 0
    validate = uet(root, "validate", "phases")
    assert (validate.code, validate.stderr) == (0, "1 file(s) checked as phase_spec: 1 valid, 0 invalid\n")
    plan = uet(root, "plan", "phases")
    assert plan.code == 0 and json.loads(plan.stdout)["critical_path"] == ["PH-01"]
    run = uet(root, "run", "phases", "--init")
    assert run.code == 0, run.stdout + run.stderr
    assert (root / "hello.txt").read_text(encoding="utf-8") == "hello\n"
    assert_every_record_validates(root)
    status = subprocess.run(["git", "status", "--short"], cwd=root, capture_output=True, text=True, check=True)
    assert ".runs/" not in status.stdout  # kept out of git by the scaffold's .gitignore


def test_the_config_file_validates_when_the_repo_config_contract_exists(tmp_path: Path) -> None:
    assert uet(tmp_path, "init").code == 0
    if any(c.kind == "repo_config" for c in CONTRACTS):
        done = uet(tmp_path, "validate", "--kind", "repo_config", "uet.config.yaml")
        assert done.code == 0, done.stdout
        first = (tmp_path / "uet.config.yaml").read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema=")
    else:
        assert not (tmp_path / "uet.config.yaml").read_text(encoding="utf-8").startswith("# yaml-language-server")


def test_the_pre_commit_config_is_accepted_by_pre_commit(tmp_path: Path) -> None:
    assert uet(tmp_path, "init").code == 0
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    hooks = yaml.safe_load((tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"][0]["hooks"]
    assert [(h["id"], h["entry"], h["language"]) for h in hooks] == [("uet-plan-check", "uet plan phases", "system")]


def test_a_second_init_changes_nothing(tmp_path: Path) -> None:
    assert uet(tmp_path, "init").code == 0
    before = {name: (tmp_path / name).read_bytes() for name in files_below(tmp_path)}
    again = uet(tmp_path, "init")
    assert again.code == 0
    assert [line.split(" ", 2)[:2] for line in again.stdout.splitlines()] == [
        ["kept", "phases/"],
        ["kept", "uet.config.yaml"],
        ["kept", ".pre-commit-config.yaml"],
        ["kept", ".gitignore"],
        ["kept", ".vscode/settings.json"],
    ]
    assert {name: (tmp_path / name).read_bytes() for name in files_below(tmp_path)} == before


def test_existing_files_are_added_to_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc", encoding="utf-8")
    (tmp_path / ".vscode").mkdir()
    (tmp_path / ".vscode" / "settings.json").write_text('{"editor.tabSize": 2}', encoding="utf-8")
    (tmp_path / ".pre-commit-config.yaml").write_text("repos: []\n", encoding="utf-8")
    done = uet(tmp_path, "init")
    assert done.code == 0
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8").startswith("*.pyc\n# uet's run records")
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert settings["editor.tabSize"] == 2 and PHASE_URL in settings["yaml.schemas"]
    assert (tmp_path / ".pre-commit-config.yaml").read_text(encoding="utf-8") == "repos: []\n"
    assert "kept .pre-commit-config.yaml exists; to check the phase specs on commit, add under repos:" in done.stdout
    assert "        entry: uet plan phases" in done.stdout.splitlines()


def test_settings_with_comments_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / ".vscode").mkdir()
    commented = '{\n  // mine\n  "editor.tabSize": 2\n}\n'
    (tmp_path / ".vscode" / "settings.json").write_text(commented, encoding="utf-8")
    done = uet(tmp_path, "init")
    assert done.code == 0
    assert (tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8") == commented
    assert "kept .vscode/settings.json is not plain JSON (comments?); add by hand:" in done.stdout


def test_a_folder_of_specs_gets_no_example(tmp_path: Path) -> None:
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "PH-09.yaml").write_text("phase_id: PH-09\n", encoding="utf-8")
    done = uet(tmp_path, "init")
    assert "kept phases/ already holds phase specs; no example added" in done.stdout.splitlines()
    assert sorted(p.name for p in (tmp_path / "phases").iterdir()) == ["PH-09.yaml"]


def test_local_schemas_point_at_the_installed_bundles(tmp_path: Path) -> None:
    assert uet(tmp_path, "init", "--local-schemas").code == 0
    bundle = contract_named("phase_spec").bundled_path
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert next(iter(settings["yaml.schemas"])) == bundle.as_posix() and bundle.is_file()
    assert (
        (tmp_path / "phases" / "PH-01.yaml")
        .read_text(encoding="utf-8")
        .startswith(f"# yaml-language-server: $schema={bundle.as_posix()}\n")
    )


def test_a_failed_write_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("*.pyc\n", encoding="utf-8")
    (tmp_path / ".vscode").write_text("a file where the folder should be", encoding="utf-8")
    done = uet(tmp_path, "init")
    assert done.code == 2
    assert done.stdout == ""
    assert done.stderr == "uet init: cannot write .vscode: File exists\n"
    assert files_below(tmp_path) == [".gitignore", ".vscode"]
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == "*.pyc\n"


def test_a_file_as_dir_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("", encoding="utf-8")
    done = uet(tmp_path, "init", "x")
    assert (done.code, done.stdout, done.stderr) == (2, "", "uet init: x is a file, not a folder\n")
