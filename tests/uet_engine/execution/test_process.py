"""Running one ExecutionRequest: runners, exit codes, patterns, timeouts, process groups, redaction."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import psutil
import pytest

import uet_contracts
from uet_contracts import ExecutionRequest, ExecutionResult, FileScope
from uet_engine.detection.error_codes import PWSH_MISSING
from uet_engine.execution import process
from uet_engine.execution.process import LiveProcesses, execute

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX process groups, which Windows lacks: run these tests on Linux or macOS"
)


@pytest.fixture(autouse=True, params=["pidfd", "threads"])
def supervision(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test runs twice: with the selector over the pipes and the leader's pidfd (Linux), and with the reader
    and timer threads that the systems without pidfd use (forced here by turning the probe off)."""
    if request.param == "pidfd" and not process.pidfd_supported():  # pragma: no cover - macOS, old kernels
        pytest.skip("os.pidfd_open is missing or refused here (needs Linux 5.3 or later): run it on such a Linux")
    if request.param == "threads":
        monkeypatch.setattr(process, "pidfd_supported", lambda: False)
    return str(request.param)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The threads started while the test runs (timers included: threading.Timer is a Thread)."""
    threads: list[threading.Thread] = []
    start = threading.Thread.start

    def counted(self: threading.Thread) -> None:
        threads.append(self)
        start(self)

    monkeypatch.setattr(threading.Thread, "start", counted)
    return threads


def request(run: str, tool: str = "sh", timeout_s: float | None = None) -> ExecutionRequest:
    return ExecutionRequest(
        operation_kind="EXEC-TEST",
        tool=tool,  # type: ignore[arg-type]
        run=run,
        file_scope=FileScope(create=[], modify=[], read_only=[]),
        tools_used=[tool],
        context={},
        timeout_s=timeout_s,
    )


def valid(result: ExecutionResult) -> ExecutionResult:
    uet_contracts.validate(uet_contracts.to_dict(result), ExecutionResult)
    return result


def test_sh_success_captures_output(tmp_path: Path) -> None:
    result = valid(execute(request("echo out; echo err >&2; pwd"), tmp_path))
    assert result.success is True
    assert result.exit_code == 0
    assert result.stdout == f"out\n{tmp_path}\n"
    assert result.stderr == "err\n"
    assert result.stdout_bytes == len(result.stdout.encode())
    assert result.error is None


def test_python_runner_uses_the_running_interpreter(tmp_path: Path) -> None:
    result = execute(request("import sys; print(sys.executable)", tool="python"), tmp_path)
    assert result.success is True
    assert result.stdout == sys.executable + "\n"


def test_unexpected_exit_code_fails(tmp_path: Path) -> None:
    result = valid(execute(request("exit 3"), tmp_path))
    assert (result.success, result.exit_code, result.error) == (False, 3, "exit code 3, expected 0")


def test_expect_exit(tmp_path: Path) -> None:
    assert execute(request("exit 3"), tmp_path, expect_exit=3).success is True
    result = execute(request("exit 0"), tmp_path, expect_exit=3)
    assert (result.success, result.error) == (False, "exit code 0, expected 3")


def test_success_pattern_is_searched_multiline_in_stdout_and_stderr(tmp_path: Path) -> None:
    assert execute(request("echo first; echo '3 passed'"), tmp_path, success_pattern="^3 passed$").success is True
    assert execute(request("echo '1 passed' >&2"), tmp_path, success_pattern="passed").success is True
    result = execute(request("echo '1 failed'"), tmp_path, success_pattern="passed")
    assert (result.success, result.exit_code) == (False, 0)
    assert result.error == "success pattern 'passed' not found in the output"


def test_failure_pattern_fails_the_task_whatever_its_exit_code(tmp_path: Path) -> None:
    result = execute(request("echo '2 passed'; echo 'E   AssertionError' >&2"), tmp_path, failure_pattern="^E +")
    assert (result.success, result.exit_code) == (False, 0)
    assert result.error == "failure pattern '^E +' found in the output"
    assert execute(request("echo fine"), tmp_path, failure_pattern="^E +", success_pattern="fine").success is True
    bad = execute(request("touch ran"), tmp_path, failure_pattern="[")
    assert bad.error is not None and bad.error.startswith("invalid failure pattern '[': ")
    assert not (tmp_path / "ran").exists()


def test_invalid_success_pattern_fails_without_running(tmp_path: Path) -> None:
    result = execute(request("touch ran"), tmp_path, success_pattern="(")
    assert result.success is False and result.exit_code is None
    assert result.error is not None and result.error.startswith("invalid success pattern '(': ")
    assert not (tmp_path / "ran").exists()


def test_stdin_is_empty(tmp_path: Path) -> None:
    result = execute(request("import sys; print(repr(sys.stdin.read()))", tool="python"), tmp_path)
    assert result.stdout == "''\n"


def test_timeout_kills_the_whole_group_including_grandchildren(tmp_path: Path) -> None:
    # The grandchild records its pid, then sleeps far longer than the limit.
    script = "sh -c 'echo $$ > grandchild.pid; exec sleep 300' & wait"
    result = valid(execute(request(script, timeout_s=1), tmp_path))
    assert result.success is False
    assert result.timed_out is True
    assert result.error == "timed out after 1 s"
    pid = int((tmp_path / "grandchild.pid").read_text())
    assert dies(pid)


# A grandchild in a session of its own, out of killpg's reach; it records its pid, then sleeps.
ESCAPE = """
import os, subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
with open("escaped.tmp", "w") as out:
    out.write(str(child.pid))
