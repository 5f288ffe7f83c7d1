"""``uet_engine.execution.worker``: the order acceptance checks run in, the tasks of a spec, and (in real runs)
pre-flight checks, expected artifacts, optional acceptance checks, expected output, retries, fix loops and plugins."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

import uet_contracts
from tests.uet_engine.cli.test_run import (
    Done,
    assert_every_record_validates,
    assert_verify_passes,
    git,
    make_repo,
    only_run_id,
    phase,
    rows,
    statuses,
    step,
    tracked_and_untracked,
    uet,
)
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import Acceptance, PhaseSpec, Runner
from uet_engine.execution.worker import ACCEPTANCE_RUNNERS, _with_parents, tasks_of

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shells, which Windows lacks: run these tests on Linux or macOS"
)


def test_acceptance_runs_in_the_order_of_the_schemas_runners_and_acceptance_fields() -> None:
    """The runner enum and Acceptance's fields agree, so reordering one cannot renumber stored checks silently."""
    assert ACCEPTANCE_RUNNERS == get_args(Runner) == tuple(f.name for f in dataclasses.fields(Acceptance))
    assert ACCEPTANCE_RUNNERS == ("sh", "python", "powershell")


# -- pre-flight checks, expected artifacts, optional checks, expect_output: real runs in real repositories ---


def _run(tmp_path: Path, *specs: dict[str, Any], args: tuple[str, ...] = ()) -> tuple[Path, Done]:
    repo = make_repo(tmp_path / "repo")
    write(repo / "phases", *specs)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "specs")
    return repo, uet(repo, "run", "phases", "--jobs", "1", *args)


def _errors(repo: Path) -> list[dict[str, Any]]:
    return rows(repo, "error_events")


def test_a_failing_critical_pre_flight_check_fails_before_any_step(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("touch made.txt")], create=["made.txt"])
    data["pre_flight"] = [
        {"id": "warn-only", "run": "exit 3", "critical": False},
        {"id": "has-tool", "run": "exit 1", "fix_hint": "install the tool"},
    ]
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "failed"
    assert record["reason"] == "pre_flight/1 (sh) failed: exit code 1, expected 0; fix: install the tool"
    assert [a["kind"] for a in rows(repo, "step_attempts") if a.get("result")] == ["pre_flight", "pre_flight"]
    errors = _errors(repo)
    assert [(e["error_type"], e["severity"], e["task_id"]) for e in errors] == [
        ("preflight_failed", "warning", "pre_flight/0"),  # the optional check that failed first
        ("preflight_failed", "error", "pre_flight/1"),
    ]
    assert not (repo / "made.txt").exists()
    assert_every_record_validates(repo)


def test_pre_flight_writes_are_discarded_and_a_warning_is_recorded(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("touch made.txt")], create=["made.txt"])
    data["pre_flight"] = [{"run": "touch junk.txt && exit 2", "critical": False}]
    repo, done = _run(tmp_path, data)
    assert done.code == 0, done.stderr
    assert (repo / "made.txt").exists() and not (repo / "junk.txt").exists()
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "succeeded"
    assert record["reason"].startswith("optional pre_flight/0 (sh) failed: exit code 2, expected 0")
    assert [(e["error_type"], e["severity"]) for e in _errors(repo)] == [("preflight_failed", "warning")]
    assert_verify_passes(repo)


def test_a_missing_expected_artifact_fails_before_acceptance(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("mkdir -p out && touch out/a.txt")], create=["out/**"])
    data["expected_artifacts"] = ["out/a.txt", "out/*.log", "out/b.txt"]
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    record = rows(repo, "uet_runs")[-1]
    assert record["reason"] == "expected artifacts missing after the steps: out/*.log, out/b.txt"
    assert [(e["error_type"], e["files"]) for e in _errors(repo)] == [("artifact_missing", ["out/*.log", "out/b.txt"])]
    assert not [a for a in rows(repo, "step_attempts") if a["kind"] == "acceptance"]


