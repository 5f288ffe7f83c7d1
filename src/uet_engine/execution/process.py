"""Run one ExecutionRequest as a child process group and describe what happened as an ExecutionResult.

Why a module of its own: every command the engine runs (steps and acceptance checks) goes through
here, so the rules are in one place:

- the runner is explicit and never a shell picked by the engine: ``sh`` is ``/bin/sh -c RUN``,
  ``python`` is the running interpreter with ``-c RUN``, ``powershell`` is ``pwsh -NoProfile
  -NonInteractive -Command RUN``; a missing runner is a failed result with ``exit_code`` null, never a pass;
- the child gets its own process group (session on POSIX), stdin from the null device, and it never
  outlives its task: when it exits, what it left running in its group is killed; on timeout or on
  cancellation the whole group is killed, grandchildren included, and so is every descendant psutil
  finds under the still-running child, which catches those that left the group for a session of their
  own (on Windows, which has no process groups, that tree is what is killed);
- success means the expected exit code, and the success pattern (a Python regex, MULTILINE, run by the
  ``regex`` package) and the expected output (a literal) found in stdout or stderr; a failure pattern found
  fails the task. Each pattern's match has a time limit that counts inside the command's ``timeout_s``
  (``PATTERN_LIMIT_S`` when it has none) and releases the GIL while it runs, so a catastrophic pattern
  fails the check instead of hanging the engine, and signals are handled meanwhile;
- output is streamed into a bounded ``Capture``: patterns see the whole output up to twice
  ``MATCH_WINDOW``, beyond that its head and its tail; the stored text is redacted, then capped;
- a request with ``argv`` (a tool profile's command line, ``uet_engine.execution.agents``) is started as
  it is, no shell; its executable missing from PATH is a failed result naming the tool;
- with a ``Confinement`` (``uet_engine.execution.sandbox``) the command runs inside the operating
  system's sandbox, wrapped by it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING

import regex

from uet_contracts import ExecutionRequest, ExecutionResult
from uet_engine.detection.error_codes import CANCELLED, PWSH_MISSING, SH_MISSING
from uet_engine.detection.redact import DEFAULT_OUTPUT_LIMIT, MATCH_WINDOW, Capture, Redactor
from uet_engine.execution import agents
from uet_engine.execution.sandbox import Confinement

if TYPE_CHECKING:
    import psutil

    from uet_engine.execution.orphans import GroupRegistry

# The time a pattern may take to match when its task has no timeout_s (seconds).
PATTERN_LIMIT_S = 10.0
# How long the output is still read once the command's leader has exited and its group was killed. Only a process
# that left the group for a session of its own can hold the pipes open after that (a daemon the command started,
# when nothing confines it: bubblewrap's PID namespace ends with the command); its output is not waited for.
OUTPUT_GRACE_S = 2.0
_READ_CHUNK = 64 * 1024

_WINDOWS = sys.platform == "win32"
# On Windows a new process group is what lets the engine end the child's tree without ending itself.
if sys.platform == "win32":  # pragma: no cover - Windows only
    _NEW_GROUP_FLAGS = subprocess.CREATE_NEW_PROCESS_GROUP
else:
    _NEW_GROUP_FLAGS = 0


class LiveProcesses:
    """The process groups running right now, so an interrupt can kill every one of them.

    Once ``kill_all`` has been called no new process starts: ``execute`` returns a cancelled result.
    With a ``registry``, each live group is also written down on disk, so that the next run can end the
    groups a ``kill -9`` of this engine would otherwise leave running (see ``uet_engine.execution.orphans``).
    """

    def __init__(self, registry: GroupRegistry | None = None) -> None:
        self._lock = threading.Lock()
        self._procs: dict[subprocess.Popen[bytes], psutil.Process | None] = {}
        self._registry = registry
        self._stopped = threading.Event()
        self.cancelled = False

    def add(self, proc: subprocess.Popen[bytes]) -> bool:
        """Register a started process; False (and the process killed) when cancellation already began."""
        with self._lock:
            if self.cancelled:
                kill_group(proc)
                return False
            self._procs[proc] = None
        return True

    def watch(self, proc: subprocess.Popen[bytes], handle: psutil.Process | None) -> None:
        """Give a registered process its psutil handle, so that ``kill_all`` reaches its descendants too, and
        write its group down in the registry with the start time the handle already read.

        Separate from ``add`` so that a process is registered the moment it starts: getting the handle asks
        the OS about it (reads ``/proc`` on Linux), and a cancellation meanwhile must still find the process.
        """
        with self._lock:
            if proc in self._procs:
                self._procs[proc] = handle
        if self._registry is not None and handle is not None:
            self._registry.add(proc.pid, handle)

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc, None)
        if self._registry is not None:
            self._registry.remove(proc.pid)

    def kill_all(self) -> None:
        """Kill every live process group and refuse new ones."""
        with self._lock:
            self.cancelled = True
            procs = list(self._procs.items())
        self._stopped.set()
        for proc, handle in procs:
            kill_group(proc, handle)

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` (a retry's delay) unless cancelled first; whether cancellation began."""
        return self._stopped.wait(seconds) if seconds > 0 else self.cancelled


