"""The execute stage: plan, select, run workstreams in dependency order, and record all of it.

Why this shape: an executor (``uet_engine.execution.executors``: a thread pool by default, or a Dask cluster) runs up
to ``jobs`` workstreams at once (``worker.run_workstream``, each in its own git worktree), and this module's
coordinator — the thread that called ``run`` — is the only one that writes: the run store, the audit log,
the patch ledger and the user's working tree. Workers report
through a queue, so records are written in one order by one writer and never interleave.

A workstream's life: queued → running → succeeded | failed | cancelled, or queued → skipped when a
prerequisite did not succeed (the reason names it). On success the coordinator writes the patch file
and its ledger row, checks that the patch applies to the user's tree, records ``succeeded``, applies the
patch and records ``patch_applied``. So at any moment the user's tree holds exactly the workstreams that
succeeded, applied in an order that respects their dependencies (a workstream finishes after its
prerequisites), and a failed workstream leaves nothing behind.

Selection: all phases by default; ``ws_ids`` picks workstreams plus (unless ``no_deps``) their
prerequisites that have not succeeded yet — a prerequisite whose last success (any earlier run) was
applied to the tree is reused, recorded as ``succeeded`` with ``reused_from``. ``resume`` reruns what of
an earlier run did not succeed and reuses its successes (Dagster's rule). A reused success whose patch
was never applied to the tree (the engine died in between) is applied when the run starts.

Interrupts (SIGINT, SIGTERM): every running process group is killed, running workstreams end
``cancelled``, queued ones are ``cancelled`` too, and the run finishes its records normally.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from types import FrameType
from typing import Literal

import uet_contracts
from uet_contracts import AuditEvent, ErrorEvent, ExecutionLog, PatchLedgerEntry, PhaseSpec, RunRecord, StepAttempt
from uet_engine import clock
from uet_engine.detection.redact import Redactor
from uet_engine.errors import GitError, RunRefused
from uet_engine.execution import isolation
from uet_engine.execution.executors import Executor, LocalExecutor
from uet_engine.execution.orphans import GroupRegistry
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.progress import Reporter
from uet_engine.execution.worker import ERROR_CODES, Finished, Job
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.planning.snapshot import ReadySet, prerequisites_of
from uet_engine.saving import codec, ledger, recovery
from uet_engine.saving.lock import RunLock
from uet_engine.saving.store import RunStore, store_path


@dataclass(frozen=True)
class Options:
    """What ``uet run`` was asked to do."""

    ws_ids: Sequence[str] = ()
    no_deps: bool = False
    jobs: int = 1
    resume: str | None = None


@dataclass
class Reuse:
    """A success taken from an earlier run instead of running the workstream again."""

    record: RunRecord
    entry: PatchLedgerEntry | None
    applied: bool


@dataclass
class Selection:
    """Which phases the run holds: those to run, and those whose earlier success is reused."""

    run: list[str]
    reused: dict[str, Reuse] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)  # phases left out, and why (for --dry-run)

    @property
    def phases(self) -> list[str]:
        return sorted({*self.run, *self.reused})


# -- selection --------------------------------------------------------------------------------------------


def _phase_of(phase_set: PhaseSet, ws_id: str) -> str:
    try:
        return phase_set.by_workstream(ws_id).phase_id
    except KeyError:
        raise RunRefused(f"unknown workstream {ws_id!r}: no phase in the spec folder has it") from None


def _reuse_of(store: RunStore | None, record: RunRecord) -> Reuse:
    """How to reuse a succeeded record: its patch entry (if it made one) and whether it reached the tree."""
    origin = record.reused_from or record.run_id
    entry = None
    applied = True
    if store is not None and record.patch_id is not None:
        entry = next((p for p in store.patches(origin) if p.patch_id == record.patch_id), None)
        runs = {record.run_id, origin}
        applied = any(
            e.event_type == "patch_applied" and e.workstream_id == record.workstream_id
            for run in runs
            for e in store.events(run)
        )
    return Reuse(record, entry, applied)


def select(phase_set: PhaseSet, options: Options, store: RunStore | None) -> Selection:
    """The phases of this run; ``RunRefused`` when the options name something that does not exist."""
    specs = phase_set.specs
    if options.resume is not None:
        earlier = store.records(options.resume) if store is not None else []
        if not earlier:
            raise RunRefused(f"no run {options.resume} in {'the run store' if store else 'this repository'}")
        selection = Selection(run=[])
        for record in earlier:
            if record.phase_id not in specs or specs[record.phase_id].workstream_id != record.workstream_id:
                raise RunRefused(f"{record.workstream_id} ({record.phase_id}) of {options.resume} is not in the specs")
            if record.status == "succeeded":
                selection.reused[record.phase_id] = _reuse_of(store, record)
            else:
                selection.run.append(record.phase_id)
        for phase in specs:
            if phase not in selection.phases:
                selection.why_not[phase] = f"not part of {options.resume}"
        return selection
    if not options.ws_ids:
        return Selection(run=sorted(specs))
    chosen = {_phase_of(phase_set, ws) for ws in options.ws_ids}
    selection = Selection(run=sorted(chosen))
    prerequisites = prerequisites_of(phase_set.edges, chosen) - chosen
    for phase in sorted(prerequisites):
        last = store.last_success(specs[phase].workstream_id) if store is not None else None
        if options.no_deps:
            selection.why_not[phase] = "a prerequisite, left out by --no-deps"
        elif last is not None:
            selection.reused[phase] = _reuse_of(store, last)
        else:
            selection.run.append(phase)
    for phase in specs:
        if phase not in chosen and phase not in prerequisites:
            selection.why_not[phase] = "not selected by --ws-id"
    selection.run.sort()
    return selection


# -- records ----------------------------------------------------------------------------------------------


def spec_sha256(spec: PhaseSpec) -> str:
    """SHA-256 of the spec's canonical JSON (the form the store writes: keys sorted, no whitespace)."""
    return ledger.sha256_of(codec.encode(spec).encode("utf-8"))


