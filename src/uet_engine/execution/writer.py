"""The run's single writer: every write to the run store, the audit log, the patch ledger and the user's tree.

Why one object: the saving invariant (a workstream is never ``succeeded`` without its attempts, events,
patch row, patch file and audit lines) depends on the *order* of those writes, and on nobody else
writing in between. The coordinator decides; this writer carries each decision out in the order that
keeps the records true at every instant, so a crash at any point leaves records a later run can
recover from. Only the coordinator's thread calls it.

The order on success: the patch file (atomic) and its ledger row, the step results that contributed to it
naming it (``patch_id``), ``patch_captured``, the check that
the patch applies to the user's tree, ``succeeded``, the patch applied, ``patch_applied``. So the
user's tree holds exactly the workstreams that succeeded, and a failed one leaves nothing behind.

Durability (``--durability``): with ``full`` the patch file and the final audit line of each workstream
are fsynced as it ends, and its final state is committed at SQLite's ``synchronous=FULL``. With ``normal``
(the default) nothing is fsynced per workstream: every write is complete in the operating system's cache,
in the order above, before the next one starts, so a crash of
the engine (kill -9) at any instant leaves the same records ``full`` would; only a power loss or a kernel
crash can lose the last moments, as it can the store's own commits (SQLite WAL, ``synchronous=NORMAL``).
``close`` makes everything durable at the end of the run: the patch files and their folder, the audit log
and the store (a checkpoint).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from uet_contracts import DurabilityMode, ErrorEvent, ExecutionLog, PatchLedgerEntry, RunRecord, RunStatus, StepAttempt
from uet_engine import clock
from uet_engine.detection.events import stamp
from uet_engine.errors import GitError, RunRefused
from uet_engine.execution import isolation
from uet_engine.execution.guard import Guard
from uet_engine.execution.records import audit_line, patch_conflict, task_line
from uet_engine.execution.selection import Reuse
from uet_engine.execution.worker import Finished
from uet_engine.saving import ledger
from uet_engine.saving.error_log import ErrorLog
from uet_engine.saving.store import RunStore


@dataclass(frozen=True)
class Landed:
    """What became of a workstream the worker reported as succeeded.

    ``entry`` is its patch when the success stands (``record`` succeeded), None when the patch no longer
    applies (``record`` failed). ``problem`` names what a person must finish by hand, if anything.
    """

    record: RunRecord
    entry: PatchLedgerEntry | None
    problem: str | None = None
    errors: tuple[ErrorEvent, ...] = ()  # the error events written on the way (a patch that does not apply)


class RunWriter:
    """Writes one run's records and lands its patches; see the module docstring for the order."""

    def __init__(self, root: Path, run_id: str, store: RunStore, durability: DurabilityMode = "full") -> None:
        self.root = root
        self.run_id = run_id
        self.store = store
        self.durable = durability == "full"
        store.sync_final = self.durable
        if store.audit is not None:
            store.audit.sync_each = self.durable
        self.error_log = ErrorLog(root)
        self.guard: Guard | None = None  # set when nothing confines the commands: told of every patch applied
        # patch_id -> its entry, its file's path and the file's last stamp (None: to be read at the next check)
        self._landed: dict[str, tuple[PatchLedgerEntry, str, ledger.Stamp | None]] = {}
        store.foreign_writes()  # the baseline: from now on, a commit by any other connection is noticed

    def close(self) -> None:
        """The end of the writer's run: with ``normal`` durability, everything it wrote is made durable now."""
        try:
            if not self.durable:
                ledger.sync_files(self.root, [entry for entry, _, _ in self._landed.values()])
                self.store.sync()
        finally:
            self.error_log.close()

    def records_changed(self, *, read: bool = False) -> list[str]:
        """What changed in the run's records that this writer did not write: the store, the audit log, the
        patch files of this run.

        A patch file is compared by its stamp (``clock.file_stamp``: no write leaves it as it was), so a check
        costs one ``stat`` per patch, not a read; the bytes are read and hashed when the stamp moved or is not
        yet settled (a file changed in the last two seconds), and for every patch with ``read`` (the run's end).
        """
        found = []
        if self.store.foreign_writes():
            found.append(f"{self.store.path.relative_to(self.root).as_posix()} (written by another process)")
        if self.store.audit is not None:
            why = self.store.audit.tampered()
            if why:
                found.append(why)
        for patch_id, (entry, path, stamped) in self._landed.items():
            if not read and stamped is not None:  # the common case, once per patch per check: one stat, no more
                try:
                    info = os.stat(path)
                except OSError:
                    pass  # gone: read below, which names it
                else:
                    if clock.stamp_of(info) == stamped:
                        continue
            fresh = ledger.file_stamp(path)  # before the read: a write after it moves the stamp
            problems = ledger.file_problems(self.root, entry)
            if not problems:
                self._landed[patch_id] = (entry, path, fresh)
            found += [f"{entry.path} ({problem})" for problem in problems]
        return found

    # -- the start of a run -------------------------------------------------------------------------

    def bring_reused_into_tree(self, reused: dict[str, Reuse], order: Sequence[str]) -> list[str]:
        """Apply reused successes whose patch never reached the tree (the engine died first); their phases.

        ``RunRefused`` when such a patch is damaged or no longer applies: nothing of the run has started.
        """
        brought: list[str] = []
        for phase in order:
            reuse = reused[phase]
            if reuse.applied or reuse.entry is None:
                continue
            patch = ledger.patch_path(self.root, reuse.entry)
            if ledger.file_problems(self.root, reuse.entry):
                raise RunRefused(f"cannot reuse {reuse.record.workstream_id}: its patch {reuse.entry.path} is damaged")
            if not isolation.is_applied(self.root, patch):
                try:
                    isolation.apply_to_tree(self.root, patch)
                except GitError as exc:
                    raise RunRefused(
                        f"cannot reuse {reuse.record.workstream_id}: its patch {reuse.entry.path} does not apply "
                        f"to the working tree ({exc})"
                    ) from None
            brought.append(phase)
        return brought

    def queue(self, records: list[RunRecord]) -> None:
        self.store.queue(self.run_id, records)

    def run_started(self, message: str, brought: Sequence[tuple[str, PatchLedgerEntry]]) -> None:
        """``run_started`` (event and audit line), then ``patch_applied`` for each reused patch brought in."""
        self.store.event(self.run_id, "run_started", message=message)
        self.store.audit_note(audit_line(self.run_id, "run.started", "info", message))
        for workstream_id, entry in brought:
            self.store.event(
                self.run_id, "patch_applied", workstream_id=workstream_id, message=f"{entry.path} (reused)"
            )

    # -- during a run -------------------------------------------------------------------------------

    def status(self, workstream_id: str, to_status: RunStatus, reason: str | None = None) -> RunRecord:
        """A status change that needs no other record (running, skipped, cancelled)."""
        return self.store.transition(self.run_id, workstream_id, to_status, reason=reason)

    def attempt(self, attempt: StepAttempt) -> None:
        """A try of a step, check or fix step that started (no result yet) or ended, with its audit line and
        timeline event.

        The audit line goes first: a crash in between leaves a line without its row (its workstream is then
        marked crashed), never a row without its line. It rides on the next durable line's fsync. (Its
        ExecutionLog row is written by the built-in hook ``detection.hooks.ExecutionLogHook``, through
        ``execution_log``, once this returns.) The row and its event commit together.
        """
        self.store.audit_note(task_line(attempt), durable=False)
        task = f"{attempt.kind}/{attempt.index}"
        if attempt.attempt > 1:
            task += f" attempt {attempt.attempt}"
        if attempt.result is None:
            self.store.add_attempt(attempt, event_type="step_started", message=task)
            return
        outcome = "ok" if attempt.result.success else (attempt.result.error or "failed")
        self.store.add_attempt(attempt, event_type="step_finished", message=f"{task}: {outcome}")

    def execution_log(self, log: ExecutionLog) -> None:
        """One ExecutionLog row (the built-in hook's sink)."""
        self.store.add_execution_log(log)

    def error(self, event: ErrorEvent) -> ErrorEvent:
        """An error event, fingerprinted: its store row, then its line in ``.runs/errors.jsonl`` (and the
        ``scope_violation`` timeline event of a scope error). Returns the event as written."""
        event = stamp(event)
        self.store.add_error(event)
        self.error_log.append(event)
        if event.error_type == "scope_violation" and event.workstream_id is not None:
            self.store.event(self.run_id, "scope_violation", workstream_id=event.workstream_id, message=event.message)
        return event

    def failed(
        self, workstream_id: str, status: RunStatus, reason: str | None, errors: Sequence[ErrorEvent]
    ) -> RunRecord:
        """A workstream that did not succeed: its error events (and scope events), then its final status."""
        for error in errors:
            self.error(error)
        return self.store.transition(self.run_id, workstream_id, status, reason=reason)

    def succeeded(self, phase: str, finished: Finished, base_commit: str, inputs_sha256: str | None = None) -> Landed:
        """Record a success (with its inputs key) and land its patch in the user's tree, in the module doc's order.

        Its warnings (failed optional checks) are recorded first, and its reason says what they were.
        """
        ws = finished.workstream_id
        warnings = tuple(self.error(warning) for warning in finished.errors)
        entry = ledger.write_patch(
            self.root,
            run_id=self.run_id,
            workstream_id=ws,
            phase_id=phase,
            patch=finished.patch,
            files=list(finished.changes),
            base_commit=base_commit,
            durable=self.durable,
        )
        self.store.add_patch(entry)  # checks the file's size and hash
        path = str(ledger.patch_path(self.root, entry))
        self._landed[entry.patch_id] = (entry, path, None)  # just written: read at the next check, stamped then
        self._link_results(ws, entry.patch_id)
        summary = f"{entry.path}: {entry.size_bytes} bytes, {len(entry.files)} file(s)"
        self.store.event(self.run_id, "patch_captured", workstream_id=ws, message=summary)
        # Made durable by the fsync of the workstream's final-state line, which follows it.
        self.store.audit_note(
            audit_line(self.run_id, "patch.captured", "info", summary, workstream_id=ws, patch_id=entry.patch_id),
            durable=False,
        )
        patch = ledger.patch_path(self.root, entry)
        if not isolation.applies(self.root, patch):
            why = f"its patch {entry.path} does not apply to the working tree (changed during the run?)"
            conflict = self.error(patch_conflict(self.run_id, phase, entry, why))
            record = self.failed(ws, "failed", why, [])
            return Landed(record, None, errors=(*warnings, conflict))
        record = self.store.transition(
            self.run_id, ws, "succeeded", reason=finished.reason, patch_id=entry.patch_id, inputs_sha256=inputs_sha256
        )
        try:
            with self.guard.engine_writes(finished.changes) if self.guard else contextlib.nullcontext():
                isolation.apply_to_tree(self.root, patch)
        except GitError as exc:  # the tree changed between the check and now
            why = f"succeeded, but its patch {entry.path} could not be applied to the working tree: {exc}"
            conflict = self.error(patch_conflict(self.run_id, phase, entry, why))
            fix = f"{ws}: {why}; apply it by hand with: git apply {entry.path}"
            return Landed(record, entry, fix, errors=(*warnings, conflict))
        self.store.event(self.run_id, "patch_applied", workstream_id=ws, message=entry.path)
        return Landed(record, entry, errors=warnings)

    def _link_results(self, workstream_id: str, patch_id: str) -> None:
        """Each step result that touched files names the patch its changes went into (``patch_id``)."""
        for attempt in self.store.attempts(self.run_id, workstream_id):
            result = attempt.result
            if attempt.kind == "step" and result is not None and result.success and result.files_touched:
                self.store.add_attempt(replace(attempt, result=replace(result, patch_id=patch_id)))

    # -- the end of a run ---------------------------------------------------------------------------

    def run_finished(self, summary: str, *, cancelled: bool, succeeded: bool) -> None:
        """``run_cancelled`` when interrupted, then ``run_finished`` (event and durable audit line)."""
        if cancelled:
            self.store.event(self.run_id, "run_cancelled", message="interrupted by a signal")
        self.store.event(self.run_id, "run_finished", message=summary)
        self.store.audit_note(audit_line(self.run_id, "run.finished", "success" if succeeded else "failure", summary))
