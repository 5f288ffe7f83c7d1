"""Where workstreams run: local threads (the default) or an existing Dask cluster (``--dask-scheduler``).

Why a seam: the coordinator (``uet_engine.execution.coordinator``) decides *what* runs and records everything; an
executor only runs ``worker.run_workstream`` for one job somewhere and hands back what it reported. So
the coordinator stays the only writer whatever runs the work, and the choice of backend is one object.

The interface is three calls, all made from the coordinator's thread (``cancel`` from its signal handler):

- ``start(job, post, done)``: run the job; ``post`` receives its reports (StepAttempts, and the ErrorEvents
  of failed tries), then ``done`` its Finished, exactly once, from any thread;
- ``cancel()``: start nothing that waits; stop what runs as far as the backend allows;
- ``shutdown()``: the run is over; wait for or let go of what was started.

``LocalExecutor`` is a thread pool in this process: a job's process groups belong to the coordinator's
``LiveProcesses``, which ``Coordinator.cancel`` kills itself. ``DaskExecutor`` submits each job to a
Dask cluster. What crosses the wire is the job without its ``LiveProcesses`` (a lock and this process's
children mean nothing elsewhere); the worker makes a fresh one, runs the workstream, and returns its
reports with its Finished, so step progress arrives when the workstream ends. Cancelling sets a
Dask ``Event`` that each running task watches to kill its own process groups, and cancels the futures
still waiting. ``dask`` and ``distributed`` are imported only by ``DaskExecutor.connect`` and
``DaskExecutor.local_cluster`` (``uet run --executor dask`` without an address: a LocalCluster of
``--jobs`` worker processes on this machine, for a one-machine try).

Without a shared filesystem (``--remote URL``, a git remote both sides reach): the coordinator pushes
the run's base commit to ``refs/uet/remote/<run_id>/base`` on the remote; each worker process keeps a
bare clone in its local directory, fetches ``refs/uet/remote/<run_id>/*`` before each workstream, runs
it with the same worker code in a slot of that clone, and pushes its success's commit to
``refs/uet/remote/<run_id>/<workstream_id>``, which is what dependants start from. Attempts and the
patch come back as before, so the coordinator stays the only writer; it deletes the run's refs on the
remote when the run ends. A worker process that dies in the middle of a workstream (Dask's
``KilledWorker``, once the scheduler's ``allowed-failures`` retries are spent) makes it ``crashed`` with
an ErrorEvent; ``uet run --resume`` runs it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from uet_engine.errors import BackendError, GitError
from uet_engine.execution import isolation
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.worker import Finished, Job, Report, not_run, run_workstream

Post = Callable[[Report], None]
Done = Callable[[Finished], None]

# How long ``uet run --dask-scheduler`` waits for the scheduler to answer, in seconds.
CONNECT_TIMEOUT_S = 10
DASK_EXTRA = "install Dask: pip install 'dask>=2024.8' 'distributed>=2024.8' (from a checkout: pip install '.[dask]')"
# How often a running Dask task asks whether the run was cancelled, in seconds (one short request each time).
_CANCEL_POLL_S = 1.0


class Executor(Protocol):
    """Runs workstream jobs somewhere and reports back through callbacks."""

    def start(self, job: Job, post: Post, done: Done) -> None: ...

    def cancel(self) -> None: ...

    def shutdown(self) -> None: ...


def _guarded(job: Job, post: Post) -> Finished:
    """``run_workstream``, with a last resort so that the coordinator never waits for a message that cannot come."""
    try:
        return run_workstream(job, post)
    except BaseException as exc:
        message = f"internal error: {type(exc).__name__}: {exc}"
        try:
            return not_run(job, "failed", "internal", message)
        except BaseException:
            return Finished(job.spec.workstream_id, "failed", message)


class LocalExecutor:
    """Up to ``jobs`` workstreams at once on threads of this process."""

    def __init__(self, jobs: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="uet-ws")

    def start(self, job: Job, post: Post, done: Done) -> None:
        self._pool.submit(lambda: done(_guarded(job, post)))

    def cancel(self) -> None:
        """Nothing of its own to do: the jobs' process groups are the coordinator's ``LiveProcesses``."""

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)


# -- Dask -------------------------------------------------------------------------------------------------


def _distributed() -> Any:
    """The ``distributed`` package, imported on first use (``ImportError`` when it is not installed).

    Typed as ``Any``: ``distributed`` is only partly annotated, and this keeps mypy independent of whether
    the dask extra is installed.
    """
    return importlib.import_module("distributed")


def wire_fields(job: Job) -> dict[str, Any]:
    """The job's fields that can cross to another process: all but its ``LiveProcesses``."""
    return {f.name: getattr(job, f.name) for f in dataclasses.fields(job) if f.name != "live"}


def run_on_worker(fields: dict[str, Any], cancel_event: str) -> tuple[list[Report], Finished]:
    """The Dask task: run one workstream on this worker; its reports in order, and its Finished."""
    distributed = _distributed()
    job = Job(**fields, live=LiveProcesses())
    if not job.root.is_dir():
        address = distributed.get_worker().address
        return [], not_run(job, "failed", "internal", f"worker {address} cannot see {job.root}")
    return _watched(job, cancel_event)


