"""Running one ExecutionRequest: runners, exit codes, patterns, timeouts, process groups, redaction."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import uet_contracts
from uet_contracts import ExecutionRequest, ExecutionResult, FileScope
from uet_engine.detection.error_codes import PWSH_MISSING
from uet_engine.execution import process
from uet_engine.execution.process import LiveProcesses, execute

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX process groups, which Windows lacks: run these tests on Linux or macOS"
)


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


def test_one_thread_reads_both_pipes_while_the_child_fills_them_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On POSIX one selector thread reads stdout and stderr: a child that fills stderr's pipe (64 KiB) before it
    writes stdout, then the other way round, finishes, and every byte of both is counted."""
    started: list[threading.Thread] = []

    class Counted(threading.Thread):
        def start(self) -> None:
            started.append(self)
            super().start()

    monkeypatch.setattr(process.threading, "Thread", Counted)
    run = (
        "import sys\n"
        "for out in (sys.stderr, sys.stdout, sys.stderr, sys.stdout):\n"
        "    out.write('e' * 300_000 if out is sys.stderr else 'o' * 200_000); out.flush()\n"
    )
    result = valid(execute(request(run, tool="python"), tmp_path))
    assert result.success, result.error
    assert (result.stdout_bytes, result.stderr_bytes) == (400_000, 600_000)
    assert len(started) == 1


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


def test_200_mb_of_output_stays_small_in_memory(tmp_path: Path) -> None:
    """The output is streamed into its head and tail: the engine's peak memory stays far below the output."""
    code = (
        "import resource, sys; from pathlib import Path;"
        "from uet_contracts import ExecutionRequest, FileScope;"
        "from uet_engine.execution.process import execute;"
        "r = ExecutionRequest(operation_kind='EXEC-TEST', tool='sh',"
        " run='head -c 209715200 /dev/zero | tr \"\\\\0\" x',"
        " file_scope=FileScope(create=[], modify=[], read_only=[]), tools_used=['sh'], context={});"
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