def test_an_optional_acceptance_check_fails_and_the_workstream_succeeds(tmp_path: Path) -> None:
    data = phase(
        "PH-01",
        [],
        [step("touch made.txt")],
        create=["made.txt"],
        acceptance={
            "sh": [
                {"id": "lint", "run": "echo advisory; exit 1", "required": False},
                {"id": "says-ok", "run": "echo all ok", "expect_output": "all ok"},
            ]
        },
    )
    data["expected_artifacts"] = ["made.txt"]
    repo, done = _run(tmp_path, data)
    assert done.code == 0, done.stderr
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "succeeded"
    assert record["reason"] == "optional acceptance/0 (sh) failed: exit code 1, expected 0"
    assert [(e["error_type"], e["severity"]) for e in _errors(repo)] == [("acceptance_failed", "warning")]
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def test_expect_output_must_appear(tmp_path: Path) -> None:
    data = phase("PH-01", [], [], acceptance={"sh": [{"run": "echo nearly", "expect_output": "done"}]})
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    assert rows(repo, "uet_runs")[-1]["reason"] == "acceptance/0 (sh) failed: expected output 'done' not found"


# -- retries, fix loops and error plugins in real runs ------------------------------------------------------


posix_only = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shells, which Windows lacks: run these tests on Linux or macOS"
)

CALC_REPO = {
    "core/__init__.py": "",
    "core/calc.py": "def add(a, b):\n    return a - b\n",
    "tests/__init__.py": "",
    "tests/test_calc.py": "from core.calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 4\n",
}
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider tests"


def tries(repo: Path) -> list[tuple[str, str, int, bool]]:
    return [
        (a["workstream_id"], f"{a['kind']}/{a['index']}", a["attempt"], a["result"]["success"])
        for a in rows(repo, "step_attempts")
    ]


@posix_only
def test_a_step_that_fails_once_then_succeeds_on_its_retry(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    flaky = 'echo "try $UET_ATTEMPT" > a.txt; test "$UET_ATTEMPT" -ge 2 || { echo half > junk.txt; exit 3; }'
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step(flaky, retry={"max_attempts": 3, "delay_s": 0.1})], create=["a.txt"]),
    )
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 0, done.stdout + done.stderr
    assert tries(repo) == [
        ("ws-ph-a", "step/0", 1, False),
        ("ws-ph-a", "step/0", 2, True),
        ("ws-ph-a", "acceptance/0", 1, True),
    ]
    # The retry started again from the tree before the step: the failed try's junk.txt is not in the patch.
    assert tracked_and_untracked(repo) == ["README.md", "a.txt"]
    assert (repo / "a.txt").read_text() == "try 2\n"
    assert [(e["error_type"], e["task_id"], e["context"]["attempt"]) for e in rows(repo, "error_events")] == [
        ("step_failed", "step/0", 1)
    ]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@posix_only
def test_a_runner_command_gets_no_scratch_folder(tmp_path: Path) -> None:
    """Only a tool profile's step needs a scratch folder (its prompt file); a runner's command runs without one,
    so no ``uet-agent-`` folder exists in the temporary folder while it runs (a folder per command costs ~1 ms)."""
    repo, temp = make_repo(tmp_path / "repo"), tmp_path / "tmp"
    temp.mkdir()
    spec = phase("PH-A", [], [step(f"ls -a '{temp.as_posix()}' > seen.txt")], create=["seen.txt"])
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off", env={"TMPDIR": str(temp)})
    assert done.code == 0, done.stdout + done.stderr
    seen = (repo / "seen.txt").read_text().split()
    assert seen[:2] == [".", ".."]
    assert [name for name in seen if name.startswith("uet-agent-")] == []