os.replace("escaped.tmp", "escaped.pid")
time.sleep(300)
"""


def test_timeout_kills_descendants_that_left_the_group(tmp_path: Path) -> None:
    result = execute(request(ESCAPE, tool="python", timeout_s=2), tmp_path)
    assert result.timed_out is True
    pid = int((tmp_path / "escaped.pid").read_text())
    assert dies(pid)


def test_cancellation_kills_descendants_that_left_the_group(tmp_path: Path) -> None:
    live = LiveProcesses()
    thread = threading.Thread(target=lambda: execute(request(ESCAPE, tool="python"), tmp_path, live=live))
    thread.start()
    while not (tmp_path / "escaped.pid").exists():
        threading.Event().wait(0.01)
    live.kill_all()
    thread.join()
    assert dies(int((tmp_path / "escaped.pid").read_text()))


def test_background_leftovers_are_killed_when_the_task_ends(tmp_path: Path) -> None:
    script = "sh -c 'echo $$ > bg.tmp; mv bg.tmp bg.pid; exec sleep 300' >/dev/null 2>&1 & "
    script += "while [ ! -f bg.pid ]; do sleep 0.01; done"
    result = execute(request(script), tmp_path)
    assert result.success is True
    pid = int((tmp_path / "bg.pid").read_text())
    assert dies(pid)


def dies(pid: int) -> bool:
    """Whether ``pid`` is gone; SIGKILL lands asynchronously, so allow it a generous moment."""
    for _ in range(1000):
        if not _alive(pid):
            return True
        threading.Event().wait(0.01)
    return False


def _alive(pid: int) -> bool:
    # A killed child of a reaped parent is reaped by init; until then it is a zombie, which counts as dead.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def test_one_thread_or_none_reads_both_pipes_while_the_child_fills_them_in_turn(
    tmp_path: Path, started: list[threading.Thread], supervision: str
) -> None:
    """One selector reads stdout and stderr, in the calling thread with a pidfd, else in one reader thread: a child
    that fills stderr's pipe (64 KiB) before it writes stdout, then the other way round, finishes, and every byte
    of both is counted."""
    run = (
        "import sys\n"
        "for out in (sys.stderr, sys.stdout, sys.stderr, sys.stdout):\n"
        "    out.write('e' * 300_000 if out is sys.stderr else 'o' * 200_000); out.flush()\n"
    )
    result = valid(execute(request(run, tool="python"), tmp_path))
    assert result.success, result.error
    assert (result.stdout_bytes, result.stderr_bytes) == (400_000, 600_000)
    assert len(started) == (0 if supervision == "pidfd" else 1)


def test_a_timeout_starts_no_timer_thread_with_a_pidfd(
    tmp_path: Path, started: list[threading.Thread], supervision: str
) -> None:
    result = execute(request("echo done", timeout_s=60), tmp_path)
    assert (result.success, result.stdout, result.timed_out) == (True, "done\n", False)
    # The threaded path: the reader and the timer.
    assert len(started) == (0 if supervision == "pidfd" else 2)


def test_secrets_are_redacted_from_stdout_stderr_and_error(tmp_path: Path) -> None:
    env = {**os.environ, "DEPLOY_TOKEN": "hunter2-very-secret"}
    result = execute(request("echo $DEPLOY_TOKEN; echo $DEPLOY_TOKEN >&2; exit 1"), tmp_path, env=env)
    assert result.stdout == "***\n"
    assert result.stderr == "***\n"
    assert result.stdout_bytes == len("hunter2-very-secret\n")


def test_output_is_capped_with_full_size_recorded(tmp_path: Path) -> None:
    result = valid(execute(request("print('x' * 5000, end='')", tool="python"), tmp_path, output_limit=100))
    assert result.stdout == "x" * 50 + "\n[… 4900 bytes omitted …]\n" + "x" * 50
    assert result.stdout_bytes == 5000


def test_pattern_matches_the_full_output_not_the_capped_one(tmp_path: Path) -> None:
    code = "print('x' * 5000); print('MARKER'); print('y' * 5000)"
    result = execute(request(code, tool="python"), tmp_path, output_limit=100, success_pattern="^MARKER$")
    assert result.success is True
    assert "MARKER" not in result.stdout


@pytest.mark.skipif(
    shutil.which("pwsh") is not None,
    reason="checks what happens without PowerShell, but pwsh is installed: run it where pwsh is not",
)
def test_missing_pwsh_is_a_clear_failure(tmp_path: Path) -> None:
    result = valid(execute(request("Write-Output hi", tool="powershell"), tmp_path))
    assert (result.success, result.exit_code, result.error) == (False, None, PWSH_MISSING)


@pytest.mark.skipif(
    shutil.which("pwsh") is None,
    reason="PowerShell (pwsh) is not installed: install PowerShell 7 to test the powershell runner",
)
def test_pwsh_runs_when_installed(tmp_path: Path) -> None:  # pragma: no cover - needs pwsh
    result = execute(request("Write-Output hi", tool="powershell"), tmp_path)
    assert (result.success, result.stdout) == (True, "hi\n")


def test_kill_all_stops_running_tasks_and_refuses_new_ones(tmp_path: Path) -> None:
    live = LiveProcesses()
    results: list[ExecutionResult] = []
    thread = threading.Thread(
        target=lambda: results.append(execute(request("echo started > started; exec sleep 300"), tmp_path, live=live))
    )
    thread.start()
    while not (tmp_path / "started").exists():
        threading.Event().wait(0.01)
    live.kill_all()
    thread.join()
    assert results[0].success is False
    assert results[0].error == "cancelled before it finished"
    assert results[0].exit_code == -9
    after = execute(request("touch late"), tmp_path, live=live)
    assert (after.success, after.exit_code, after.error) == (False, None, "cancelled before it finished")
    assert not (tmp_path / "late").exists()


def test_a_catastrophic_success_pattern_fails_within_the_checks_timeout(tmp_path: Path) -> None:
    """``(\\w+\\s?)*$`` on 5,000 letters and a '!' backtracks for hours; the limit is what is left of timeout_s."""
    run = "import sys; sys.stdout.write('a' * 5000 + '!')"
    result = valid(execute(request(run, tool="python", timeout_s=2), tmp_path, success_pattern=r"(\w+\s?)*$"))
    assert (result.success, result.timed_out) == (False, True)
    assert result.error is not None
    assert result.error.startswith(r"success pattern '(\\w+\\s?)*$' took longer than the rest of its timeout_s (")


def test_a_catastrophic_pattern_without_timeout_has_the_default_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "PATTERN_LIMIT_S", 0.5)
    run = "import sys; sys.stdout.write('a' * 5000 + '!')"
    result = execute(request(run, tool="python"), tmp_path, success_pattern=r"(\w+\s?)*$")
    assert result.error == r"success pattern '(\\w+\\s?)*$' took longer than 0.5 s to match; simplify it"


def test_the_pattern_dialect_is_pythons(tmp_path: Path) -> None:
    assert execute(request("echo 'ok 12'"), tmp_path, success_pattern=r"^ok (?P<n>\d+)$").success is True


def test_200_mb_of_output_stays_small_in_memory(tmp_path: Path, supervision: str) -> None:
    """The output is streamed into its head and tail: the engine's peak memory stays far below the output."""
    code = (
        "import resource, sys; from pathlib import Path;"
        "from uet_contracts import ExecutionRequest, FileScope;"
        "from uet_engine.execution.process import execute;"
        "r = ExecutionRequest(operation_kind='EXEC-TEST', tool='sh',"
        " run='head -c 209715200 /dev/zero | tr \"\\\\0\" x',"
        " file_scope=FileScope(create=[], modify=[], read_only=[]), tools_used=['sh'], context={});"
        "from uet_engine.execution import process;"
        f"process.pidfd_supported = lambda: {supervision == 'pidfd'};"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;"
        "res = execute(r, Path(sys.argv[1]));"
        "print(res.stdout_bytes, len(res.stdout), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, before)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    total, stored, peak_kib, before_kib = (int(x) for x in done.stdout.split())
    assert total == 200 * 1024 * 1024
    assert stored < 70 * 1024
    # What the output adds to the process (its imports alone vary with what the environment has installed:
    # about 25 MB here, more when a test has put packages with entry points beside the engine).
    assert peak_kib - before_kib < 50 * 1024, f"peak {peak_kib} KiB, {before_kib} KiB after the imports"


@pytest.mark.timeout(60)  # the bug this catches is a hang until the grandchild's 300 s sleep ends
def test_a_grandchild_holding_the_pipes_after_the_leader_exits_is_killed_and_the_command_ends(tmp_path: Path) -> None:
    """The leader exits while a backgrounded grandchild still holds stdout and stderr open: the group kill after
    the leader's exit closes them, so reading them ends instead of waiting for the grandchild's 300 s."""
    script = "sh -c 'echo $$ > bg.tmp; mv bg.tmp bg.pid; echo from-grandchild; exec sleep 300' & "
    script += "while [ ! -f bg.pid ]; do sleep 0.01; done; echo leader-done"
    result = valid(execute(request(script), tmp_path))
    assert (result.success, result.exit_code, result.error) == (True, 0, None)
    assert sorted(result.stdout.splitlines()) == ["from-grandchild", "leader-done"]
    assert dies(int((tmp_path / "bg.pid").read_text()))


def test_a_timeout_while_output_still_streams(tmp_path: Path) -> None:
    """``yes`` writes without pause until the timeout kills it: the result is the timeout, with what arrived."""
    result = valid(execute(request("exec yes", timeout_s=1), tmp_path, output_limit=100))
    assert (result.success, result.timed_out, result.error) == (False, True, "timed out after 1 s")
    assert result.exit_code == -signal.SIGKILL
    assert result.stdout_bytes > 100
    assert result.stdout.startswith("y\ny\n")
    assert "bytes omitted" in result.stdout


def test_more_than_a_pipe_buffer_on_both_streams_at_once(tmp_path: Path) -> None:
    """Two writers fill stdout and stderr (1 MiB each, far above the 64 KiB pipe buffer) at the same time: both are
    read as they fill, so neither blocks the other, and every byte is counted."""
    script = "head -c 1048576 /dev/zero | tr '\\0' o & head -c 1048576 /dev/zero | tr '\\0' e >&2; wait"
    result = valid(execute(request(script), tmp_path, output_limit=64))
    assert (result.success, result.stdout_bytes, result.stderr_bytes) == (True, 1048576, 1048576)
    assert result.stdout == "o" * 32 + "\n[… 1048512 bytes omitted …]\n" + "o" * 32
    assert result.stderr == "e" * 32 + "\n[… 1048512 bytes omitted …]\n" + "e" * 32


def test_a_child_that_closes_stdout_early_still_finishes(tmp_path: Path) -> None:
    result = valid(execute(request("echo first; exec >&-; sleep 0.2; echo after >&2; exit 4"), tmp_path))
    assert (result.exit_code, result.stdout, result.stderr) == (4, "first\n", "after\n")


def test_binary_output_is_counted_whole_and_decoded_with_replacements(tmp_path: Path) -> None:
    run = "import sys; sys.stdout.buffer.write(bytes(range(256))); sys.stderr.buffer.write(b'\\xff\\xfe ok')"
    result = valid(execute(request(run, tool="python"), tmp_path))
    assert (result.success, result.stdout_bytes, result.stderr_bytes) == (True, 256, 5)
    assert result.stdout == bytes(range(256)).decode("utf-8", errors="replace")
    assert result.stderr == "\ufffd\ufffd ok"


def test_no_file_descriptor_or_thread_is_left_behind(tmp_path: Path) -> None:
    """200 commands, a few of them timed out, leave the engine with the file descriptors and threads it had (the
    threaded path's cancelled timers once they have ended)."""
    me = psutil.Process()
    execute(request("true"), tmp_path)  # first use: the probe and lazy imports open what they keep open
    fds, threads = me.num_fds(), set(threading.enumerate())
    for n in range(200):
        result = execute(
            request("exec sleep 5" if n % 50 == 0 else "true", timeout_s=0.05 if n % 50 == 0 else 30), tmp_path
        )
        assert result.timed_out is (n % 50 == 0)
    for thread in set(threading.enumerate()) - threads:
        thread.join(30)  # a cancelled timer ends on its own, just after execute returned
    assert (me.num_fds(), set(threading.enumerate())) == (fds, threads)


def test_without_a_pidfd_for_the_child_the_command_runs_the_threaded_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Out of file descriptors (EMFILE) for the child's pidfd is no failure: the command runs with threads."""

    def refused(pid: int, flags: int = 0) -> int:
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(process.os, "pidfd_open", refused)
    result = valid(execute(request("echo out; echo err >&2"), tmp_path, expect_output="err"))
    assert (result.success, result.stdout, result.stderr) == (True, "out\n", "err\n")


def test_the_probe_answers_false_without_pidfd_open_or_when_it_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(pid: int, flags: int = 0) -> int:
        raise PermissionError(1, "Operation not permitted")  # what a seccomp filter answers

    monkeypatch.setattr(process.os, "pidfd_open", refused)
    assert process.probe_pidfd() is False
    monkeypatch.delattr(process.os, "pidfd_open")
    assert process.probe_pidfd() is False


@pytest.mark.skipif(
    sys.platform != "linux" or tuple(int(n) for n in re.findall(r"\d+", os.uname().release)[:2]) < (5, 3),
    reason="pidfds need Linux 5.3 or later: run it on such a Linux",
)
def test_the_probe_answers_true_on_linux_5_3_and_later() -> None:
    assert process.probe_pidfd() is True


@pytest.mark.timeout(60)  # the bug this catches is a hang until the daemon's 300 s sleep ends
def test_a_daemon_in_a_session_of_its_own_holding_the_pipes_does_not_keep_the_command_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A command starts a process in a session of its own that inherits stdout and stderr and outlives it (nothing
    confines it here: the group kill cannot reach it). The output is read for ``OUTPUT_GRACE_S`` more, then the
    command is over, with what arrived."""
    monkeypatch.setattr(process, "OUTPUT_GRACE_S", 0.3)
    code = (
        "import subprocess; daemon = subprocess.Popen(['sleep', '300'], start_new_session=True);"
        "open('daemon.pid', 'w').write(str(daemon.pid)); print('started', flush=True)"
    )
    try:
        result = valid(execute(request(code, tool="python"), tmp_path))
        assert (result.success, result.exit_code, result.error, result.stdout) == (True, 0, None, "started\n")
    finally:
        os.kill(int((tmp_path / "daemon.pid").read_text()), signal.SIGKILL)