def handle_of(proc: subprocess.Popen[bytes]) -> psutil.Process | None:
    """psutil's handle on a child not reaped yet (so its pid is still its own), or None where there is none.

    The handle knows the child's start time, so a later use of it never reaches a process that took the
    pid over after the child was reaped.
    """
    import psutil  # here, not at the top: dry runs and the other commands never need it (about 10 ms)

    try:
        return psutil.Process(proc.pid)
    except psutil.Error:
        return None


def kill_tree(pid: int, leader: psutil.Process | None) -> None:
    """SIGKILL the process group ``pid`` (POSIX) and every descendant psutil finds under ``leader``.

    killpg is the primary means: it reaches the whole group even after its leader exited. The
    descendants, listed before anything is killed, add those that left the group (``setsid``) while the
    leader ran; on Windows, which has no process groups, the leader and its tree are all there is. What is
    gone already is fine.
    """
    import psutil

    tree: list[psutil.Process] = []
    if leader is not None:
        with contextlib.suppress(psutil.Error):
            tree = leader.children(recursive=True)
        if _WINDOWS:  # pragma: no cover - exercised on Windows only
            tree.insert(0, leader)
    if sys.platform != "win32":  # spelled out (not _WINDOWS): type checks for Windows then skip the POSIX calls
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.kill()


def kill_group(proc: subprocess.Popen[bytes], handle: psutil.Process | None = None) -> None:
    """Kill what ``proc`` started: its process group (POSIX), and with ``handle`` (while ``proc`` may
    still run) its descendants too (``kill_tree``); gone already is fine."""
    kill_tree(proc.pid, handle)
    if _WINDOWS and handle is None:  # pragma: no cover - exercised on Windows only
        with contextlib.suppress(OSError):
            proc.kill()


def command_for(tool: str, run: str, env: Mapping[str, str]) -> list[str] | str:
    """The argument vector for ``run`` under ``tool``, or why it cannot be run (a one-line error)."""
    if tool == "python":
        return [sys.executable, "-c", run]
    if tool == "sh":
        if not _WINDOWS:
            return ["/bin/sh", "-c", run]
        sh = shutil.which("sh", path=env.get("PATH"))  # pragma: no cover - Windows only
        return [sh, "-c", run] if sh else SH_MISSING  # pragma: no cover - Windows only
    if tool == "powershell":
        pwsh = shutil.which("pwsh", path=env.get("PATH"))
        if pwsh is None:
            return PWSH_MISSING
        return [pwsh, "-NoProfile", "-NonInteractive", "-Command", run]
    return f"unknown runner {tool!r}"


def _reader(stream: IO[bytes], sink: Capture | _Gate) -> None:
    read = getattr(stream, "read1", stream.read)
    while chunk := read(_READ_CHUNK):
        sink.feed(chunk)
    stream.close()


def _read(selector: selectors.BaseSelector, key: selectors.SelectorKey) -> None:
    """Feed what one ready pipe holds into its capture; at its end, stop watching the pipe and close it."""
    chunk = os.read(key.fd, _READ_CHUNK)
    if chunk:
        key.data.feed(chunk)
    else:
        selector.unregister(key.fileobj)
        key.fileobj.close()  # type: ignore[union-attr]


