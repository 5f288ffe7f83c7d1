"""Process groups a killed engine left running, found and ended by the next run.

Why: every step runs in a process group of its own, so that a timeout or Ctrl-C can kill it with its
grandchildren. The flip side is that a ``kill -9`` of ``uet run`` leaves that group running with no
parent to end it. So each live group is written down as a file ``.runs/pgroups/<pgid>`` holding the
leader's start time; the file goes when the group ends. The next run, once it holds the repository's
lock (so no live engine owns those groups), kills every group still listed whose leader has the same
start time — a recycled process id never matches, so no unrelated process is touched.

The start time is psutil's (``Process.create_time()``), on Linux, macOS and Windows alike; Windows has
no process groups, so there the leader's process tree is killed instead (``process.kill_tree``). Where
the start time cannot be read, a group is not written down, and a listed group is left alone with only
its file removed: killing by a bare process id could hit an unrelated process. So is a group whose start
time reads differently after the system clock was stepped (psutil counts from the boot time, which a
clock step moves): the safe side of the mistake.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from uet_engine.execution.process import kill_tree

if TYPE_CHECKING:
    import psutil

GROUPS_DIR = Path(".runs") / "pgroups"


def _started(process: psutil.Process) -> str:
    """The start time written down for a leader: psutil's seconds since the epoch, as exact text."""
    return repr(process.create_time())


def start_time(pid: int) -> str | None:
    """When ``pid`` started, or None where it cannot be read."""
    import psutil  # here, not at the top: dry runs and the other commands never need it (about 10 ms)

    try:
        return _started(psutil.Process(pid))
    except psutil.Error:
        return None


class GroupRegistry:
    """The on-disk list of this engine's live process groups in one repository."""

    def __init__(self, repo: Path) -> None:
        self.folder = repo / GROUPS_DIR

    def add(self, pgid: int, leader: psutil.Process | None = None) -> None:
        """Write down a live group, with its leader's start time (read from ``leader`` when given: psutil
        keeps the time it read when the handle was made, so no second look at the process is needed)."""
        started = start_time(pgid) if leader is None else _started(leader)
        if started is None:
            return
        path = self.folder / str(pgid)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except FileNotFoundError:  # the first group (the folder is made once, not before every command), or removed
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, started.encode("ascii"))
        finally:
            os.close(fd)

    def remove(self, pgid: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / str(pgid)).unlink()

    def kill_leftovers(self) -> list[int]:
        """Kill the groups a dead engine left behind; the ids of those killed. Call only under the run lock."""
        import psutil

        killed: list[int] = []
        if not self.folder.is_dir():
            return killed
        for entry in sorted(self.folder.iterdir()):
            if entry.name.isdigit():
                pgid = int(entry.name)
                recorded = entry.read_text(encoding="ascii").strip()
                with contextlib.suppress(psutil.Error):
                    leader = psutil.Process(pgid)
                    if recorded and _started(leader) == recorded:
                        kill_tree(pgid, leader)
                        killed.append(pgid)
            entry.unlink(missing_ok=True)
        return killed