def _watched(job: Job, cancel_event: str) -> tuple[list[Report], Finished]:
    """Run ``job`` on this worker, killing its processes when the run's cancel event is set."""
    distributed = _distributed()
    # Bound to this worker's client here, in the task's thread: the watcher thread has no worker context.
    cancelled = distributed.Event(cancel_event, client=distributed.get_client())
    over = threading.Event()

    def watch() -> None:
        # A short question every poll rather than a long wait on the scheduler: the thread ends as soon as
        # the task does, with no request left open for a closing cluster to cut off (and log as an error).
        try:
            while not over.wait(_CANCEL_POLL_S):
                if cancelled.is_set():
                    job.live.kill_all()
                    return
        except Exception:  # the scheduler went away (the cluster closing): nobody is left to cancel this task
            return

    threading.Thread(target=watch, name="uet-cancel-watch", daemon=True).start()
    reports: list[Report] = []
    try:
        finished = _guarded(job, reports.append)
    finally:
        over.set()
    return reports, finished


# -- Dask without a shared filesystem ---------------------------------------------------------------------

REMOTE_REFS = "refs/uet/remote/"


def remote_prefix(run_id: str) -> str:
    """The refs of one run on the shared remote: ``base`` and one per succeeded workstream."""
    return f"{REMOTE_REFS}{run_id}/"


class _Clones:
    """This worker process's bare clones (one per remote URL) and their slots, shared by its threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fetching: dict[Path, threading.Lock] = {}
        self.free: dict[Path, queue.Queue[int]] = {}
        self.made = 0
        self.used: set[Path] = set()

    def clone(self, local: Path, url: str) -> Path:
        where = local / "uet-remote" / hashlib.sha256(url.encode()).hexdigest()[:16] / "repo.git"
        with self.lock:
            if where not in self.fetching:
                if not (where / "HEAD").exists():
                    where.mkdir(parents=True, exist_ok=True)
                    isolation.git(where, "init", "--bare", "--quiet")
                self.fetching[where] = threading.Lock()
                self.free[where] = queue.Queue()
        return where

    def take_slot(self, clone: Path) -> tuple[Path, bool]:
        """A free slot of ``clone`` and whether it is used for the first time in this process."""
        try:
            index = self.free[clone].get_nowait()
        except queue.Empty:
            with self.lock:
                index, self.made = self.made, self.made + 1
        slot = clone.parent / "slots" / f"slot-{index}"
        with self.lock:
            first = slot not in self.used
            self.used.add(slot)
        return slot, first

    def give_back(self, clone: Path, slot: Path) -> None:
        self.free[clone].put(int(slot.name.removeprefix("slot-")))


_CLONES = _Clones()


def run_on_remote_worker(fields: dict[str, Any], cancel_event: str, url: str) -> tuple[list[Report], Finished]:
    """The Dask task without a shared filesystem: fetch the run's commits from ``url`` into this worker's
    clone, run the workstream there, push its success's commit back (see the module doc)."""
    distributed = _distributed()
    clone = _CLONES.clone(Path(distributed.get_worker().local_directory), url)
    slot, first = _CLONES.take_slot(clone)
    job = Job(**{**fields, "root": clone, "worktree": slot, "check_slot": first}, live=LiveProcesses())
    prefix = remote_prefix(job.run_id)
    try:
        try:
            with _CLONES.fetching[clone]:
                isolation.git(clone, "fetch", "--quiet", "--no-tags", url, f"+{prefix}*:{prefix}*")
            for commit in (job.base_commit, *job.parents):
                isolation.git(clone, "cat-file", "-e", f"{commit}^{{commit}}")
        except GitError as exc:
            return [], not_run(job, "failed", "internal", f"cannot fetch the run's commits from {url}: {exc}")
        attempts, finished = _watched(job, cancel_event)
        if finished.status == "succeeded" and finished.commit is not None:
            ref = f"{prefix}{job.spec.workstream_id}"
            try:
                isolation.git(clone, "push", "--quiet", "--force", url, f"{finished.commit}:{ref}")
            except GitError as exc:
                why = f"succeeded, but its commit could not be pushed to {url}: {exc}"
                return attempts, not_run(job, "failed", "internal", why)
        return attempts, finished
    finally:
        _CLONES.give_back(clone, slot)


# Scheduler task states of a task that no worker holds yet.
_WAITING = {"released", "waiting", "queued", "no-worker"}


def _scheduler_states(keys: list[str], dask_scheduler: Any = None) -> dict[str, str]:
    """Run on the scheduler: the state of each of ``keys`` it knows."""
    return {key: dask_scheduler.tasks[key].state for key in keys if key in dask_scheduler.tasks}


