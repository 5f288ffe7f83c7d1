"""The registry of live process groups: a group left by a dead engine is killed, an unrelated one never."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.uet_engine.execution.test_process import ESCAPE, _alive, dies
from uet_engine.execution.orphans import GROUPS_DIR, GroupRegistry

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX process groups, which Windows lacks: run these tests on Linux or macOS"
)


def _sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def test_a_listed_group_whose_leader_still_runs_is_killed(tmp_path: Path) -> None:
    proc = _sleeper()
    try:
        GroupRegistry(tmp_path).add(proc.pid)
        assert (tmp_path / GROUPS_DIR / str(proc.pid)).is_file()
        assert GroupRegistry(tmp_path).kill_leftovers() == [proc.pid]
        proc.wait(timeout=30)
        assert dies(proc.pid)
        assert list((tmp_path / GROUPS_DIR).iterdir()) == []
    finally:
        proc.kill()


def test_a_recycled_process_id_is_never_killed(tmp_path: Path) -> None:
    proc = _sleeper()
    try:
        (tmp_path / GROUPS_DIR).mkdir(parents=True)
        (tmp_path / GROUPS_DIR / str(proc.pid)).write_text("1", encoding="ascii")  # another process's start time
        assert GroupRegistry(tmp_path).kill_leftovers() == []
        assert _alive(proc.pid)
        assert list((tmp_path / GROUPS_DIR).iterdir()) == []
    finally:
        proc.kill()
        proc.wait()


def test_a_group_that_ended_normally_is_forgotten(tmp_path: Path) -> None:
    registry = GroupRegistry(tmp_path)
    registry.add(os.getpid())
    registry.remove(os.getpid())
    registry.remove(os.getpid())  # twice is fine
    assert registry.kill_leftovers() == []


def test_a_listed_group_is_killed_with_the_descendants_that_left_it(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", ESCAPE], cwd=tmp_path, start_new_session=True)
    try:
        while not (tmp_path / "escaped.pid").exists():
            threading.Event().wait(0.01)
        GroupRegistry(tmp_path).add(proc.pid)
        assert GroupRegistry(tmp_path).kill_leftovers() == [proc.pid]
        proc.wait(timeout=30)
        assert dies(int((tmp_path / "escaped.pid").read_text()))
    finally:
        proc.kill()


def test_a_group_written_down_with_its_leaders_handle_has_the_same_start_time(tmp_path: Path) -> None:
    """``execute`` writes each group down from the psutil handle it already holds: the time must be the one a
    fresh look at the process reads, or the next run would leave the group running."""
    import psutil

    from uet_engine.execution.orphans import start_time

    proc = _sleeper()
    try:
        GroupRegistry(tmp_path).add(proc.pid, psutil.Process(proc.pid))
        assert (tmp_path / GROUPS_DIR / str(proc.pid)).read_text(encoding="ascii") == start_time(proc.pid)
        assert GroupRegistry(tmp_path).kill_leftovers() == [proc.pid]
        proc.wait(timeout=30)
    finally:
        proc.kill()


def test_the_registry_folder_is_made_again_when_it_was_removed(tmp_path: Path) -> None:
    registry = GroupRegistry(tmp_path)
    registry.add(os.getpid())
    (tmp_path / GROUPS_DIR / str(os.getpid())).unlink()
    (tmp_path / GROUPS_DIR).rmdir()
    registry.add(os.getpid())
    assert [p.name for p in (tmp_path / GROUPS_DIR).iterdir()] == [str(os.getpid())]
    registry.remove(os.getpid())
