"""Builds run-store contents for the persistence tests: contract records and whole workstream lifecycles."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from uet_contracts import ExecutionRequest, ExecutionResult, FileScope, PatchLedgerEntry, RunRecord, StepAttempt
from uet_engine.execution.records import task_line
from uet_engine.saving import ledger
from uet_engine.saving.store import RunStore

RUN = "run-20261125T101500000000Z-aaaaaa"
RUN2 = "run-20261125T111500000000Z-bbbbbb"
T0 = datetime(2026, 11, 25, 10, 15, tzinfo=UTC)
BASE = "0123456789abcdef0123456789abcdef01234567"
PATCH_DATA = b"+print('hi')\n"


def record(run_id: str, workstream_id: str, phase_id: str = "PH-01") -> RunRecord:
    """A queued RunRecord."""
    return RunRecord(
        run_id=run_id, workstream_id=workstream_id, phase_id=phase_id, status="queued", created_at=T0, updated_at=T0
    )


def attempt(
    run_id: str,
    workstream_id: str,
    *,
    kind: str = "step",
    index: int = 0,
    number: int = 1,
    success: bool | None = True,
    files: list[str] | None = None,
    patch_id: str | None = None,
) -> StepAttempt:
    """A StepAttempt; ``success=None`` leaves it without a result (still running)."""
    request = ExecutionRequest(
        operation_kind="EXEC-ATOMIC-CREATE",
        tool="sh",
        run="echo hi > a.py",
        file_scope=FileScope(create=["a.py"], modify=[], read_only=[]),
        tools_used=["sh"],
        context={"attempt": number},
        run_id=run_id,
        workstream_id=workstream_id,
    )
    result = None
    if success is not None:
        result = ExecutionResult(
            success=success,
            exit_code=0 if success else 1,
            stdout="hi\n",
            stderr="",
            files_touched=files or [],
            patch_id=patch_id,
            started_at=T0,
            finished_at=T0,
            duration_s=0.01,
        )
    return StepAttempt(
        run_id=run_id,
        workstream_id=workstream_id,
        kind=kind,  # type: ignore[arg-type]
        index=index,
        attempt=number,
        request=request,
        result=result,
    )


def save_patch(repo: Path, run_id: str, workstream_id: str, data: bytes = PATCH_DATA) -> PatchLedgerEntry:
    """Writes a workstream's patch file and returns its (not yet stored) ledger entry."""
    return ledger.write_patch(
        repo,
        run_id=run_id,
        workstream_id=workstream_id,
        phase_id="PH-01",
        patch=data,
        files=["a.py"],
        base_commit=BASE,
        created_at=T0,
    )


def add_attempt(store: RunStore, step: StepAttempt) -> None:
    """Records an attempt as the engine's writer does: its task audit line, then its row."""
    store.audit_note(task_line(step), durable=False)
    store.add_attempt(step)


def succeed(store: RunStore, run_id: str, workstream_id: str, *, changes: bool = True) -> None:
    """Takes a queued workstream through a backed success: attempt (started, then ended, with its task audit
    lines), patch (when it changed files; the step's result then names it), status."""
    store.transition(run_id, workstream_id, "running")
    add_attempt(store, attempt(run_id, workstream_id, success=None))
    patch_id = None
    if changes:
        entry = save_patch(store.repo, run_id, workstream_id)
        patch_id = entry.patch_id
    add_attempt(store, attempt(run_id, workstream_id, files=["a.py"] if changes else [], patch_id=patch_id))
    if changes:
        store.add_patch(entry)
        store.event(run_id, "patch_captured", workstream_id=workstream_id)
    store.transition(run_id, workstream_id, "succeeded", patch_id=patch_id)


def write_forever(repo: str) -> None:
    """Child process of the kill -9 test: runs workstreams through the store until it is killed.

    Prints ``ready`` once the first workstream succeeded, so the parent knows records are being written.
    """
    with RunStore.open(Path(repo)) as store:
        run_id = RUN
        store.queue(run_id, [])
        store.event(run_id, "run_started")
        index = 0
        while True:
            workstream = f"ws-w{index}"
            store.queue(run_id, [record(run_id, workstream)])
            store.transition(run_id, workstream, "running")
            add_attempt(store, attempt(run_id, workstream, success=None))
            store.event(run_id, "step_started", workstream_id=workstream)
            entry = save_patch(store.repo, run_id, workstream)
            add_attempt(store, attempt(run_id, workstream, files=["a.py"], patch_id=entry.patch_id))
            store.add_patch(entry)
            store.transition(run_id, workstream, "succeeded", patch_id=entry.patch_id)
            if index == 0:
                print("ready", flush=True)
            index += 1


if __name__ == "__main__":
    write_forever(sys.argv[1])
