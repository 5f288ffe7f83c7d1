"""The coordinator: runs a selection of workstreams in dependency order, up to ``jobs`` at once.

Why this shape: an executor (``uet_engine.execution.executors``: a thread pool by default, or a Dask
cluster) runs each workstream (``worker.run_workstream``, in its own git worktree) and reports through a
queue; the coordinator — the thread that called ``run`` — keeps only the loop: what to start next, what
a report means. Every write goes through its one ``RunWriter`` (``uet_engine.execution.writer``), so
records are written in one order by one writer and never interleave. What the run holds comes from
``uet_engine.execution.selection``; the records themselves are built in ``uet_engine.execution.records``.

A workstream's life: queued → running → succeeded | failed | cancelled (| crashed when a remote worker
died), or queued → skipped when a prerequisite did not succeed (the reason names it). A reused success
whose patch was never applied to the tree (the engine died in between) is applied when the run starts;
an up-to-date one (``selection``) enters the run succeeded and does not run.

What a workstream starts from is the commit of its direct prerequisites' successes in this run (merged
when there are several; ``isolation.start_commit``), so its cost does not grow with its ancestors.

A dependant starts as soon as its last prerequisite's commit exists: while the coordinator records that
success and applies its patch to the user's tree, the dependant already runs in its own worktree. Its
``running`` record waits until the prerequisite's success is recorded, and its reports wait in the inbox
behind it, so the records read exactly as if it had started afterwards. Should the prerequisite's patch not
land after all (the user's tree changed meanwhile), the early start is discarded: nothing of it is
recorded, and it is skipped as any dependant of a failure is.

Interrupts (SIGINT, SIGTERM): every running process group is killed, running workstreams end
``cancelled``, queued ones are ``cancelled`` too, and the run finishes its records normally.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from uet_contracts import ErrorEvent, PatchLedgerEntry, RunRecord, RunStatus, StepAttempt
from uet_engine import clock
from uet_engine.detection.events import error_event
from uet_engine.detection.failure_report import FailureReport, failure_report
from uet_engine.detection.hooks import NamedHook
from uet_engine.detection.plugins.registry import registry
from uet_engine.detection.redact import Redactor
from uet_engine.errors import GitError, RecordsUnwritable, RunRefused, StoreError
from uet_engine.execution import inputs, isolation, records
from uet_engine.execution.executors import Executor, LocalExecutor
from uet_engine.execution.guard import Guard
from uet_engine.execution.observers import Observers
from uet_engine.execution.orphans import GroupRegistry
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.progress import Reporter, tasks_in
from uet_engine.execution.ready import ReadySet
from uet_engine.execution.records import queued_records
from uet_engine.execution.selection import Options, Selection, select
from uet_engine.execution.worker import Finished, Job, environment_fault, not_run_refusal
from uet_engine.execution.writer import RunWriter
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.saving import recovery
from uet_engine.saving.lock import RunLock
from uet_engine.saving.store import RunStore
from uet_engine.states import IN_FLIGHT_STATUSES

# -- the run ----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the CLI needs once the run is over: its id and the final record of every workstream."""

    run_id: str
    records: list[RunRecord]
    problems: list[str] = field(default_factory=list)  # things that went wrong outside any workstream
    failures: dict[str, FailureReport] = field(default_factory=dict)  # workstream -> what its failure printed

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