def _digest(*parts: object) -> str:
    return ledger.sha256_of(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def execution_log(attempt: StepAttempt) -> ExecutionLog:
    """The pattern-automation row of a finished attempt: what went in, what came out, how long it took."""
    request, result = attempt.request, attempt.result
    assert result is not None
    return ExecutionLog(
        timestamp=result.finished_at,
        operation_kind=request.operation_kind,
        file_types=sorted({PurePosixPath(p).suffix or "<none>" for p in result.files_touched}),
        tools_used=sorted(set(request.tools_used)),
        input_signature=_digest(
            request.operation_kind, request.tool, request.run, uet_contracts.to_dict(request)["file_scope"]
        ),
        output_signature=_digest(result.success, result.exit_code, sorted(result.files_touched)),
        success=result.success,
        time_taken_seconds=result.duration_s,
        context={
            "run_id": attempt.run_id,
            "workstream_id": attempt.workstream_id,
            "phase_id": request.phase_id,
            "task_id": f"{attempt.kind}/{attempt.index}",
        },
    )


def _audit(
    run_id: str,
    event_type: str,
    outcome: Literal["success", "failure", "skipped", "info"],
    message: str,
    *,
    workstream_id: str | None = None,
    patch_id: str | None = None,
) -> AuditEvent:
    return AuditEvent(
        timestamp=clock.utc_now(),
        event_type=event_type,
        run_id=run_id,
        outcome=outcome,
        message=message,
        workstream_id=workstream_id,
        patch_id=patch_id,
    )


# -- the run ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the CLI needs once the run is over: its id and the final record of every workstream."""

    run_id: str
    records: list[RunRecord]
    problems: list[str] = field(default_factory=list)  # things that went wrong outside any workstream

    @property
    def succeeded(self) -> bool:
        return not self.problems and all(r.status == "succeeded" for r in self.records)


@contextlib.contextmanager
def _interrupts(on_signal: Callable[[], None]) -> Iterator[None]:
    """SIGINT and SIGTERM call ``on_signal`` instead of raising, while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        on_signal()

    wanted = [signal.SIGINT, signal.SIGTERM]
    previous = {sig: signal.signal(sig, handler) for sig in wanted}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


Message = StepAttempt | tuple[str, Finished]


class Coordinator:
    """Runs one selection to the end; the only writer of the store, the ledger and the user's tree."""

    def __init__(
        self,
        root: Path,
        phase_set: PhaseSet,
        selection: Selection,
        options: Options,
        store: RunStore,
        reporter: Reporter,
        run_id: str,
        executor: Executor | None = None,
    ) -> None:
        self.root = root
        self.specs = phase_set.specs
        self.selection = selection
        self.options = options
        self.store = store
        self.reporter = reporter
        self.run_id = run_id
        self.level = {phase: i for i, level in enumerate(phase_set.topo_levels) for phase in level}
        nodes = set(selection.phases)
        self.edges = {p: [q for q in deps if q in nodes] for p, deps in phase_set.edges.items() if p in nodes}
        self.live = LiveProcesses(GroupRegistry(root))
        self.executor = executor if executor is not None else LocalExecutor(options.jobs)
        self.inbox: queue.Queue[Message] = queue.Queue()
        self.patches: dict[str, PatchLedgerEntry] = {}  # phase -> its patch, for successes of this run
        self.problems: list[str] = []
        self.env = {**os.environ, "UET_RUN_ID": run_id}
        self.redact = Redactor.for_environment(self.env)
        self.base_commit = ""
        self.slots: queue.Queue[Path] = queue.Queue()
        for i in range(options.jobs):
            self.slots.put(isolation.worktree_path(root, run_id, f"slot-{i}"))

    def _order(self, phases: Iterable[str]) -> list[str]:
        return sorted(phases, key=lambda p: (self.level[p], p))

    def cancel(self) -> None:
        """Called on SIGINT/SIGTERM: kill every running process group, start nothing new."""
        self.live.kill_all()
        self.executor.cancel()

    # -- start ------------------------------------------------------------------------------------------

    def _bring_reused_into_tree(self) -> list[str]:
        """Apply reused successes whose patch never reached the tree (the engine died first); their phases."""
        brought: list[str] = []
        for phase in self._order(self.selection.reused):
            reuse = self.selection.reused[phase]
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

    def _queue(self) -> None:
        now = clock.utc_now()
        records: list[RunRecord] = []
        for phase in self._order(self.selection.phases):
            spec = self.specs[phase]
            reuse = self.selection.reused.get(phase)
            records.append(
                RunRecord(
                    run_id=self.run_id,
                    workstream_id=spec.workstream_id,
                    phase_id=phase,
                    status="succeeded" if reuse else "queued",
                    created_at=now,
                    updated_at=now,
                    finished_at=now if reuse else None,
                    base_commit=self.base_commit,
                    spec_sha256=spec_sha256(spec),
                    patch_id=reuse.record.patch_id if reuse else None,
                    reused_from=(reuse.record.reused_from or reuse.record.run_id) if reuse else None,
                )
            )
        self.store.queue(self.run_id, records)
        for record in records:
            self.reporter.changed(record)

    # -- workers ----------------------------------------------------------------------------------------

    def _job(self, phase: str) -> Job:
        """The job of a phase: the patches of its ancestors that succeeded in this run, in dependency order."""
        ancestors = prerequisites_of(self.edges, [phase])
        patches = [ledger.patch_path(self.root, self.patches[p]) for p in self._order(ancestors) if p in self.patches]
        spec = self.specs[phase]
        env = {**self.env, "UET_WORKSTREAM_ID": spec.workstream_id, "UET_PHASE_ID": phase}
        slot = self.slots.get_nowait()  # at most ``jobs`` run at once, so one is always free
        return Job(self.run_id, spec, self.root, self.base_commit, patches, slot, env, self.live, self.redact)

    def _start(self, phase: str, job: Job) -> None:
        """Hand the job to the executor; its attempts and then its end arrive in the inbox."""

        def done(finished: Finished) -> None:
            self.slots.put(job.worktree)
            self.inbox.put((phase, finished))

        self.executor.start(job, self.inbox.put, done)

    def _attempt(self, attempt: StepAttempt) -> None:
        self.store.add_attempt(attempt)
        task = f"{attempt.kind}/{attempt.index}"
        if attempt.result is None:
            self.store.event(self.run_id, "step_started", workstream_id=attempt.workstream_id, message=task)
            return
        self.store.add_execution_log(execution_log(attempt))
        outcome = "ok" if attempt.result.success else (attempt.result.error or "failed")
        self.store.event(
            self.run_id, "step_finished", workstream_id=attempt.workstream_id, message=f"{task}: {outcome}"
        )

    # -- finishing a workstream -------------------------------------------------------------------------

    def _fail(self, phase: str, status: str, reason: str | None, errors: list[ErrorEvent]) -> None:
        ws = self.specs[phase].workstream_id
        for error in errors:
            self.store.add_error(error)
            if error.error_type == "scope_violation":
                self.store.event(self.run_id, "scope_violation", workstream_id=ws, message=error.message)
        record = self.store.transition(self.run_id, ws, status, reason=reason)  # type: ignore[arg-type]
        self.reporter.changed(record)

    def _conflict(self, phase: str, entry: PatchLedgerEntry, why: str) -> ErrorEvent:
        return ErrorEvent(
            timestamp=clock.utc_now(),
            run_id=self.run_id,
            workstream_id=entry.workstream_id,
            phase_id=phase,
            error_type="patch_conflict",
            error_code=ERROR_CODES["patch_conflict"],
            message=why,
            files=entry.files or None,
            severity="error",
        )

    def _succeed(self, phase: str, finished: Finished) -> bool:
        spec = self.specs[phase]
        ws = spec.workstream_id
        entry = ledger.write_patch(
            self.root,
            run_id=self.run_id,
            workstream_id=ws,
            phase_id=phase,
            patch=finished.patch,
            files=list(finished.changes),
            base_commit=self.base_commit,
        )
        self.store.add_patch(entry)
        summary = f"{entry.path}: {entry.size_bytes} bytes, {len(entry.files)} file(s)"
        self.store.event(self.run_id, "patch_captured", workstream_id=ws, message=summary)
        if self.store.audit is not None:
            # Made durable by the fsync of the workstream's final-state line, which follows it.
            self.store.audit.append(
                _audit(self.run_id, "patch.captured", "info", summary, workstream_id=ws, patch_id=entry.patch_id),
                durable=False,
            )
        patch = ledger.patch_path(self.root, entry)
        if not isolation.applies(self.root, patch):
            why = f"its patch {entry.path} does not apply to the working tree (changed during the run?)"
            self._fail(phase, "failed", why, [self._conflict(phase, entry, why)])
            return False
        record = self.store.transition(self.run_id, ws, "succeeded", patch_id=entry.patch_id)
        try:
            isolation.apply_to_tree(self.root, patch)
        except GitError as exc:  # the tree changed between the check and now
            why = f"succeeded, but its patch {entry.path} could not be applied to the working tree: {exc}"
            self.store.add_error(self._conflict(phase, entry, why))
            self.problems.append(f"{ws}: {why}; apply it by hand with: git apply {entry.path}")
        else:
            self.store.event(self.run_id, "patch_applied", workstream_id=ws, message=entry.path)
        self.patches[phase] = entry
        self.reporter.changed(record)
        return True

    def _finish(self, phase: str, finished: Finished) -> bool:
        if finished.status == "succeeded":
            return self._succeed(phase, finished)
        self._fail(phase, finished.status, finished.reason, finished.errors)
        return False

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        brought = self._bring_reused_into_tree()
        self.base_commit = isolation.snapshot_base(self.root, self.run_id)
        self.reporter.begin(self.run_id, len(self.selection.phases), self.root)
        self._queue()
        to_run, reused = len(self.selection.run), len(self.selection.reused)
        started = f"base {self.base_commit}, {to_run} to run, {reused} reused, {self.options.jobs} at once"
        self.store.event(self.run_id, "run_started", message=started)
        if self.store.audit is not None:
            self.store.audit.append(_audit(self.run_id, "run.started", "info", started))
        for phase in brought:
            entry = self.selection.reused[phase].entry
            assert entry is not None
            ws = self.specs[phase].workstream_id
            self.store.event(self.run_id, "patch_applied", workstream_id=ws, message=f"{entry.path} (reused)")
        with _interrupts(self.cancel):
            self._loop()
        return self._end()

    def _loop(self) -> None:
        ready = ReadySet(self.edges, self.selection.phases)
        ready.assume_succeeded(self.selection.reused)
        recorded_skips: set[str] = set()
        active = 0
        try:

            def launch() -> int:
                started = 0
                for phase in ready.ready():
                    if active + started >= self.options.jobs or self.live.cancelled:
                        break
                    ready.start(phase)
                    record = self.store.transition(self.run_id, self.specs[phase].workstream_id, "running")
                    self.reporter.changed(record)
                    self._start(phase, self._job(phase))
                    started += 1
                return started

            active += launch()
            while active:
                message = self.inbox.get()
                if isinstance(message, StepAttempt):
                    self._attempt(message)
                    continue
                phase, finished = message
                active -= 1
                ready.finish(phase, self._finish(phase, finished))
                # Once cancelled, dependants stay queued and end up cancelled, not skipped for a "failure".
                for skipped in [] if self.live.cancelled else sorted(set(ready.skipped) - recorded_skips):
                    recorded_skips.add(skipped)
                    reason = ready.skipped[skipped]
                    record = self.store.transition(
                        self.run_id, self.specs[skipped].workstream_id, "skipped", reason=reason
                    )
                    self.reporter.changed(record)
                active += launch()
        finally:
            self.executor.shutdown()
        if self.live.cancelled:
            for record in self.store.records(self.run_id):
                if record.status == "queued":
                    done = self.store.transition(self.run_id, record.workstream_id, "cancelled", reason="run cancelled")
                    self.reporter.changed(done)

    def _end(self) -> Outcome:
        records = self.store.records(self.run_id)
        counts: dict[str, int] = {}
        for record in records:
            counts[record.status] = counts.get(record.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        outcome = Outcome(self.run_id, records, self.problems)
        if self.live.cancelled:
            self.store.event(self.run_id, "run_cancelled", message="interrupted by a signal")
        self.store.event(self.run_id, "run_finished", message=summary)
        if self.store.audit is not None:
            self.store.audit.append(
                _audit(self.run_id, "run.finished", "success" if outcome.succeeded else "failure", summary)
            )
        return outcome


def execute_run(
    root: Path, phase_set: PhaseSet, options: Options, reporter: Reporter, executor: Executor | None = None
) -> Outcome:
    """Run ``phase_set`` in the git repository ``root`` as ``options`` say; the run's outcome.

    The workstreams run on ``executor`` (default: ``options.jobs`` threads of this process).

    Raises ``LockHeld`` when another run holds the repository, ``RunRefused`` when the options name
    something unknown; in both cases no workstream ran.
    """
    run_id = clock.new_run_id()
    with RunLock(root, run_id), RunStore.open(root) as store:
        GroupRegistry(root).kill_leftovers()
        recovery.mark_crashed(store)
        isolation.clean_stale(root)
        selection = select(phase_set, options, store)
        coordinator = Coordinator(root, phase_set, selection, options, store, reporter, run_id, executor)
        try:
            return coordinator.run()
        finally:
            coordinator.live.kill_all()
            isolation.clean_stale(root)


def plan_lines(phase_set: PhaseSet, options: Options, root: Path) -> list[str]:
    """What ``--dry-run`` prints: the levels, what would run, what would be reused, what is left out and why.

    Reads the run store when there is one (to find earlier successes) and writes nothing at all.
    """
    store = RunStore.open(root, create=False, audit=False) if store_path(root).is_file() else None
    try:
        selection = select(phase_set, options, store)
    finally:
        if store is not None:
            store.close()
    lines = []
    for i, level in enumerate(phase_set.topo_levels, start=1):
        lines.append(f"level {i}: " + ", ".join(level))
    for level in phase_set.topo_levels:
        for phase in level:
            ws = phase_set.specs[phase].workstream_id
            if phase in selection.run:
                lines.append(f"would run   {phase} {ws}")
            elif phase in selection.reused:
                record = selection.reused[phase].record
                origin = record.reused_from or record.run_id
                lines.append(f"would reuse {phase} {ws}: succeeded in {origin}")
            else:
                lines.append(f"would skip  {phase} {ws}: {selection.why_not.get(phase, 'not selected')}")
    return lines
