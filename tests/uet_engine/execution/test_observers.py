"""Hooks in real runs: ``uet run --hook`` against real repositories and real subprocesses.

A hook module is written into a folder on the subprocess's PYTHONPATH; the recorder hook appends one
JSON line per call to the file named by ``HOOK_LOG``, so what it saw is read back exactly.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from tests.uet_engine.cli.test_run import (
    Done,
    assert_every_record_validates,
    assert_verify_passes,
    make_repo,
    only_run_id,
    phase,
    rows,
    statuses,
    step,
    uet,
)
from tests.uet_engine.phase_specs import write
from uet_contracts import ErrorEvent, ExecutionRequest, ExecutionResult, RunRecord

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shells, which Windows lacks: run these tests on Linux or macOS"
)

HOOKS = """
import json, os, time
from uet_engine.detection.hooks import BaseHook

def _log(method, payload):
    with open(os.environ["HOOK_LOG"], "a", encoding="utf-8") as out:
        out.write(json.dumps({"method": method, **payload}) + "\\n")

class Recorder(BaseHook):
    def on_run_start(self, run):
        _log("on_run_start", {"record": uet_dict(run)})
    def on_task_start(self, request):
        _log("on_task_start", {"request": uet_dict(request)})
    def on_task_complete(self, request, result):
        _log("on_task_complete", {"request": uet_dict(request), "result": uet_dict(result)})
    def on_error(self, event):
        _log("on_error", {"event": uet_dict(event)})
    def on_run_end(self, run):
        _log("on_run_end", {"record": uet_dict(run)})

def uet_dict(instance):
    import uet_contracts
    return uet_contracts.to_dict(instance)

class Raiser(BaseHook):
    def on_task_start(self, request):
        raise RuntimeError("hook exploded")

class Sleeper(BaseHook):
    def on_run_start(self, run):
        time.sleep(30)

def make_recorder():
    return Recorder()

class NotAHook:
    def on_task_start(self, request):
        pass

def broken_factory():
    raise ValueError("no hook today")

class Leaky(BaseHook):
    def on_run_start(self, run):
        raise RuntimeError("cannot log in with " + os.environ["DEPLOY_TOKEN"])
"""


def hook_env(tmp_path: Path) -> dict[str, str]:
    """A folder with the hook module on PYTHONPATH, and HOOK_LOG naming the recorder's file."""
    folder = tmp_path / "hookmods"
    folder.mkdir(exist_ok=True)
    (folder / "myhooks.py").write_text(HOOKS, encoding="utf-8")
    path = os.pathsep.join(p for p in [str(folder), os.environ.get("PYTHONPATH", "")] if p)
    return {"PYTHONPATH": path, "HOOK_LOG": str(tmp_path / "hook.jsonl")}


def calls(tmp_path: Path) -> list[dict[str, Any]]:
    log = tmp_path / "hook.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def flaky_specs(tmp_path: Path) -> Path:
    """PH-A: one step that fails on its first try and succeeds on its second; one acceptance check."""
    write(
        tmp_path / "specs",
        phase(
            "PH-A",
            [],
            [step('echo "$UET_ATTEMPT" > a.txt; test "$UET_ATTEMPT" -ge 2', retry={"max_attempts": 2})],
            create=["a.txt"],
        ),
    )
    return tmp_path / "specs"


def run_with(tmp_path: Path, *hooks: str, budget: str | None = None) -> tuple[Path, Done]:
    repo = make_repo(tmp_path / "repo")
    args = ["run", str(flaky_specs(tmp_path))]
    for hook in hooks:
        args += ["--hook", hook]
    if budget is not None:
        args += ["--hook-budget", budget]
    return repo, uet(repo, *args, env=hook_env(tmp_path))


def test_a_hook_sees_one_start_and_one_complete_per_attempt(tmp_path: Path) -> None:
    repo, done = run_with(tmp_path, "myhooks:Recorder")
    assert done.code == 0, done.stdout + done.stderr
    seen = calls(tmp_path)
    tasks = [
        (c["method"], c["request"]["context"]["task_id"], c["request"]["context"]["attempt"])
        for c in seen
        if c["method"] in ("on_task_start", "on_task_complete")
    ]
    assert tasks == [
        ("on_task_start", "step/0", 1),
        ("on_task_complete", "step/0", 1),
        ("on_task_start", "step/0", 2),
        ("on_task_complete", "step/0", 2),
        ("on_task_start", "acceptance/0", 1),
        ("on_task_complete", "acceptance/0", 1),
    ]
    assert [c["method"] for c in seen if "record" in c] == ["on_run_start", "on_run_end"]
    assert [c["record"]["status"] for c in seen if "record" in c] == ["running", "succeeded"]
    # Every argument is a contract instance as recorded: each validates, and the completes match the stored tries.
    for call in seen:
        if "request" in call:
            uet_contracts.validate(call["request"], ExecutionRequest)
        if "result" in call:
            uet_contracts.validate(call["result"], ExecutionResult)
        if "record" in call:
            uet_contracts.validate(call["record"], RunRecord)
        if "event" in call:
            uet_contracts.validate(call["event"], ErrorEvent)
    # (A stored step result names the patch it went into: the patch is made after the hook heard of the try.)
    stored = [{k: v for k, v in a["result"].items() if k != "patch_id"} for a in rows(repo, "step_attempts")]
    assert [c["result"] for c in seen if c["method"] == "on_task_complete"] == stored
    # The failed first try is an error the hook heard of, after it was recorded.
    errors = rows(repo, "error_events")
    assert [c["event"] for c in seen if c["method"] == "on_error"] == errors
    assert [(e["error_type"], e["context"]["attempt"]) for e in errors] == [("step_failed", 1)]
    assert_verify_passes(repo)


