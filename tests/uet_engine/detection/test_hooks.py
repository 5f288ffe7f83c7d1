"""Hooks without a run: loading ``MODULE:ATTR`` and entry points, and calling them under a budget."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from tests.uet_engine.run_records import RUN, attempt, record
from uet_contracts import ErrorEvent, ExecutionLog, ExecutionRequest, ExecutionResult, RunRecord
from uet_engine.detection.execution_log import execution_log
from uet_engine.detection.hooks import (
    HOOK_METHODS,
    BaseHook,
    ExecutionLogHook,
    Hook,
    HookSet,
    NamedHook,
    installed_hooks,
    load_hook,
)
from uet_engine.errors import BadHook


class Recorder(BaseHook):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_run_start(self, run: RunRecord) -> None:
        self.seen.append(("on_run_start", run.workstream_id))

    def on_task_complete(self, request: ExecutionRequest, result: ExecutionResult) -> None:
        self.seen.append(("on_task_complete", request.context["task_id"]))


class Raising(BaseHook):
    def on_run_start(self, run: RunRecord) -> None:
        raise OSError("disk full")


class Stuck(BaseHook):
    def __init__(self) -> None:
        self.release = threading.Event()

    def on_run_start(self, run: RunRecord) -> None:
        self.release.wait()


def test_base_hook_is_a_hook_and_does_nothing() -> None:
    assert isinstance(BaseHook(), Hook)
    assert HOOK_METHODS == ("on_run_start", "on_task_start", "on_task_complete", "on_error", "on_run_end")


def test_a_raising_hook_is_reported_once_then_disabled() -> None:
    good, bad = Recorder(), Raising()
    hooks = HookSet([NamedHook("bad", bad), NamedHook("good", good)], RUN)
    failures = hooks.call("on_run_start", record(RUN, "ws-a"))
    assert [(e.error_type, e.error_code, e.workstream_id, e.context) for e in failures] == [
        ("hook_failed", "UET-E111", "ws-a", {"hook": "bad", "method": "on_run_start", "budget_s": 2.0})
    ]
    assert failures[0].message == "hook bad raised OSError in on_run_start: disk full; disabled for the rest of the run"
    uet_contracts.check(uet_contracts.to_dict(failures[0]), ErrorEvent)
    assert hooks.call("on_run_start", record(RUN, "ws-b")) == []
    assert good.seen == [("on_run_start", "ws-a"), ("on_run_start", "ws-b")]
    assert list(hooks.disabled) == ["bad"]


def test_a_hook_past_its_budget_is_abandoned_and_disabled() -> None:
    stuck = Stuck()
    hooks = HookSet([NamedHook("stuck", stuck)], RUN, budget_s=0.05)
    try:
        failures = hooks.call("on_run_start", record(RUN, "ws-a"))
        assert [(e.error_type, e.error_code, e.category) for e in failures] == [
            ("hook_timeout", "UET-E112", "infrastructure")
        ]
        assert failures[0].message == (
            "hook stuck took longer than its 0.05 s budget in on_run_start; disabled for the rest of the run"
        )
        assert hooks.call("on_run_start", record(RUN, "ws-b")) == []  # not called again: it is disabled
    finally:
        stuck.release.set()


def test_a_task_hook_failure_names_the_task_and_attempt() -> None:
    class Bad(BaseHook):
        def on_task_complete(self, request: ExecutionRequest, result: ExecutionResult) -> None:
            raise ValueError("nope")

    done = attempt(RUN, "ws-a", number=2)
    assert done.result is not None
    (failure,) = HookSet([NamedHook("m:Bad", Bad())], RUN).call("on_task_complete", done.request, done.result)
    assert (failure.run_id, failure.workstream_id, failure.context) == (
        RUN,
        "ws-a",
        {"hook": "m:Bad", "method": "on_task_complete", "budget_s": 2.0, "attempt": 2},  # no task_id: left out
    )


def test_an_inline_hook_runs_on_the_calling_thread_without_a_budget_but_not_without_failing() -> None:
    threads: list[str] = []

    class Slow(BaseHook):
        def on_run_start(self, run: RunRecord) -> None:
            threads.append(threading.current_thread().name)
            time.sleep(0.06)

        def on_run_end(self, run: RunRecord) -> None:
            raise RuntimeError("store gone")

    hooks = HookSet([NamedHook("builtin", Slow(), inline=True)], RUN, budget_s=0.01)
    assert hooks.call("on_run_start", record(RUN, "ws-a")) == []
    assert threads == [threading.current_thread().name]
    (failure,) = hooks.call("on_run_end", record(RUN, "ws-a"))
    assert (failure.error_type, list(hooks.disabled)) == ("hook_failed", ["builtin"])


def test_the_execution_log_hook_writes_the_row_the_writer_wrote() -> None:
    rows: list[ExecutionLog] = []
    done = attempt(RUN, "ws-a", kind="acceptance", index=1, number=2)
    done.request.context["task_id"] = "acceptance/1"
    assert done.result is not None
    ExecutionLogHook(rows.append).on_task_complete(done.request, done.result)
    assert rows == [execution_log(done)]


HOOK_MODULE = """
from uet_engine.detection.hooks import BaseHook

