"""Time and run ids for the engine: one place that decides what "now" is and how runs are named.

Records carry aware UTC timestamps (the schemas demand a time zone), and run ids sort by the time
they were made so ``ls .ledger/patches`` and ``uet runs list`` read in order without a lookup.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

# File times tick coarsely (the kernel's clock tick, or a file system's granularity): a file changed this
# recently may change again with the same times, so a stamp of it proves nothing yet (git's "racy" files).
RACY_NS = 2_000_000_000


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
    for that to hold (``RACY_NS``)."""
    if time.time_ns() - max(info.st_ctime_ns, info.st_mtime_ns) < RACY_NS:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
