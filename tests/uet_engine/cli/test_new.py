"""``uet new phase`` without a template, as a user runs it: the skeleton it writes validates, plans and runs
as it is; bad ids, dependencies and clashes with the target folder are refused with one line, exit 2 and
nothing written (the cases are data: new_phase_cases/refused.yaml). The --template form's own tests are
in test_patterns.py; here only how the skeleton's options combine with it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import uet_contracts
from tests.uet_engine.cli.test_run import assert_every_record_validates, make_repo, uet
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import PhaseSpec
from uet_engine.planning import scaffold

CASES = yaml.safe_load((Path(__file__).parent / "new_phase_cases" / "refused.yaml").read_text(encoding="utf-8"))
WROTE = "uet new phase: wrote {} (a skeleton for {}: replace its parts marked 'replace')\n"


def listing(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def two_specs(root: Path) -> None:
    write(root / "phases", spec("PH-01", workstream="ws-one"), spec("PH-02", ["PH-01"], workstream="ws-two"))


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_refused(tmp_path: Path, case: dict[str, Any]) -> None:
    two_specs(tmp_path)
    (tmp_path / "exists.yaml").write_text("x: 1\n")
    before = listing(tmp_path)
    done = uet(tmp_path, "new", "phase", *case["args"])
    assert (done.code, done.stdout, done.stderr) == (2, "", case["stderr"] + "\n")
    assert listing(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.yaml", "phases"]


def test_without_output_the_skeleton_goes_to_stdout_and_validates(tmp_path: Path) -> None:
    done = uet(tmp_path, "new", "phase", "PH-10", "--workstream", "ws-parser", "--depends-on", "PH-09")
    assert (done.code, done.stderr) == (0, "")
    assert done.stdout == scaffold.phase_skeleton("PH-10", "ws-parser", ["PH-09"])
    written = uet_contracts.loads(done.stdout, PhaseSpec)
    assert (written.phase_id, written.workstream_id, written.depends_on, written.title) == (
        "PH-10",
        "ws-parser",
        ["PH-09"],
        "New phase PH-10",
    )
    assert list(tmp_path.iterdir()) == []  # no folder to check, nothing written


def test_output_creates_its_folder_and_a_json_name_writes_json(tmp_path: Path) -> None:
    args = ["PH-10", "--workstream", "ws-parser", "--title", "Parse the input"]
    done = uet(tmp_path, "new", "phase", *args, "-o", "phases/PH-10.yaml")
    assert (done.code, done.stdout, done.stderr) == (0, "", WROTE.format("phases/PH-10.yaml", "PH-10"))
    text = (tmp_path / "phases" / "PH-10.yaml").read_text(encoding="utf-8")
    assert text == scaffold.phase_skeleton("PH-10", "ws-parser", title="Parse the input")
    as_yaml = uet_contracts.load(tmp_path / "phases" / "PH-10.yaml", PhaseSpec)

    done = uet(tmp_path, "new", "phase", *args, "-o", "json/deeper/PH-10.json")
    assert (done.code, done.stderr) == (0, WROTE.format("json/deeper/PH-10.json", "PH-10"))
    path = tmp_path / "json" / "deeper" / "PH-10.json"
    assert json.loads(path.read_text(encoding="utf-8")) == uet_contracts.to_dict(as_yaml)
    assert uet_contracts.load(path, PhaseSpec) == as_yaml


def test_force_replaces_the_file_with_the_same_phase_id(tmp_path: Path) -> None:
    two_specs(tmp_path)
    target = tmp_path / "phases" / "PH-02.yaml"
    args = ["new", "phase", "PH-02", "--workstream", "ws-two", "--depends-on", "PH-01", "-o", str(target)]
    done = uet(tmp_path, *args)
    assert (done.code, done.stderr) == (2, f"uet new phase: {target} exists; pass --force to replace it\n")
    done = uet(tmp_path, *args, "--force")
    assert (done.code, done.stderr) == (0, WROTE.format(target, "PH-02"))
    assert uet_contracts.load(target, PhaseSpec).depends_on == ["PH-01"]
    assert uet(tmp_path, "plan", "phases").code == 0


def test_allow_unknown_writes_a_dependency_the_plan_then_names(tmp_path: Path) -> None:
    two_specs(tmp_path)
    args = ["new", "phase", "PH-03", "--workstream", "ws-three", "--depends-on", "PH-04", "-o", "phases/PH-03.yaml"]
    done = uet(tmp_path, *args, "--allow-unknown")
    assert (done.code, done.stderr) == (0, WROTE.format("phases/PH-03.yaml", "PH-03"))
    planned = uet(tmp_path, "plan", "phases")
    assert planned.code == 1 and "PH-04" in planned.stderr  # why the refusal is the default
    done = uet(tmp_path, "new", "phase", "PH-04", "--workstream", "ws-four", "-o", "phases/PH-04.yaml")
    assert done.code == 0, done.stderr
    assert uet(tmp_path, "plan", "phases").code == 0


def test_a_folder_without_specs_takes_any_dependency_and_other_files_are_not_specs(tmp_path: Path) -> None:
    (tmp_path / "uet.config.yaml").write_text('project_id: "demo"\n')
    (tmp_path / "broken.yaml").write_text("phase_id: [unclosed\n")
    copy = tmp_path / ".runs" / "worktrees" / "slot-0" / "phases"
    write(copy, spec("PH-01", workstream="ws-one"))  # a worktree's copy is not part of the set
    done = uet(tmp_path, "new", "phase", "PH-01", "--workstream", "ws-one", "--depends-on", "PH-00", "-o", "PH-01.yaml")
    assert (done.code, done.stderr) == (0, WROTE.format("PH-01.yaml", "PH-01"))
    assert uet_contracts.load(tmp_path / "PH-01.yaml", PhaseSpec).depends_on == ["PH-00"]


def test_a_failed_write_leaves_no_folder_behind(tmp_path: Path) -> None:
    (tmp_path / "phases").write_text("a file where the folder would go\n")
    done = uet(tmp_path, "new", "phase", "PH-01", "--workstream", "ws-one", "-o", "phases/new/PH-01.yaml")
    assert done.code == 2 and done.stderr.startswith("uet new phase: cannot write phases/new/PH-01.yaml: ")
    assert done.stderr.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["phases"]


def test_with_a_template_workstream_and_title_are_its_parameters(tmp_path: Path) -> None:
    args = ["PH-10", "--template", "python-module", "--workstream", "ws-p", "--title", "Parser", "--set", "module=m"]
    done = uet(tmp_path, "new", "phase", *args)
    assert (done.code, done.stderr) == (0, "")
    written = uet_contracts.loads(done.stdout, PhaseSpec)
    assert (written.workstream_id, written.title, written.template_id) == ("ws-p", "Parser", "python-module")

    bare = tmp_path / "templates" / "phase_templates" / "bare.template.yaml"
    bare.parent.mkdir(parents=True)
    body = spec("${phase_id}", workstream="ws-bare")
    bare.write_text(
        yaml.safe_dump(
            {
                "template_id": "bare",
                "description": "A phase with no title parameter.",
                "parameters": {"phase_id": {"type": "string", "description": "The phase's id."}},
                "body": body,
            }
        )
    )
    done = uet(tmp_path, "new", "phase", "PH-11", "--template", "bare", "--title", "T")
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        "phase template bare (templates/phase_templates/bare.template.yaml): $.parameters.title: "
        "unknown parameter 'title' (the template declares: phase_id)",
        "uet new phase: 1 problem(s) with the values for template bare; nothing written",
    ]


def test_skeletons_validate_plan_and_run_as_they_are(tmp_path: Path) -> None:
    """The user's loop: two skeletons, one depending on the other, written, checked, planned and run."""
    repo = make_repo(tmp_path / "repo")
    first = ["PH-01", "--workstream", "ws-first", "--title", 'Say "hello" – first', "-o", "phases/PH-01.yaml"]
    assert uet(tmp_path, "new", "phase", *first).code == 0
    second = ["PH-02", "--workstream", "ws-second", "--depends-on", "PH-01", "-o", "phases/PH-02.yaml"]
    assert uet(tmp_path, "new", "phase", *second).code == 0

    validated = uet(tmp_path, "validate", "phases")
    assert (validated.code, validated.stderr) == (0, "2 file(s) checked as phase_spec: 2 valid, 0 invalid\n")
    planned = uet(tmp_path, "plan", "phases")
    assert planned.code == 0, planned.stderr
    assert planned.stderr.endswith(", 0 warning(s)\n")
    assert json.loads(planned.stdout)["critical_path"] == ["PH-01", "PH-02"]

    ran = uet(tmp_path, "run", "phases", "--repo", str(repo))
    assert ran.code == 0, ran.stdout + ran.stderr
    assert ran.stdout.splitlines()[-1] == "2 succeeded"
    assert (repo / "notes" / "PH-01.md").read_text(encoding="utf-8") == '# PH-01: Say "hello" – first\n'
    assert (repo / "notes" / "PH-02.md").read_text(encoding="utf-8") == "# PH-02: New phase PH-02\n"
    assert_every_record_validates(repo)