class Good(BaseHook):
    pass

def factory():
    return Good()

good = Good()

class Half:
    def on_error(self, event):
        pass

def raising():
    raise RuntimeError("cannot make it")

value = 3
"""


@pytest.fixture
def hook_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "hookmod_for_tests.py").write_text(HOOK_MODULE)
    (tmp_path / "hookmod_broken.py").write_text("raise ImportError('half installed')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "hookmod_for_tests"
    for name in ("hookmod_for_tests", "hookmod_broken"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("attr", ["Good", "factory", "good"])
def test_a_class_a_factory_or_an_object_is_loaded(hook_module: str, attr: str) -> None:
    named = load_hook(f"{hook_module}:{attr}")
    assert named.name == f"{hook_module}:{attr}" and isinstance(named.hook, Hook) and not named.inline


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("hookmod_for_tests", "--hook 'hookmod_for_tests': expected MODULE:ATTR, e.g. mypackage.hooks:Recorder"),
        (":Good", "--hook ':Good': expected MODULE:ATTR, e.g. mypackage.hooks:Recorder"),
        ("hookmod_broken:X", "--hook hookmod_broken:X: cannot import hookmod_broken: ImportError: half installed"),
        ("hookmod_for_tests:Nope", "--hook hookmod_for_tests:Nope: hookmod_for_tests has no attribute Nope"),
        (
            "hookmod_for_tests:Half",
            "hook hookmod_for_tests:Half is not a Hook: it has no on_run_start, on_task_start, on_task_complete, "
            "on_run_end method(s) (subclass uet_engine.detection.hooks.BaseHook to implement only some)",
        ),
        (
            "hookmod_for_tests:value",
            "hook hookmod_for_tests:value is not a Hook: it has no on_run_start, on_task_start, on_task_complete, "
            "on_error, on_run_end method(s) (subclass uet_engine.detection.hooks.BaseHook to implement only some)",
        ),
        (
            "hookmod_for_tests:raising",
            "hook hookmod_for_tests:raising: calling it to make the hook raised RuntimeError: cannot make it",
        ),
    ],
)
def test_what_cannot_be_a_hook_is_refused_naming_it(hook_module: str, spec: str, message: str) -> None:
    with pytest.raises(BadHook) as caught:
        load_hook(spec)
    assert str(caught.value) == message and caught.value.exit_code == 2


def test_entry_point_hooks_are_loaded_by_name(hook_module: str, tmp_path: Path) -> None:
    dist = tmp_path / "hookmod-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: hookmod\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[uet.hooks]\nzeta = {hook_module}:Good\nalpha = {hook_module}:factory\n")
    assert [h.name for h in installed_hooks()] == ["alpha", "zeta"]
    (dist / "entry_points.txt").write_text(f"[uet.hooks]\nbroken = {hook_module}:Missing\n")
    with pytest.raises(BadHook, match=r"^hook broken \(entry point hookmod_for_tests:Missing\): cannot load it: "):
        installed_hooks()
