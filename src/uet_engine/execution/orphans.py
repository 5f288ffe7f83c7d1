"""Process groups a killed engine left running, found and ended by the next run.

Why: every step runs in a process group of its own, so that a timeout or Ctrl-C can kill it with its
grandchildren. The flip side is that a ``kill -9`` of ``uet run`` leaves that group running with no
parent to end it. So each live group is written down as a file ``.runs/pgroups/<pgid>`` holding the
leader's start time; the file goes when the group ends. The next run, once it holds the repository's
lock (so no live engine owns those groups), kills every group still listed whose leader has the same
start time — a recycled process id never matches, so no unrelated process is touched.

The start time comes from ``/proc`` (Linux). Where there is none, a listed group is left alone and
only its file is removed: killing by a bare process id could hit an unrelated process.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

GROUPS_DIR = Path(".runs") / "pgroups"


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (clock ticks since boot), or None where it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    except OSError:
        return None
    # Field 2 (the command) may hold spaces and parentheses: count fields after its closing ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


class GroupRegistry:
    """The on-disk list of this engine's live process groups in one repository."""

    def __init__(self, repo: Path) -> None:
        self.folder = repo / GROUPS_DIR

    def add(self, pgid: int) -> None:
        started = _start_time(pgid)
        if started is None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / str(pgid)).write_text(started, encoding="ascii")

    def remove(self, pgid: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.folder / str(pgid)).unlink()

    def kill_leftovers(self) -> list[int]:
        """Kill the groups a dead engine left behind; the ids of those killed. Call only under the run lock."""
        killed: list[int] = []
        if not self.folder.is_dir():
            return killed
        for entry in sorted(self.folder.iterdir()):
            if entry.name.isdigit():
                pgid = int(entry.name)
                recorded = entry.read_text(encoding="ascii").strip()
                if recorded and _start_time(pgid) == recorded and hasattr(os, "killpg"):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pgid, signal.SIGKILL)
                        killed.append(pgid)
            entry.unlink(missing_ok=True)
        return killed
