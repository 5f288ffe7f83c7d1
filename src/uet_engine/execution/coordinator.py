"""The coordinator: runs a selection of workstreams in dependency order, up to ``jobs`` at once.

Why this shape: an executor (``uet_engine.execution.executors``: a thread pool by default, or a Dask
cluster) runs each workstream (``worker.run_workstream``, in its own git worktree) and reports through a
queue; the coordinator — the thread that called ``run`` — keeps only the loop: what to start next, what
a report means. Every write goes through its one ``RunWriter`` (``uet_engine.execution.writer``), so
records are written in one order by one writer and never interleave. What the run holds comes from
``uet_engine.execution.selection``; the records themselves are built in ``uet_engine.execution.records``.

A workstream's life: queued → running → succeeded | failed | cancelled, or queued → skipped when a
prerequisite did not succeed (the reason names it). A reused success whose patch was never applied to
the tree (the engine died in between) is applied when the run starts.

Interrupts (SIGINT, SIGTERM): every running process group is killed, running workstreams end
``cancelled``, queued ones are ``cancelled`` too, and the run finishes its records normally.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from uet_contracts import PatchLedgerEntry, RunRecord, StepAttempt
from uet_engine import clock
from uet_engine.detection.redact import Redactor
from uet_engine.execution import isolation
from uet_engine.execution.executors import Executor, LocalExecutor
from uet_engine.execution.orphans import GroupRegistry
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.progress import Reporter, tasks_in
from uet_engine.execution.ready import ReadySet
from uet_engine.execution.records import queued_records
from uet_engine.execution.selection import Options, Selection, select
from uet_engine.execution.worker import Finished, Job
from uet_engine.execution.writer import RunWriter
from uet_engine.planning.graph import prerequisites_of
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.saving import ledger, recovery
from uet_engine.saving.lock import RunLock
from uet_engine.saving.store import RunStore

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
    """Runs one selection to the end: the loop. Every write goes through ``self.writer``."""

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
        self.writer = RunWriter(root, run_id, store)
        self.reporter = reporter
        self.run_id = run_id
        self.level = {phase: i for i, level in enumerate(phase_set.topo_levels) for phase in level}
        self.phase_of = {spec.workstream_id: phase for phase, spec in self.specs.items()}
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

    def _changed(self, record: RunRecord) -> None:
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

    def _finish(self, phase: str, finished: Finished) -> bool:
        """Record a workstream's end; whether it succeeded (its dependants may start)."""
        if finished.status != "succeeded":
            self._changed(self.writer.failed(finished.workstream_id, finished.status, finished.reason, finished.errors))
            return False
        landed = self.writer.succeeded(phase, finished, self.base_commit)
        if landed.problem is not None:
            self.problems.append(landed.problem)
        if landed.entry is not None:
            self.patches[phase] = landed.entry
        self._changed(landed.record)
        return landed.entry is not None

    # -- the loop ---------------------------------------------------------------------------------------

    def run(self) -> Outcome:
        brought = self.writer.bring_reused_into_tree(self.selection.reused, self._order(self.selection.reused))
        self.base_commit = isolation.snapshot_base(self.root, self.run_id)
        self.reporter.begin(self.run_id, len(self.selection.phases), self.root)
        records = queued_records(
            self.run_id,
            self.specs,
            self._order(self.selection.phases),
            self.selection.reused,
            self.base_commit,
            clock.utc_now(),
        )
        self.writer.queue(records)
        for record in records:
            self._changed(record)
        to_run, reused = len(self.selection.run), len(self.selection.reused)
        started = f"base {self.base_commit}, {to_run} to run, {reused} reused, {self.options.jobs} at once"
        reused_entries = [(self.specs[phase].workstream_id, self.selection.reused[phase].entry) for phase in brought]
        self.writer.run_started(started, [(ws, entry) for ws, entry in reused_entries if entry is not None])
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
                    self._changed(self.writer.status(self.specs[phase].workstream_id, "running"))
                    self._start(phase, self._job(phase))
                    started += 1
                return started

            active += launch()
            while active:
                message = self.inbox.get()
                if isinstance(message, StepAttempt):
                    self.writer.attempt(message)
                    spec = self.specs[message.request.phase_id or self.phase_of[message.workstream_id]]
                    self.reporter.attempt(message, tasks_in(spec, message.kind))
                    continue
                phase, finished = message
                active -= 1
                ready.finish(phase, self._finish(phase, finished))
                # Once cancelled, dependants stay queued and end up cancelled, not skipped for a "failure".
                for skipped in [] if self.live.cancelled else sorted(set(ready.skipped) - recorded_skips):
                    recorded_skips.add(skipped)
                    ws = self.specs[skipped].workstream_id
                    self._changed(self.writer.status(ws, "skipped", ready.skipped[skipped]))
                active += launch()
        finally:
            self.executor.shutdown()
        if self.live.cancelled:
            for record in self.store.records(self.run_id):
                if record.status == "queued":
                    self._changed(self.writer.status(record.workstream_id, "cancelled", "run cancelled"))

    def _end(self) -> Outcome:
        records = self.store.records(self.run_id)
        counts: dict[str, int] = {}
        for record in records:
            counts[record.status] = counts.get(record.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        outcome = Outcome(self.run_id, records, self.problems)
        self.writer.run_finished(summary, cancelled=self.live.cancelled, succeeded=outcome.succeeded)
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