def _pump(pipes: Sequence[tuple[IO[bytes], Capture | _Gate]]) -> None:
    """Read every pipe into its capture as data arrives, until each one ends, in one thread (POSIX without pidfd).

    Why not a thread per pipe: starting and joining a thread costs about half a millisecond, paid per command.
    Windows has no ``select`` on pipes, so there each pipe keeps its own ``_reader`` thread.
    """
    with selectors.DefaultSelector() as selector:
        for stream, sink in pipes:
            selector.register(stream, selectors.EVENT_READ, sink)
        while selector.get_map():
            for key, _ in selector.select():
                _read(selector, key)


def _start_readers(pipes: Sequence[tuple[IO[bytes], Capture | _Gate]]) -> list[threading.Thread]:
    """The threads that read the child's output: one for all pipes on POSIX, one per pipe on Windows."""
    if _WINDOWS:  # pragma: no cover - Windows only
        readers = [threading.Thread(target=_reader, args=pipe, daemon=True) for pipe in pipes]
    else:
        readers = [threading.Thread(target=_pump, args=(pipes,), daemon=True)]
    for thread in readers:
        thread.start()
    return readers


def probe_pidfd() -> bool:
    """Whether a child's exit can be watched in a selector beside its pipes (a pidfd: Linux 5.3 or later).

    Found out by doing it: a pidfd of this very process, registered in the selector kind
    ``execute`` uses and found not readable (it has not exited). Where any of that fails (macOS, Windows, an
    older kernel, a seccomp filter refusing the system call) every command keeps its reader and timer
    threads.
    """
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return False
    try:
        pidfd = pidfd_open(os.getpid())
    except OSError:
        return False
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(pidfd, selectors.EVENT_READ)
            return not selector.select(0)
    except (OSError, ValueError):
        return False
    finally:
        os.close(pidfd)


@functools.cache
def pidfd_supported() -> bool:
    """``probe_pidfd``, asked once per process. Tests turn it off with monkeypatch to run the threaded path on
    Linux too."""
    return probe_pidfd()


def _open_pidfd(proc: subprocess.Popen[bytes]) -> int | None:
    """A pidfd of the (not yet reaped, so still its own) leader; None where there is none to be had, such
    as when this process is out of file descriptors, and the command then runs the threaded way."""
    if sys.platform != "linux" or not pidfd_supported():  # the platform check: os.pidfd_open is Linux's only
        return None
    try:
        return os.pidfd_open(proc.pid)
    except OSError:
        return None


def _supervise_in_thread(
    proc: subprocess.Popen[bytes],
    pidfd: int,
    pipes: list[tuple[IO[bytes], Capture]],
    timeout_s: float | None,
    handle: psutil.Process | None,
) -> tuple[int, bool]:
    """Run the command to its end in the calling thread; its exit code and whether it timed out.

    Why: a reader thread and a timer thread per command cost the engine a few tenths of a millisecond each
    and GIL hand-offs between threads, on every step and check. One selector watches both pipes and the
    leader's pidfd instead: the pipes are read as data arrives; the pidfd turns readable when the leader
    exits, which is when it is reaped and its group killed (a backgrounded grandchild holding a pipe would
    otherwise keep it open), and the pipes are then read to their end, for ``OUTPUT_GRACE_S`` at most. The
    selector's timeout is the time left of ``timeout_s``: past it the whole tree is killed, as a timer would.
    A cancellation from another thread (``LiveProcesses.kill_all``) kills the group, so the leader exits and
    the loop ends.
    """
    deadline = time.monotonic() + timeout_s if timeout_s else None
    grace: float | None = None  # once the leader has exited: until when its pipes are still read
    exit_code: int | None = None
    timed_out = False
    with selectors.DefaultSelector() as selector:
        for stream, sink in pipes:
            selector.register(stream, selectors.EVENT_READ, sink)
        selector.register(pidfd, selectors.EVENT_READ)
        try:
            while selector.get_map():
                ends = [end for end in (deadline, grace) if end is not None]
                wait = max(min(ends) - time.monotonic(), 0) if ends else None
                for key, _ in selector.select(wait):
                    if key.data is not None:
                        _read(selector, key)
                        continue
                    selector.unregister(pidfd)
                    exit_code, deadline = proc.wait(), None
                    # As in the threaded path: what the task left running in its group dies with it.
                    kill_group(proc)
                    grace = time.monotonic() + OUTPUT_GRACE_S
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out, deadline = True, None
                    kill_group(proc, handle)
                if grace is not None and time.monotonic() >= grace:
                    break  # a process of another session holds the pipes: they are closed below, unread
        finally:
            if exit_code is None:  # the loop was interrupted (an exception): the group still dies
                kill_group(proc)
            for key in list(selector.get_map().values()):
                if key.data is not None:
                    key.fileobj.close()  # type: ignore[union-attr]
    assert exit_code is not None  # the loop ends only once the pidfd is unregistered, that is once reaped
    return exit_code, timed_out


