"""The execution-log row of a finished attempt: valid, and signatures that follow the task's shape, not its values."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

import uet_contracts
from uet_contracts import ExecutionLog, ExecutionRequest, ExecutionResult, FileScope, Runner, StepAttempt
from uet_engine import clock
from uet_engine.detection.error_codes import CANCELLED, SH_MISSING
from uet_engine.detection.execution_log import (
    ACCEPTANCE_KIND,
    execution_log,
    exit_class,
    programs,
    scope_shape,
    task_signature,
    tools_used,
)

NOW = clock.utc_now()


def attempt(
    run: str = "touch a.py b",
    *,
    create: tuple[str, ...] = ("a.py", "b"),
    touched: tuple[str, ...] = ("a.py", "b"),
    kind: str = "step",
    success: bool = True,
    exit_code: int | None = 0,
    context: dict[str, object] | None = None,
    run_id: str = "run-1",
    **result: object,
) -> StepAttempt:
    request = ExecutionRequest(
        operation_kind="EXEC-ATOMIC-CREATE" if kind == "step" else ACCEPTANCE_KIND,
        tool="sh",
        run=run,
        file_scope=FileScope(create=list(create), modify=[], read_only=["docs/**"]),
        tools_used=["sh"],
        context=context or {},
        phase_id="PH-00",
    )
    outcome = ExecutionResult(
        success=success,
        exit_code=exit_code,
        stdout="",
        stderr="",
        files_touched=list(touched),
        started_at=NOW,
        finished_at=NOW,
        duration_s=0.25,
        **result,  # type: ignore[arg-type]
    )
    return StepAttempt(
        run_id=run_id,
        workstream_id="ws-a",
        kind=kind,  # type: ignore[arg-type]
        index=0,
        attempt=1,
        request=request,
        result=outcome,
    )


def sha(*parts: object) -> str:
    return "sha256:" + hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_execution_log_of_an_attempt_validates() -> None:
    log = execution_log(attempt())
    uet_contracts.validate(uet_contracts.to_dict(log), ExecutionLog)
    assert (log.file_types, log.tools_used, log.success, log.time_taken_seconds) == (
        [".py", "<none>"],
        ["sh", "touch"],
        True,
        0.25,
    )
    assert log.context == {
        "run_id": "run-1",
        "workstream_id": "ws-a",
        "phase_id": "PH-00",
        "task_id": "step/0",
        "attempt": 1,
    }


def test_the_input_signature_is_the_structure_written_out() -> None:
    shape = {"create": {".py": 1, "<none>": 1}, "modify": {}, "read_only": {"<none>": 1}, "forbidden_paths": {}}
    assert execution_log(attempt()).input_signature == sha("EXEC-ATOMIC-CREATE", "sh", shape, ["touch"])
    assert scope_shape(FileScope(create=["a.py", "src/*.py", "b"], modify=[], read_only=[], forbidden_paths=[])) == {
        "create": {".py": 2, "<none>": 1},
        "modify": {},
        "read_only": {},
        "forbidden_paths": {},
    }


def test_other_values_keep_the_signature_another_structure_changes_it() -> None:
    log = execution_log(attempt())
    same = [
        attempt(run="touch x.py y", create=("x.py", "y")),  # other names, same shape
        attempt(run_id="run-2"),
        attempt(run="touch   a.py b  # again"),
    ]
    assert {execution_log(a).input_signature for a in same} == {log.input_signature}
    other = [
        attempt(run="cp a.py b"),  # another program
        attempt(run="touch a.py b && git add -A"),  # one more program
        attempt(create=("a.py", "b.py")),  # another extension
        attempt(create=("a.py",)),  # another count
    ]
    signatures = {execution_log(a).input_signature for a in other}
    assert len(signatures) == 4 and log.input_signature not in signatures


def test_the_output_signature_is_the_outcome_shape() -> None:
    ok = execution_log(attempt())
    assert ok.output_signature == sha("ok", {".py": 1, "<none>": 1}, None)
    failed = execution_log(attempt(kind="acceptance", touched=(), success=False, exit_code=1, error="exit code 1"))
    assert failed.output_signature == sha("exit 1", {}, "UET-E102")
    assert failed.context["error_code"] == "UET-E102"
    assert failed.file_types == []


@pytest.mark.parametrize(
    ("exit_code", "more", "expected_class", "expected_code"),
    [
        (0, {"success": True}, "ok", None),
        (2, {}, "exit 2", "UET-E101"),
        (-9, {}, "signal", "UET-E101"),
        (-9, {"timed_out": True}, "timeout", "UET-E103"),
        (None, {"error": SH_MISSING}, "not started", "UET-E104"),
        (None, {"error": CANCELLED}, "not started", "UET-E107"),
    ],
)
def test_exit_class_and_error_code_of_each_outcome(
    exit_code: int | None, more: dict[str, object], expected_class: str, expected_code: str | None
) -> None:
    success = bool(more.pop("success", False))
    tried = attempt(success=success, exit_code=exit_code, touched=(), **more)
    assert tried.result is not None
    assert exit_class(tried.result) == expected_class
    assert execution_log(tried).context.get("error_code") == expected_code


def test_the_template_and_pattern_of_the_spec_are_carried_into_the_context() -> None:
    log = execution_log(attempt(context={"task_id": "step/0", "template_id": "python-module", "pattern_id": "PAT-x"}))
    assert (log.context["template_id"], log.context["pattern_id"]) == ("python-module", "PAT-x")
    assert "template_id" not in execution_log(attempt(context={"template_id": None})).context


def test_an_attempt_without_a_result_has_no_log() -> None:
    with pytest.raises(ValueError, match="has not finished"):
        execution_log(dataclasses.replace(attempt(), result=None))


@pytest.mark.parametrize(
    ("runner", "run", "expected"),
    [
        ("sh", "python -m pytest -q && ruff check src", ["python", "ruff"]),
        ("sh", "FOO=1 make test | tee log.txt; echo done", ["make", "tee", "echo"]),
        ("sh", "mkdir -p t\ncat > a.py <<'PY'\nfrom x import y\nPY\necho hi >> b", ["mkdir", "cat", "echo"]),
        ("sh", "cat <<-EOF > a\n\timport z\n\tEOF\nls", ["cat", "ls"]),
        ("sh", "if grep -q x f; then echo y; fi", ["grep", "echo"]),
        ("sh", "for f in a b; do cat $f; done", ["cat"]),
        ("sh", "/usr/bin/env python3 x.py || exit 1", ["env", "exit"]),
        ("sh", "(cd sub && make) & wait", ["cd", "make", "wait"]),
        ("sh", "echo 'unbalanced", ["echo"]),
        ("sh", "echo 'a && b' \"c | d\"", ["echo"]),
        ("sh", "ls # rm -rf; git push", ["ls"]),
        ("powershell", "Write-Output hi; C:\\tools\\x.exe -a | Out-Null", ["Write-Output", "x.exe", "Out-Null"]),
        ("python", "import subprocess; subprocess.run(['ls'])", []),
    ],
)
def test_programs_are_the_first_words_of_each_command(runner: Runner, run: str, expected: list[str]) -> None:
    assert programs(runner, run) == expected
    assert tools_used(runner, run) == sorted({runner, *expected})


def test_task_signature_is_what_the_log_computes() -> None:
    tried = attempt()
    request = tried.request
    assert execution_log(tried).input_signature == task_signature(
        request.operation_kind, request.tool, request.run, request.file_scope
    )