Message = StepAttempt | ErrorEvent | tuple[str, Finished]


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
        hooks: Sequence[NamedHook] = (),
    ) -> None:
        self.root = root
        self.specs = phase_set.specs
        self.phase_set = phase_set
        self.key_scopes = inputs.key_scopes(phase_set)
        self.modules = phase_set.modules
        self.selection = selection
        self.options = options
        self.store = store
        self.writer = RunWriter(root, run_id, store, options.durability)
        self.failures: dict[str, FailureReport] = {}
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
        self.observers = Observers(self.writer, hooks, options.hook_budget_s, self.redact)
        self.sandbox = options.sandbox
        self.guard: Guard | None = None  # made at the start of the run when nothing confines the commands
        self.running: set[str] = set()
        self.base_commit = ""
        self.commits: dict[str, str] = {}  # phase -> its success's commit, what its dependants start from
        self.trees: dict[str, str] = {}  # commit -> its tree, where known (spares the workers a git call)
        self.slot_at: dict[Path, str] = {}  # slot -> the commit its last workstream left it at unchanged
        self.dispatched: dict[str, tuple[Path, str | None, str | None]] = {}  # phase -> slot, start commit, tree
        self.early: dict[str, str] = {}  # phase started early -> the prerequisite whose success it awaits
        self.discarded: set[str] = set()  # workstreams started early for a success that did not stand
        self.slots: queue.Queue[Path] = queue.Queue()
        self.carried: set[Path] = set()  # slots left by an earlier run, checked before their first use
        for i in range(options.jobs):
            slot = isolation.slot_path(root, i)
            self.slots.put(slot)
            if slot.exists():
                self.carried.add(slot)

    def _order(self, phases: Iterable[str]) -> list[str]:
        return sorted(phases, key=lambda p: (self.level[p], p))

    def cancel(self) -> None:
        """Called on SIGINT/SIGTERM: kill every running process group, start nothing new."""
        self.live.kill_all()
        self.executor.cancel()

    def _changed(self, record: RunRecord) -> None:
        self.reporter.changed(record)
        self.observers.changed(record)

    # -- workers ----------------------------------------------------------------------------------------

    def _parents(self, phase: str) -> list[str]:
        """The commits a phase starts from: those of its direct prerequisites that succeeded in this run.

        A reused prerequisite made no commit (its changes are in the base); its own prerequisites stand in for it.
        """
        found: dict[str, None] = {}
        seen: set[str] = set()
        stack = self._order(self.edges.get(phase, []))[::-1]
        while stack:
            prerequisite = stack.pop()
            if prerequisite in seen:
                continue
            seen.add(prerequisite)
            if prerequisite in self.commits:
                found[self.commits[prerequisite]] = None
            elif prerequisite in self.selection.reused:
                stack.extend(self._order(self.edges.get(prerequisite, []))[::-1])
        return list(found)

    def _job(self, phase: str) -> Job:
        """The job of a phase: what it starts from, its environment and a free slot."""
        spec = self.specs[phase]
        env = {**self.env, "UET_WORKSTREAM_ID": spec.workstream_id, "UET_PHASE_ID": phase}
        slot = self.slots.get_nowait()  # at most ``jobs`` run at once, so one is always free
        check = slot in self.carried
        self.carried.discard(slot)
        parents = self._parents(phase)
        start = (parents[0] if parents else self.base_commit) if len(parents) < 2 else None
        start_tree = self.trees.get(start) if start is not None else None
        self.dispatched[phase] = (slot, start, start_tree)
        modules = tuple(self.modules.get(phase, ()))
        job = Job(
            self.run_id,
            spec,
            self.root,
            self.base_commit,
            parents,
            slot,
            env,
            self.live,
            self.redact,
            check_slot=check,
            key_scope=self.key_scopes[phase],
            start_tree=start_tree,
            slot_at=self.slot_at.pop(slot, None),
            modules=modules,
            sandbox=self.sandbox,
            # The guard's state lives in this process: only workstreams on local threads check after each step.
            guard=self.guard if isinstance(self.executor, LocalExecutor) else None,
        )
        return dataclasses.replace(job, profiles=self.options.profiles) if self.options.profiles else job

    def _start(self, phase: str, job: Job) -> None:
        """Hand the job to the executor; its attempts and then its end arrive in the inbox."""

        def done(finished: Finished) -> None:
            self.slots.put(job.worktree)
            self.inbox.put((phase, finished))

        self.executor.start(job, self.inbox.put, done)

    def _finish(self, phase: str, finished: Finished, early: Callable[[], None] | None = None) -> bool:
        """Record a workstream's end; whether it succeeded (its dependants may start).

        Without a sandbox, the record files are checked first: a change the engine did not make fails the
        workstream (any workstream running meanwhile could have made it: they are named). ``early`` is called
        once a success has passed those checks and its commit is known, before it is recorded and landed.
        """
        slot, start, start_tree = self.dispatched.pop(phase)
        tampered = self.writer.records_changed() if self.guard is not None else []
        if self.guard is not None and not isinstance(self.executor, LocalExecutor):
            tampered += self.guard.check()  # remote workers cannot check after each step: check at the end
        if tampered and finished.status != "cancelled":
            others = sorted(self.running - {phase})
            meanwhile = f" (also running: {', '.join(others)})" if others else ""
            what = "changed files outside its worktree" + meanwhile
            finished = not_run_refusal(self.run_id, self.specs[phase], what, tampered)
        self.running.discard(phase)
        unchanged = start_tree is not None and finished.tree == start_tree
        if start is not None and finished.status == "succeeded" and unchanged:
            # Its steps changed nothing: the slot is still at ``start``, a hint the next job checks with git.
            self.slot_at[slot] = start
        if finished.status != "succeeded":
            for error in finished.errors:
                self.observers.error(error)
            record = self.writer.status(finished.workstream_id, finished.status, finished.reason)
            self._failed(record)
            return False
        if early is not None and finished.commit is not None:
            self.commits[phase] = finished.commit  # what the early dependants start from (withdrawn below if need be)
            if finished.tree is not None:
                self.trees[finished.commit] = finished.tree
            early()
        key = None
        if finished.scope_sha256 is not None:
            key = inputs.key(finished.scope_sha256, self.selection.prerequisite_keys(self.phase_set, phase))
        landed = self.writer.succeeded(phase, finished, self.base_commit, key)
        self.observers.written(landed.errors)
        if landed.problem is not None:
            self.problems.append(landed.problem)
        if landed.entry is not None:
            self.patches[phase] = landed.entry
            self.selection.keys[phase] = key
            if finished.commit is not None:
                self.commits[phase] = finished.commit
                if finished.tree is not None:
                    self.trees[finished.commit] = finished.tree
        else:
            self.commits.pop(phase, None)
        if landed.record.status == "succeeded":
            self._changed(landed.record)
        else:
            self._failed(landed.record)
        return landed.entry is not None

    def _failed(self, record: RunRecord) -> None:
        """A workstream that did not succeed: its state, then what its failure says (issues, output tail)."""
        self._changed(record)
        ws = record.workstream_id
        report = failure_report(self.store.attempts(self.run_id, ws), self.store.errors(self.run_id, ws))
        self.failures[ws] = report
        self.reporter.failure(record, report)

    # -- the loop ---------------------------------------------------------------------------------------

    def recovered(self, crashed: Sequence[ErrorEvent]) -> None:
        """Tell the hooks of what a dead run left behind (marked crashed, and written, before this run began)."""
        self.observers.written(crashed)

    def run(self) -> Outcome:
        for problem in registry().problems:  # an installed error plugin that cannot be loaded
            self.observers.error(error_event("plugin_failed", problem, run_id=self.run_id))
        try:
            brought = self.writer.bring_reused_into_tree(self.selection.reused, self._order(self.selection.reused))
            self.base_commit = isolation.snapshot_base(self.root, self.run_id)
            self.trees[self.base_commit] = isolation.tree_of(self.root, self.base_commit)
            if self.sandbox.mechanism == "none":
                self.guard = Guard(self.root)
                self.writer.guard = self.guard
        except (RunRefused, GitError) as exc:
            self.observers.error(records.preflight_failed(self.run_id, str(exc)))
            raise
        try:
            return self._run(brought)
        except (StoreError, OSError):
            raise  # a fault of the environment: execute_run ends what is in flight (``abort``)
        except Exception as exc:  # a bug in the loop: recorded, then the run stops (the next one recovers)
            with contextlib.suppress(Exception):  # the store itself may be what broke: keep the first error
                self.observers.error(records.internal(self.run_id, exc))
            raise

    def _run(self, brought: list[str]) -> Outcome:
        self.reporter.begin(self.run_id, len(self.selection.phases), self.root)
        queued = queued_records(
            self.run_id,
            self.specs,
            self._order(self.selection.phases),
            self.selection.reused,
            self.base_commit,
            clock.utc_now(),
            self.options.project_id,
            self.sandbox,
        )
        self.writer.queue(queued)
        for record in queued:
            self._changed(record)
        to_run, reused = len(self.selection.run), len(self.selection.reused)
        started = (
            f"base {self.base_commit}, {to_run} to run, {reused} reused, {self.options.jobs} at once, "
            f"sandbox {self.sandbox.mechanism}"
        )
        if self.options.snapshot:
            started += f"; {self.options.snapshot}"
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
                    self.running.add(phase)
                    self._changed(self.writer.status(self.specs[phase].workstream_id, "running"))
                    self._start(phase, self._job(phase))
                    started += 1
                return started

            def launch_early(prerequisite: str) -> None:
                """Start what ``prerequisite``'s success unlocks, before that success is recorded (module doc)."""
                nonlocal active
                for phase in ready.unlocked_by(prerequisite):
                    if active >= self.options.jobs or self.live.cancelled:
                        break
                    self.early[phase] = prerequisite
                    self.running.add(phase)
                    self._start(phase, self._job(phase))
                    active += 1

            def settle_early(prerequisite: str, succeeded: bool) -> None:
                """The early starts of ``prerequisite``: recorded running now, or discarded."""
                for phase in sorted(p for p, q in self.early.items() if q == prerequisite):
                    del self.early[phase]
                    if succeeded:
                        ready.start(phase)
                        self._changed(self.writer.status(self.specs[phase].workstream_id, "running"))
                    else:
                        self.running.discard(phase)
                        self.discarded.add(self.specs[phase].workstream_id)

            active += launch()
            while active:
                message = self.inbox.get()
                if not isinstance(message, tuple) and message.workstream_id in self.discarded:
                    continue  # a report of an early start that was discarded: never recorded
                if isinstance(message, tuple) and self.specs[message[0]].workstream_id in self.discarded:
                    self.discarded.discard(self.specs[message[0]].workstream_id)
                    self.dispatched.pop(message[0], None)
                    active -= 1
                    active += launch()
                    continue
                if isinstance(message, StepAttempt):
                    self.observers.attempt(message)
                    spec = self.specs[message.request.phase_id or self.phase_of[message.workstream_id]]
                    self.reporter.attempt(message, tasks_in(spec, message.kind))
                    continue
                if isinstance(message, ErrorEvent):
                    self.observers.error(message)
                    continue
                phase, finished = message
                active -= 1
                succeeded = self._finish(phase, finished, functools.partial(launch_early, phase))
                ready.finish(phase, succeeded)
                settle_early(phase, succeeded)
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

    def abort(self, why: str) -> None:
        """End every workstream still in flight after a fault the run cannot go on from (see ``execute_run``).

        Each gets its ErrorEvent, then its final status. When the audit log is what failed, the status changes
        are recorded without their audit lines rather than not at all (a failed or crashed record needs none).
        """
        try:
            stuck = [r for r in self.store.records(self.run_id) if r.status in IN_FLIGHT_STATUSES]
            for record in stuck:
                self.writer.error(environment_fault(self.run_id, self.specs[record.phase_id], why))
        except (StoreError, OSError):
            return  # nothing can be written: the next run's recovery marks them crashed
        for record in stuck:
            status: RunStatus = "failed" if record.status == "running" else "crashed"
            for _attempt in (1, 2):
                try:
                    self.writer.status(record.workstream_id, status, f"the run stopped: {why}")
                    break
                except StoreError:
                    if self.store.audit is None:
                        return
                    self.store.audit = None

    def _end(self) -> Outcome:
        if self.guard is not None:
            outside = self.guard.check() + self.writer.records_changed(read=True)
            if outside:
                self.problems.append("changed outside the engine during the run: " + "; ".join(outside))
        records = self.store.records(self.run_id)
        counts: dict[str, int] = {}
        for record in records:
            counts[record.status] = counts.get(record.status, 0) + 1
        summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        outcome = Outcome(self.run_id, records, self.problems, self.failures)
        self.writer.run_finished(summary, cancelled=self.live.cancelled, succeeded=outcome.succeeded)
        return outcome