def test_every_command_sees_the_run_phase_workstream_and_attempt(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    show = 'echo "$UET_RUN_ID $UET_PHASE_ID $UET_WORKSTREAM_ID $UET_ATTEMPT" >> env.txt'
    spec = phase("PH-A", [], [step(show)], create=["env.txt"], acceptance={"sh": [f"cat env.txt; {show}"]})
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 0, done.stdout + done.stderr
    run_id = only_run_id(repo)
    assert (repo / "env.txt").read_text() == f"{run_id} PH-A ws-ph-a 1\n"
    check = rows(repo, "step_attempts")[-1]["result"]["stdout"]
    assert check == f"{run_id} PH-A ws-ph-a 1\n"


@posix_only
def test_a_failing_pytest_check_names_the_test_file_line_and_assertion(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", CALC_REPO)
    write(tmp_path / "specs", phase("PH-A", [], [], modify=["core/calc.py"], acceptance={"sh": [PYTEST]}))
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    findings = [e for e in rows(repo, "error_events") if e.get("plugin")]
    assert [(e["plugin"], e["tool"], e["path"], e["line"], e["category"], e["message"]) for e in findings] == [
        ("pytest", "pytest", "tests/test_calc.py", 5, "test_failure", "test_add failed: assert 0 == 4")
    ]
    assert findings[0]["task_id"] == "acceptance/0"
    assert findings[0]["context"] == {"test_id": "tests/test_calc.py::test_add", "attempt": 1}
    # The terminal shows the issue and the end of pytest's output, live and in the summary.
    lines = done.stdout.splitlines()
    assert lines.count("    tests/test_calc.py:5: test_add failed: assert 0 == 4") == 2
    assert lines.count("    | FAILED tests/test_calc.py::test_add - assert 0 == 4") == 2
    heading = [line for line in lines if line.endswith(" line(s) of the output of acceptance/0 attempt 1 (sh):")]
    assert len(heading) == 2 and heading[0].startswith("  last ")
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@posix_only
def test_a_fix_step_that_repairs_the_code_makes_the_check_pass_on_its_second_try(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", CALC_REPO)
    fix = 'cp "$UET_FAILURE_FILE" "$SAVE_TO"; sed -i.bak \'s/a - b/a + b/\' core/calc.py; rm core/calc.py.bak'
    spec = phase("PH-A", [], [], modify=["core/calc.py"], acceptance={"sh": [PYTEST]})
    spec["on_failure"] = {"steps": [step(fix)], "max_fix_attempts": 2}
    write(tmp_path / "specs", spec)
    saved = tmp_path / "failure.json"  # written outside the worktree by the fix step: no sandbox for this one
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off", env={"SAVE_TO": str(saved)})
    assert done.code == 0, done.stdout + done.stderr
    assert tries(repo) == [
        ("ws-ph-a", "acceptance/0", 1, False),
        ("ws-ph-a", "fix/0", 1, True),
        ("ws-ph-a", "acceptance/0", 2, True),
    ]
    assert (repo / "core" / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert tracked_and_untracked(repo) == sorted(CALC_REPO)
    # The fix step was handed that try's ErrorEvents: the engine's own, then pytest's finding.
    handed = json.loads(saved.read_text())
    assert handed == [e for e in rows(repo, "error_events")]
    assert [(e["error_type"], e.get("plugin"), e.get("path")) for e in handed] == [
        ("acceptance_failed", None, None),
        ("acceptance_failed", "pytest", "tests/test_calc.py"),
    ]
    fix_row = rows(repo, "step_attempts")[1]
    assert fix_row["result"]["files_touched"] == ["core/calc.py"]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@posix_only
def test_an_unfixable_failure_stops_at_the_circuit_breaker(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", CALC_REPO)
    spec = phase("PH-A", [], [], modify=["core/calc.py"], acceptance={"sh": [PYTEST]})
    spec["on_failure"] = {"steps": [step("echo trying >&2")], "max_fix_attempts": 5, "max_same_error": 3}
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    record = rows(repo, "uet_runs")[0]
    assert record["status"] == "failed"
    assert record["reason"] == (
        "acceptance/0 (sh) failed: exit code 1, expected 0; fix loop stopped by its circuit breaker after 2 fix "
        "attempt(s): the same error came back 3 times (tests/test_calc.py:5: test_add failed: assert 0 == 4)"
    )
    assert [t[1:3] for t in tries(repo)] == [
        ("acceptance/0", 1),
        ("fix/0", 1),
        ("acceptance/0", 2),
        ("fix/0", 2),
        ("acceptance/0", 3),
    ]
    errors = rows(repo, "error_events")
    stopped = [e for e in errors if e["error_type"] == "fix_loop_stopped"]
    assert len(stopped) == 1 and stopped[0]["error_code"] == "UET-E114"
    repeated = {e["fingerprint"] for e in errors if e.get("plugin") == "pytest"}
    assert len(repeated) == 1 and stopped[0]["context"]["repeated"] in repeated
    assert (repo / "core" / "calc.py").read_text() == CALC_REPO["core/calc.py"]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@posix_only
def test_a_failing_fix_step_is_an_error_event_of_task_fix_n(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    spec = phase("PH-A", [], [], acceptance={"python": ["import sys; sys.exit('broken')"]})
    spec["on_failure"] = {"steps": [step("echo cannot fix >&2; exit 3")], "max_fix_attempts": 1}
    write(tmp_path / "specs", spec)
    assert uet(repo, "run", str(tmp_path / "specs")).code == 1
    fix_errors = [(e["error_type"], e["context"]) for e in rows(repo, "error_events") if e.get("task_id") == "fix/0"]
    assert fix_errors == [("step_failed", {"attempt": 1, "exit_code": 3, "stderr_tail": "cannot fix\n"})]
    assert_every_record_validates(repo)


@posix_only
def test_a_fix_loop_without_progress_gives_up_after_max_fix_attempts(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    check = "import os, sys; sys.exit('still broken: try ' + os.environ['UET_ATTEMPT'])"
    spec = phase("PH-A", [], [], acceptance={"python": [check]})
    spec["on_failure"] = {"steps": [step("true")], "max_fix_attempts": 2, "max_same_error": 5}
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    assert rows(repo, "uet_runs")[0]["reason"] == (
        "acceptance/0 (python) failed: exit code 1, expected 0; fix loop gave up after 2 fix attempt(s)"
    )
    assert_verify_passes(repo)


def test_the_folders_a_planted_git_is_looked_for_in_include_every_parent_of_a_new_file() -> None:
    # A step's new a/b/c.txt makes a/b and a: a later step's a/.git is found only if a is a known folder.
    assert _with_parents({"a/b", "x", "a/b/c"}) == {"a", "a/b", "a/b/c", "x"}
    assert _with_parents(set()) == set()


def test_the_patch_is_of_what_the_fix_steps_left_not_of_what_the_steps_left(tmp_path: Path) -> None:
    # The patch and commit of the steps' tree are started while the acceptance checks run; a fix changes the tree,
    # so they must be made again for the fixed one (and its dependant must start from the fixed one too).
    repo = make_repo(tmp_path / "repo")
    first = phase("PH-A", [], [step("echo 1 > out.txt")], create=["out.txt"], acceptance={"sh": ["grep -qx 2 out.txt"]})
    first["on_failure"] = {"steps": [step("echo 2 > out.txt")], "max_fix_attempts": 1}
    second = phase("PH-B", ["PH-A"], [step("cat out.txt > copy.txt")], create=["copy.txt"], acceptance={"sh": ["true"]})
    write(tmp_path / "specs", first, second)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "out.txt").read_text() == "2\n"
    assert (repo / "copy.txt").read_text() == "2\n"
    patches = {entry["workstream_id"]: (repo / entry["path"]).read_text() for entry in rows(repo, "patch_ledger")}
    assert "+2\n" in patches["ws-ph-a"] and "+1\n" not in patches["ws-ph-a"]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@posix_only
def test_a_fix_step_outside_the_file_scope_fails_the_workstream(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", CALC_REPO)
    spec = phase("PH-A", [], [], modify=["core/calc.py"], acceptance={"sh": [PYTEST]})
    spec["on_failure"] = {"steps": [step("echo x > stray.txt")]}
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    assert rows(repo, "uet_runs")[0]["reason"] == (
        "file scope violated: stray.txt: added, but it is outside the file scope (not under create or modify)"
    )
    assert tracked_and_untracked(repo) == sorted(CALC_REPO)
    assert_verify_passes(repo)


PLUGINS = """
from uet_engine.detection.plugin_kit import finding

class Raising:
    def matches(self, request, result):
        return True
    def parse(self, request, result):
        raise RuntimeError("plugin exploded")

class Counting:
    def matches(self, request, result):
        return "BOOM" in result.stderr
    def parse(self, request, result):
        said = "the output says BOOM"
        return [finding(request, result, said, tool="boom", path="boom.txt", line=1, category="runtime")]
"""


def plugin_env(tmp_path: Path) -> dict[str, str]:
    folder = tmp_path / "plugins"
    dist = folder / "myplugins-1.0.dist-info"
    dist.mkdir(parents=True)
    (folder / "myplugins.py").write_text(PLUGINS, encoding="utf-8")
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugins\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[uet.error_plugins]\nraising = myplugins:Raising\ncounting = myplugins:Counting\nmissing = myplugins:Nope\n",
        encoding="utf-8",
    )
    return {"PYTHONPATH": os.pathsep.join(p for p in [str(folder), os.environ.get("PYTHONPATH", "")] if p)}


@posix_only
def test_a_raising_plugin_is_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo BOOM >&2; exit 5")], create=["a.txt"]),
        phase("PH-B", [], [step("echo b > b.txt")], create=["b.txt"]),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), env=plugin_env(tmp_path))
    assert done.code == 1
    run_id = only_run_id(repo)
    assert statuses(repo, run_id) == {"ws-ph-a": "failed", "ws-ph-b": "succeeded"}
    seen: list[tuple[Any, ...]] = [
        (e["error_type"], e.get("workstream_id"), e.get("plugin") or (e.get("context") or {}).get("plugin"))
        for e in rows(repo, "error_events")
    ]
    assert seen == [
        ("plugin_failed", None, None),  # the entry point that cannot be loaded, once for the run
        ("step_failed", "ws-ph-a", None),
        ("step_failed", "ws-ph-a", "counting"),
        ("plugin_failed", "ws-ph-a", "raising"),
    ]
    errors = rows(repo, "error_events")
    assert errors[0]["message"].startswith("error plugin missing (myplugins:Nope) cannot be loaded: AttributeError")
    assert errors[3]["message"] == (
        "error plugin raising failed on step/0: RuntimeError: plugin exploded (its findings are missing; "
        "the raw output is kept in the attempt)"
    )
    assert (errors[2]["path"], errors[2]["line"], errors[2]["tool"]) == ("boom.txt", 1, "boom")
    failed = [a for a in rows(repo, "step_attempts") if a["workstream_id"] == "ws-ph-a"]
    assert [a["result"]["stderr"] for a in failed] == ["BOOM\n"]  # the raw output is kept
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@pytest.mark.parametrize(
    ("where", "value", "problem"),
    [
        ("step", {"max_attempts": "two"}, '19:19: $.steps[0].retry.max_attempts: expected integer, got string "two"'),
        (
            "step",
            {"max_attempts": 2, "pause": 1},
            "20:5: $.steps[0].retry.pause: unknown field 'pause' (allowed: delay_s, max_attempts)",
        ),
        (
            "on_failure",
            {"steps": [{"operation_kind": "EXEC-A", "tool": "sh"}]},
            "20:5: $.on_failure.steps[0]: a sh step needs `run`: the command (or code) to execute",
        ),
        ("on_failure", {"steps": "fix.sh"}, '19:10: $.on_failure.steps: expected array, got string "fix.sh"'),
        ("step", {"max_attempts": 0}, "19:19: $.steps[0].retry.max_attempts: 0 is less than the minimum of 1"),
        ("on_failure", {"steps": []}, "19:10: $.on_failure.steps: [] should be non-empty"),
    ],
)
def test_retry_and_on_failure_of_the_wrong_shape_are_located_schema_errors(
    tmp_path: Path, where: str, value: Any, problem: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    spec = phase("PH-A", [], [step("true")])
    if where == "step":
        spec["steps"][0]["retry"] = value
    else:
        spec["on_failure"] = value
    write(tmp_path / "specs", spec)
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    assert done.stderr.splitlines()[0] == f"{tmp_path / 'specs' / 'PH-A.yaml'}:{problem}"
    assert done.stderr.splitlines()[-1] == f"uet run: 1 problem(s) in {tmp_path / 'specs'}; nothing run"
    assert not (repo / ".runs").exists()


def templated_spec(**acceptance: object) -> PhaseSpec:
    data = spec("PH-01")
    data.update(template_id="python-module", pattern_id="PAT-python-module", acceptance=acceptance)
    return uet_contracts.validate(data, PhaseSpec)


def test_a_templated_spec_carries_its_origin_into_every_request() -> None:
    checks = ["true", {"run": "pytest", "success_pattern": "passed", "failure_pattern": "^FAILED"}]
    steps, tasks, _ = tasks_of("run-1", templated_spec(sh=checks))
    assert steps == []
    origin = {"template_id": "python-module", "pattern_id": "PAT-python-module"}
    where = {"workstream_id": "ws-ph-01", "phase_id": "PH-01"}  # every request names its workstream and phase
    assert [t.request.context for t in tasks] == [
        {"task_id": f"acceptance/{i}", "attempt": 1, **where, **origin} for i in (0, 1)
    ]
    assert (tasks[1].success_pattern, tasks[1].failure_pattern) == ("passed", "^FAILED")
    (_, (plain,), _) = tasks_of("run-1", uet_contracts.validate(spec("PH-02"), PhaseSpec))
    assert plain.request.context == {
        "task_id": "acceptance/0",
        "attempt": 1,
        "workstream_id": "ws-ph-02",
        "phase_id": "PH-02",
    }


def test_an_unresolved_verify_check_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^acceptance check 'verify: pytest-green' was not resolved into a command$"):
        tasks_of("run-1", templated_spec(sh=[{"verify": "pytest-green"}]))
