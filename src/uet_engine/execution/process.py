"""Run one ExecutionRequest as a child process group and describe what happened as an ExecutionResult.

Why a module of its own: every command the engine runs (steps and acceptance checks) goes through
here, so the rules are in one place:

- the runner is explicit and never a shell picked by the engine: ``sh`` is ``/bin/sh -c RUN``,
  ``python`` is the running interpreter with ``-c RUN``, ``powershell`` is ``pwsh -NoProfile
  -NonInteractive -Command RUN``; a missing runner is a failed result with ``exit_code`` null, never a pass;
- the child gets its own process group (session on POSIX), stdin from the null device, and it never
  outlives its task: when it exits, what it left running in its group is killed; on timeout or on
  cancellation the whole group is killed, grandchildren included;
- success means the expected exit code, and the success pattern (a Python regex, MULTILINE) found in
  stdout or stderr; the full output is matched, then redacted and capped for storage.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from uet_contracts import ExecutionRequest, ExecutionResult
from uet_engine.detection.error_codes import CANCELLED, PWSH_MISSING, SH_MISSING
from uet_engine.detection.redact import DEFAULT_OUTPUT_LIMIT, Redactor, cap, decode
from uet_engine.execution.orphans import GroupRegistry

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
        self._procs: set[subprocess.Popen[bytes]] = set()
        self._registry = registry
        self.cancelled = False

    def add(self, proc: subprocess.Popen[bytes]) -> bool:
        """Register a started process; False (and the process killed) when cancellation already began."""
        with self._lock:
            if self.cancelled:
                kill_group(proc)
                return False
            self._procs.add(proc)
        if self._registry is not None and not _WINDOWS:
            self._registry.add(proc.pid)
        return True

    def discard(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.discard(proc)
        if self._registry is not None:
            self._registry.remove(proc.pid)

    def kill_all(self) -> None:
        """Kill every live process group and refuse new ones."""
        with self._lock:
            self.cancelled = True
            procs = list(self._procs)
        for proc in procs:
            kill_group(proc)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process group led by ``proc`` (POSIX) or its process tree (Windows); gone already is fine."""
    if _WINDOWS:  # pragma: no cover - exercised on Windows only
        subprocess.run(
            ["taskkill", "/F", "/T", "/PID", str(proc.pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


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


def _reader(stream: IO[bytes], sink: list[bytes]) -> None:
    sink.append(stream.read())
    stream.close()


def _now() -> datetime:
    return datetime.now(UTC)


def execute(
    request: ExecutionRequest,
    cwd: Path,
    *,
    expect_exit: int = 0,
    success_pattern: str | None = None,
    failure_pattern: str | None = None,
    env: Mapping[str, str] | None = None,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
    live: LiveProcesses | None = None,
) -> ExecutionResult:
    """Run ``request.run`` with ``request.tool`` in ``cwd`` and report the outcome; never raises for the command.

    ``env`` is the child's whole environment (the engine's own when None); the values of its
    secret-looking variables are redacted from the stored output and from nothing else. A
    ``failure_pattern`` found in the output fails the task whatever its exit code.
    """
    child_env = dict(os.environ if env is None else env)
    redact = Redactor.for_environment(child_env)
    started_at = _now()
    start = time.perf_counter()

    def result(
        success: bool,
        exit_code: int | None,
        out: bytes = b"",
        err: bytes = b"",
        *,
        timed_out: bool = False,
        error: str | None = None,
    ) -> ExecutionResult:
        return ExecutionResult(
            success=success,
            exit_code=exit_code,
            stdout=cap(redact(decode(out)), output_limit),
            stderr=cap(redact(decode(err)), output_limit),
            stdout_bytes=len(out),
            stderr_bytes=len(err),
            files_touched=[],
            started_at=started_at,
            finished_at=_now(),
            duration_s=round(time.perf_counter() - start, 6),
            timed_out=timed_out,
            error=None if error is None else redact(error),
        )

    patterns: list[re.Pattern[str] | None] = []
    for what, pattern in (("success", success_pattern), ("failure", failure_pattern)):
        try:
            patterns.append(None if pattern is None else re.compile(pattern, re.MULTILINE))
        except re.error as exc:
            return result(False, None, error=f"invalid {what} pattern {pattern!r}: {exc}")
    regex, failure = patterns
    argv = command_for(request.tool, request.run, child_env)
    if isinstance(argv, str):
        return result(False, None, error=argv)
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

    out: list[bytes] = []
    err: list[bytes] = []
    assert proc.stdout is not None and proc.stderr is not None
    readers = [
        threading.Thread(target=_reader, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=_reader, args=(proc.stderr, err), daemon=True),
    ]
    for thread in readers:
        thread.start()
    timed_out = threading.Event()

    def on_timeout() -> None:
        timed_out.set()
        kill_group(proc)

    timer = threading.Timer(request.timeout_s, on_timeout) if request.timeout_s else None
    if timer is not None:
        timer.daemon = True
        timer.start()
    try:
        exit_code = proc.wait()
    finally:
        if timer is not None:
            timer.cancel()
        # Whatever the task left running in its group (a backgrounded grandchild) dies with it.
        kill_group(proc)
        for thread in readers:
            thread.join()
        if live is not None:
            live.discard(proc)

    stdout, stderr = b"".join(out), b"".join(err)
    if timed_out.is_set():
        return result(
            False, exit_code, stdout, stderr, timed_out=True, error=f"timed out after {request.timeout_s:g} s"
        )
    if live is not None and live.cancelled:
        return result(False, exit_code, stdout, stderr, error=CANCELLED)
    if failure is not None and (failure.search(decode(stdout)) or failure.search(decode(stderr))):
        return result(
            False, exit_code, stdout, stderr, error=f"failure pattern {failure_pattern!r} found in the output"
        )
    if exit_code != expect_exit:
        return result(False, exit_code, stdout, stderr, error=f"exit code {exit_code}, expected {expect_exit}")
    if regex is not None and not (regex.search(decode(stdout)) or regex.search(decode(stderr))):
        return result(
            False, exit_code, stdout, stderr, error=f"success pattern {success_pattern!r} not found in the output"
        )
    return result(True, exit_code, stdout, stderr)
