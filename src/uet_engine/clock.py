"""Time and run ids for the engine: one place that decides what "now" is and how runs are named.

Records carry aware UTC timestamps (the schemas demand a time zone), and run ids sort by the time
they were made so ``ls .ledger/patches`` and ``uet runs list`` read in order without a lookup.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime


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