def _supervise_with_threads(
    proc: subprocess.Popen[bytes],
    pipes: list[tuple[IO[bytes], Capture]],
    timeout_s: float | None,
    handle: psutil.Process | None,
) -> tuple[int, bool]:
    """Run the command to its end where there is no pidfd: reader threads, a timer thread for the timeout,
    and the calling thread blocked in ``wait``; its exit code and whether it timed out."""
    gates = [(stream, _Gate(sink)) for stream, sink in pipes]
    readers = _start_readers(gates)
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        kill_group(proc, handle)

    timer = threading.Timer(timeout_s, on_timeout) if timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        exit_code = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        # Whatever the task left running in its group (a backgrounded grandchild) dies with it. Its exited
        # leader has no descendants left to list (they were handed to init), so the group is all there is.
        kill_group(proc)
        grace = time.monotonic() + OUTPUT_GRACE_S
        for thread in readers:
            thread.join(max(grace - time.monotonic(), 0))
        for _stream, gate in gates:  # a reader still blocked (another session holds its pipe) feeds nothing more
            gate.close()
    return exit_code, timed_out.is_set()


class _Gate:
    """A capture a reader thread feeds until the command is over: then ``close``, and what arrives later is dropped
    (the result is being made from the capture; a reader left blocked on a pipe must not change it meanwhile)."""

    def __init__(self, sink: Capture) -> None:
        self._sink: Capture | None = sink
        self._lock = threading.Lock()

    def feed(self, chunk: bytes) -> None:
        with self._lock:
            if self._sink is not None:
                self._sink.feed(chunk)

    def close(self) -> None:
        with self._lock:
            self._sink = None


def _pattern_found(pattern: regex.Pattern[str], texts: list[str], limit: float) -> bool | None:
    """Whether ``pattern`` occurs in one of ``texts``; None when matching took longer than ``limit`` seconds."""
    deadline = time.monotonic() + limit
    for text in texts:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            if pattern.search(text, timeout=left, concurrent=True) is not None:
                return True
        except TimeoutError:
            return None
    return False


def _now() -> datetime:
    return datetime.now(UTC)


