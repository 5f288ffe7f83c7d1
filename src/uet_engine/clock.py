"""Time and run ids for the engine: one place that decides what "now" is and how runs are named.

Records carry aware UTC timestamps (the schemas demand a time zone), and run ids sort by the time
they were made so ``ls .ledger/patches`` and ``uet runs list`` read in order without a lookup.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime

# File times tick coarsely: a file changed this recently may change again with the same times, so a stamp of it
# proves nothing yet (git's "racy" files). How coarsely shows in the times themselves: a file system that keeps
# whole seconds (or two: FAT) writes whole seconds, and there the window is RACY_NS; one that keeps finer times
# still ticks with the kernel's coarse clock (1-10 ms), and there FINE_RACY_NS is five of its slowest ticks. On
# Windows the last-write time may be set lazily, so the wide window holds there whatever the times say.
RACY_NS = 2_000_000_000
FINE_RACY_NS = 50_000_000
_WINDOWS = sys.platform == "win32"


def utc_now() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def new_run_id(now: datetime | None = None) -> str:
    """A fresh RunId: ``run-YYYYMMDDTHHMMSSffffffZ-xxxxxx``, sortable by creation time and unique.

    The microsecond timestamp orders ids made one after another; the random suffix keeps two ids made
    in the same microsecond (or on two machines) apart (``os.urandom``, what ``secrets`` draws from; that
    module and its imports cost more to load than a run id is worth to ``uet runs list``, which needs this one).
    """
    moment = (now or utc_now()).astimezone(UTC)
    return f"run-{moment:%Y%m%dT%H%M%S%f}Z-{os.urandom(3).hex()}"


def file_stamp(info: os.stat_result) -> tuple[int, int, int, int] | None:
    """A file's inode, size, mtime and ctime, which any later write or replacement changes (no process can set
    the ctime back), so an unchanged stamp means unchanged bytes; None while the file is too recently changed
    for that to hold (``racy_window``)."""
    if time.time_ns() - max(info.st_ctime_ns, info.st_mtime_ns) < racy_window(info):
        return None
    return stamp_of(info)


def stamp_of(info: os.stat_result) -> tuple[int, int, int, int]:
    """``file_stamp``'s four values, settled or not: what a settled stamp taken earlier is compared with."""
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def racy_window(info: os.stat_result) -> int:
    """How long after its last change a file's stamp cannot yet tell a later change: ``RACY_NS`` where its times
    are whole seconds (or on Windows), ``FINE_RACY_NS`` where they are finer (see those constants)."""
    whole_seconds = info.st_mtime_ns % 1_000_000_000 == 0 or info.st_ctime_ns % 1_000_000_000 == 0
    return RACY_NS if _WINDOWS or whole_seconds else FINE_RACY_NS