def execute_run(
    root: Path,
    phase_set: PhaseSet,
    options: Options,
    reporter: Reporter,
    executor: Executor | None = None,
    hooks: Sequence[NamedHook] = (),
) -> Outcome:
    """Run ``phase_set`` in the git repository ``root`` as ``options`` say; the run's outcome.

    The workstreams run on ``executor`` (default: ``options.jobs`` threads of this process); ``hooks``
    observe the run (``uet_engine.detection.hooks``), each call under ``options.hook_budget_s``.

    Raises ``LockHeld`` when another run holds the repository, ``RunRefused`` when the options name
    something unknown; in both cases no workstream ran.
    """
    run_id = clock.new_run_id()
    try:
        return _execute(root, phase_set, options, reporter, executor, hooks, run_id)
    except OSError as exc:  # the lock, the records folder or a patch file could not be written
        where = f"{exc.filename}: " if exc.filename else ""
        raise RecordsUnwritable(f"{where}{exc.strerror or exc}; the run stopped") from None


def _execute(
    root: Path,
    phase_set: PhaseSet,
    options: Options,
    reporter: Reporter,
    executor: Executor | None,
    hooks: Sequence[NamedHook],
    run_id: str,
) -> Outcome:
    with RunLock(root, run_id), RunStore.open(root) as store:
        unfinished = isolation.unfinished_operation(root)
        if unfinished is not None:
            raise RunRefused(unfinished)
        isolation.exclude_engine_folders(root)
        GroupRegistry(root).kill_leftovers()
        recovering = RunWriter(root, run_id, store)
        try:  # written before anything can refuse the run, so the next run does not find them again
            crashed = [recovering.error(records.crashed(record)) for record in recovery.mark_crashed(store)]
        finally:
            recovering.close()
        isolation.clean_stale(root)
        selection = select(phase_set, options, store, root)
        coordinator = Coordinator(root, phase_set, selection, options, store, reporter, run_id, executor, hooks)
        try:
            coordinator.recovered(crashed)
            return coordinator.run()
        except (StoreError, OSError) as exc:
            # A fault of the environment the engine caught (disk full, unwritable records): nothing more can
            # run; what is in flight ends failed (running) or crashed (queued) with an ErrorEvent, as far as
            # the records can still be written (else the next run's recovery marks it crashed).
            coordinator.live.kill_all()
            why = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else str(exc)
            coordinator.abort(why)
            raise RecordsUnwritable(f"{why}; the run stopped") from None
        finally:
            coordinator.live.kill_all()
            coordinator.writer.close()
            isolation.clean_stale(root)