def execute(
    request: ExecutionRequest,
    cwd: Path,
    *,
    expect_exit: int = 0,
    success_pattern: str | None = None,
    expect_output: str | None = None,
    failure_pattern: str | None = None,
    env: Mapping[str, str] | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    live: LiveProcesses | None = None,
    confinement: Confinement | None = None,
) -> ExecutionResult:
    """Run ``request.run`` with ``request.tool`` in ``cwd`` and report the outcome; never raises for the command.

    ``env`` is the child's whole environment (the engine's own when None); the values of its
    secret-looking variables are redacted from the stored output and from nothing else. A
    ``failure_pattern`` found in the output fails the task whatever its exit code. With ``confinement`` the
    command runs in its sandbox (``cwd`` must be the confinement's worktree).
    """
    child_env = dict(os.environ if env is None else env)
    redact = Redactor.for_environment(child_env)
    if confinement is not None:
        child_env = confinement.env(child_env)
    window = max(MATCH_WINDOW, output_limit + 64 * 1024)
    started_at = _now()
    start = time.perf_counter()

    def result(
        success: bool,
        exit_code: int | None,
        out: Capture | None = None,
        err: Capture | None = None,
        *,
        timed_out: bool = False,
        error: str | None = None,
    ) -> ExecutionResult:
        out, err = out or Capture(), err or Capture()
        return ExecutionResult(
            success=success,
            exit_code=exit_code,
            stdout=out.stored(redact, output_limit),
            stderr=err.stored(redact, output_limit),
            stdout_bytes=out.total,
            stderr_bytes=err.total,
            files_touched=[],
            started_at=started_at,
            finished_at=_now(),
            duration_s=round(time.perf_counter() - start, 6),
            timed_out=timed_out,
            error=None if error is None else redact(error),
        )

    patterns: list[regex.Pattern[str] | None] = []
    for what, pattern in (("success", success_pattern), ("failure", failure_pattern)):
        try:
            patterns.append(None if pattern is None else regex.compile(pattern, regex.MULTILINE))
        except (regex.error, re.error) as exc:
            return result(False, None, error=f"invalid {what} pattern {pattern!r}: {exc}")
    success, failure = patterns
    argv: list[str] | str
    if request.argv:  # a tool profile's command line: started as it is, its executable looked up on PATH
        found = shutil.which(request.argv[0], path=child_env.get("PATH"))
        argv = [found, *request.argv[1:]] if found else agents.not_found(request.tool, request.argv[0])
    else:
        argv = command_for(request.tool, request.run, child_env)
    if isinstance(argv, str):
        return result(False, None, error=argv)
    if confinement is not None:
        argv = confinement.wrap(argv)
    if live is not None and live.cancelled:
        return result(False, None, error=CANCELLED)
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=child_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=not _WINDOWS,
            creationflags=_NEW_GROUP_FLAGS,
        )
    except OSError as exc:
        return result(False, None, error=f"could not start {argv[0]}: {exc.strerror or exc}")
    if live is not None and not live.add(proc):
        proc.communicate()
        return result(False, None, error=CANCELLED)
    handle = handle_of(proc)
    if live is not None:
        live.watch(proc, handle)

    out, err = Capture(window), Capture(window)
    assert proc.stdout is not None and proc.stderr is not None
    pipes = [(proc.stdout, out), (proc.stderr, err)]
    try:
        pidfd = _open_pidfd(proc)
        if pidfd is None:
            exit_code, timed_out = _supervise_with_threads(proc, pipes, request.timeout_s, handle)
        else:
            try:
                exit_code, timed_out = _supervise_in_thread(proc, pidfd, pipes, request.timeout_s, handle)
            finally:
                os.close(pidfd)
    finally:
        if live is not None:
            live.discard(proc)

    if timed_out:
        return result(False, exit_code, out, err, timed_out=True, error=f"timed out after {request.timeout_s:g} s")
    if live is not None and live.cancelled:
        return result(False, exit_code, out, err, error=CANCELLED)
    texts = out.texts() + err.texts() if success or failure or expect_output is not None else []
    limit = PATTERN_LIMIT_S if not request.timeout_s else request.timeout_s - (time.perf_counter() - start)
    slow = "the rest of its timeout_s ({:.3g} s)" if request.timeout_s else "{:g} s"

    def too_slow(what: str, pattern: str | None) -> ExecutionResult:
        why = slow.format(max(limit, 0))
        message = f"{what} pattern {pattern!r} took longer than {why} to match; simplify it"
        return result(False, exit_code, out, err, timed_out=True, error=message)

    if failure is not None:
        hit = _pattern_found(failure, texts, limit)
        if hit is None:
            return too_slow("failure", failure_pattern)
        if hit:
            return result(False, exit_code, out, err, error=f"failure pattern {failure_pattern!r} found in the output")
    if exit_code != expect_exit:
        return result(False, exit_code, out, err, error=f"exit code {exit_code}, expected {expect_exit}")
    if success is not None:
        hit = _pattern_found(success, texts, limit)
        if hit is None:
            return too_slow("success", success_pattern)
        if not hit:
            return result(
                False, exit_code, out, err, error=f"success pattern {success_pattern!r} not found in the output"
            )
    if expect_output is not None and not any(expect_output in text for text in texts):
        return result(False, exit_code, out, err, error=f"expected output {expect_output!r} not found")
    return result(True, exit_code, out, err)