def test_a_factory_is_a_hook_too(tmp_path: Path) -> None:
    _, done = run_with(tmp_path, "myhooks:make_recorder")
    assert done.code == 0, done.stdout + done.stderr
    assert sum(c["method"] == "on_task_complete" for c in calls(tmp_path)) == 3


def test_a_raising_hook_and_a_sleeping_hook_change_no_outcome(tmp_path: Path) -> None:
    repo, done = run_with(tmp_path, "myhooks:Raiser", "myhooks:Sleeper", "myhooks:Recorder", budget="0.5")
    assert done.code == 0, done.stdout + done.stderr
    run_id = only_run_id(repo)
    assert statuses(repo, run_id) == {"ws-ph-a": "succeeded"}
    hook_errors = [e for e in rows(repo, "error_events") if e["error_type"].startswith("hook_")]
    assert [(e["error_type"], e["error_code"], e["context"]["hook"], e["context"]["method"]) for e in hook_errors] == [
        ("hook_timeout", "UET-E112", "myhooks:Sleeper", "on_run_start"),
        ("hook_failed", "UET-E111", "myhooks:Raiser", "on_task_start"),
    ]
    assert hook_errors[0]["message"] == (
        "hook myhooks:Sleeper took longer than its 0.5 s budget in on_run_start; disabled for the rest of the run"
    )
    assert hook_errors[1]["message"] == (
        "hook myhooks:Raiser raised RuntimeError in on_task_start: hook exploded; disabled for the rest of the run"
    )
    assert all(e["fingerprint"].startswith("sha256:") for e in hook_errors)
    # Disabled after their first failure: each failed once; the healthy hook heard of both failures.
    heard = [c["event"]["error_type"] for c in calls(tmp_path) if c["method"] == "on_error"]
    assert heard == ["hook_timeout", "hook_failed", "step_failed"]
    # The execution log (the built-in hook) is unaffected: one row per finished try.
    assert len(rows(repo, "execution_logs")) == 3
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("myhooks", "uet run: --hook 'myhooks': expected MODULE:ATTR, e.g. mypackage.hooks:Recorder"),
        (
            "nosuchmodule:Hook",
            "uet run: --hook nosuchmodule:Hook: cannot import nosuchmodule: "
            "ModuleNotFoundError: No module named 'nosuchmodule'",
        ),
        ("myhooks:Missing", "uet run: --hook myhooks:Missing: myhooks has no attribute Missing"),
        (
            "myhooks:NotAHook",
            "uet run: hook myhooks:NotAHook is not a Hook: it has no on_run_start, on_task_complete, on_error, "
            "on_run_end method(s) (subclass uet_engine.detection.hooks.BaseHook to implement only some)",
        ),
        (
            "myhooks:broken_factory",
            "uet run: hook myhooks:broken_factory: calling it to make the hook raised ValueError: no hook today",
        ),
    ],
)
def test_a_bad_hook_exits_2_naming_it_and_runs_nothing(tmp_path: Path, hook: str, message: str) -> None:
    repo, done = run_with(tmp_path, "myhooks:Recorder", hook)
    assert (done.code, done.stdout, done.stderr) == (2, "", message + "\n")
    assert not (repo / ".runs").exists()
    assert calls(tmp_path) == []


def test_an_entry_point_hook_is_found_without_being_named(tmp_path: Path) -> None:
    env = hook_env(tmp_path)
    dist = tmp_path / "hookmods" / "myhooks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: myhooks\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[uet.hooks]\nrecorder = myhooks:Recorder\n", encoding="utf-8")
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(flaky_specs(tmp_path)), env=env)
    assert done.code == 0, done.stdout + done.stderr
    assert sum(c["method"] == "on_task_start" for c in calls(tmp_path)) == 3


@pytest.mark.parametrize("budget", ["0", "-1", "nan", "inf", "3601"])
def test_a_hook_budget_out_of_range_is_a_usage_error(tmp_path: Path, budget: str) -> None:
    repo, done = run_with(tmp_path, "myhooks:Recorder", budget=budget)
    assert (done.code, done.stdout) == (2, "")
    assert done.stderr == "uet run: --hook-budget must be more than 0 and at most 3600 seconds\n"
    assert not (repo / ".runs").exists()


def test_a_secret_in_a_hook_s_exception_is_redacted_in_its_error_event(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    secret = "tok-4b1d-very-secret"
    env = {**hook_env(tmp_path), "DEPLOY_TOKEN": secret}
    done = uet(repo, "run", str(flaky_specs(tmp_path)), "--hook", "myhooks:Leaky", env=env)
    assert done.code == 0, done.stdout + done.stderr
    (event,) = [e for e in rows(repo, "error_events") if e["error_type"] == "hook_failed"]
    assert event["message"] == (
        "hook myhooks:Leaky raised RuntimeError in on_run_start: cannot log in with ***; "
        "disabled for the rest of the run"
    )
    for path in (repo / ".runs").rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