class DaskExecutor:
    """Each job a task on an existing Dask cluster; the results come back to the coordinator's process."""

    def __init__(self, client: Any, address: str, remote: str | None = None) -> None:
        self.client = client
        self.address = address
        self.remote = remote
        self._published: tuple[Path, str] | None = None  # (repository, run id) whose base is on the remote
        self.cancel_event = f"uet-cancel-{uuid.uuid4().hex}"
        self._futures: dict[str, Any] = {}  # key -> distributed.Future, while it runs
        self._lock = threading.Lock()

    @classmethod
    @contextmanager
    def connect(cls, address: str) -> Iterator[DaskExecutor]:
        """A client of the scheduler at ``address`` for the block; ``BackendError`` when there is none."""
        try:
            distributed = _distributed()
        except ImportError:
            raise BackendError(f"--dask-scheduler needs the distributed package; {DASK_EXTRA}") from None
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError):
            raise BackendError(
                f"cannot connect to the Dask scheduler at {address} within {CONNECT_TIMEOUT_S} s"
            ) from None
        except (ValueError, TypeError) as exc:
            raise BackendError(f"invalid Dask scheduler address {address!r}: {exc}") from None
        try:
            yield cls(client, address)
        finally:
            client.close()

    @classmethod
    @contextmanager
    def local_cluster(cls, workers: int) -> Iterator[DaskExecutor]:
        """A LocalCluster of ``workers`` single-threaded worker processes on this machine, for the block."""
        try:
            distributed = _distributed()
        except ImportError:
            raise BackendError(f"--executor dask needs the distributed package; {DASK_EXTRA}") from None
        with (
            distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
            ) as cluster,
            cls.connect(cluster.scheduler_address) as executor,
        ):
            yield executor

    def _publish(self, job: Job) -> str | None:
        """Push the run's base commit to the remote, once per run (the coordinator's thread); what went wrong."""
        if self.remote is None or self._published == (job.root, job.run_id):
            return None
        ref = remote_prefix(job.run_id) + "base"
        try:
            isolation.git(job.root, "push", "--quiet", "--force", self.remote, f"{job.base_commit}:{ref}")
        except GitError as exc:
            return f"cannot publish the run's base commit to {self.remote}: {exc}"
        self._published = (job.root, job.run_id)
        return None

    @property
    def threads(self) -> int:
        """The total threads of the cluster's workers right now."""
        return int(sum(self.client.nthreads().values()))

    def start(self, job: Job, post: Post, done: Done) -> None:
        key = f"uet-{job.spec.workstream_id}-{uuid.uuid4().hex}"
        if self.remote is None:
            future = self.client.submit(run_on_worker, wire_fields(job), self.cancel_event, key=key, pure=False)
        else:
            problem = self._publish(job)
            if problem is not None:
                done(not_run(job, "failed", "internal", problem))
                return
            fields = wire_fields(job)
            future = self.client.submit(
                run_on_remote_worker, fields, self.cancel_event, self.remote, key=key, pure=False
            )
        with self._lock:
            self._futures[key] = future

        def collect(ended: Any) -> None:
            with self._lock:
                self._futures.pop(key, None)
            try:
                reports, finished = ended.result()
            except BaseException as exc:  # cancelled while waiting, a lost worker, a result that would not unpickle
                if ended.cancelled():
                    finished = not_run(job, "cancelled", "cancelled", "cancelled by the user")
                elif isinstance(exc, _distributed().KilledWorker):
                    why = f"the Dask worker running it died ({exc})"
                    finished = not_run(job, "crashed", "crashed", why)
                else:
                    message = f"internal error: Dask task {key} failed: {type(exc).__name__}: {exc}"
                    finished = not_run(job, "failed", "internal", message)
                reports = []
            for report in reports:
                post(report)
            done(finished)

        future.add_done_callback(collect)

    def cancel(self) -> None:
        """Set the run's cancel event and cancel the waiting futures, on a thread (we may be in a signal handler)."""
        threading.Thread(target=self._cancel_now, name="uet-dask-cancel", daemon=True).start()

    def _cancel_now(self) -> None:
        _distributed().Event(self.cancel_event, client=self.client).set()
        with self._lock:
            futures = dict(self._futures)
        # Only the tasks no worker has taken yet: a running one ends by itself, cancelled, once it sees the event.
        states = self.client.run_on_scheduler(_scheduler_states, keys=list(futures))
        self.client.cancel([f for key, f in futures.items() if states.get(key) in _WAITING])

    def shutdown(self) -> None:
        with self._lock:
            futures = list(self._futures.values())
        if futures:  # only when the coordinator stopped early (an exception): nobody waits for them
            self.client.cancel(futures)
        _distributed().Event(self.cancel_event, client=self.client).clear()
        if self.remote is not None and self._published is not None:
            self._forget(*self._published)

    def _forget(self, root: Path, run_id: str) -> None:
        """Delete the run's refs on the remote (best effort: a leftover ref costs space, not correctness)."""
        listed = isolation.git(root, "ls-remote", "--refs", str(self.remote), remote_prefix(run_id) + "*", check=False)
        refs = [line.split("\t", 1)[1] for line in listed.stdout.decode("utf-8").splitlines() if "\t" in line]
        if refs:
            isolation.git(root, "push", "--quiet", str(self.remote), *(f":{ref}" for ref in refs), check=False)
        self._published = None
