"""The run lock: a live holder (a real subprocess) refuses a second run by name; a killed one frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from uet_engine.errors import LockHeld
from uet_engine.saving.lock import RunLock

HOLDER = """
import sys
from pathlib import Path
from uet_engine.saving.lock import RunLock
lock = RunLock(Path(sys.argv[1]), "run-holder").acquire()
print("held", flush=True)
sys.stdin.read()
"""


def start_holder(repo: Path) -> subprocess.Popen[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(repo)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n"
    return child


def test_a_second_run_is_refused_naming_the_live_one(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    try:
        with pytest.raises(LockHeld) as caught, RunLock(tmp_path, "run-second"):
            pass
        assert str(caught.value) == f"another uet run (run-holder, pid {child.pid}) is using this repo: {tmp_path}"
        assert (caught.value.run_id, caught.value.pid) == ("run-holder", child.pid)
    finally:
        child.kill()
        child.wait()


def test_a_killed_holder_leaves_the_lock_free(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    with RunLock(tmp_path, "run-next") as lock:
        assert lock.held
        assert (tmp_path / ".runs" / "uet.lock").read_text() == f"run-next {os.getpid()}\n"
    assert not lock.held
    assert (tmp_path / ".runs" / "uet.lock").read_text() == ""


def test_the_lock_is_exclusive_within_one_process_too(tmp_path: Path) -> None:
    with RunLock(tmp_path, "run-one"):
        with pytest.raises(LockHeld) as caught:
            RunLock(tmp_path, "run-two").acquire()
        assert str(caught.value) == f"another uet run (run-one, pid {os.getpid()}) is using this repo: {tmp_path}"
    with RunLock(tmp_path, "run-two"):
        pass


def test_a_refused_run_leaves_the_holders_name_in_place(tmp_path: Path) -> None:
    child = start_holder(tmp_path)
    try:
        for attempt in ("run-second", "run-third"):
            with pytest.raises(LockHeld) as caught:
                RunLock(tmp_path, attempt).acquire()
            assert (caught.value.run_id, caught.value.pid) == ("run-holder", child.pid)
        assert (tmp_path / ".runs" / "uet.lock").read_text() == f"run-holder {child.pid}\n"
    finally:
        child.kill()
        child.wait()
