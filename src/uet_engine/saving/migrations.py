"""Schema versions of the run store, and the migrations that bring an older store up to this one.

Why a module of its own: a store outlives the engine that made it, so every change to its tables is a
numbered step here, applied in order inside one ``BEGIN IMMEDIATE`` transaction when the store is
opened (SQLite's ``user_version`` says which steps a store has had). A failed step leaves the store as
it was. A store newer than this engine is refused, never downgraded.

- version 1: the tables of ``store._DDL``.
- version 2: ``runs`` (one row per run: its id and when it started, indexed by start time) so that
  ``uet runs list`` reads only the runs it prints; an index of ``run_events`` by run, so that a run's
  timeline (``uet runs show``, ``--resume``) is read without a scan of every event ever written.
  The runs of a version-1 store get their ``runs`` row from their workstreams' ``created_at``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

CURRENT: Final = 2

RUNS_DDL = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at, run_id);
CREATE INDEX IF NOT EXISTS run_events_by_run ON run_events (run_id, seq);
"""


def started_text(moment: datetime) -> str:
    """How ``runs.started_at`` is written: UTC, fixed width, so text order is time order."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def statements(ddl: str) -> list[str]:
    """The statements of a DDL text, to run one by one (``executescript`` would commit the transaction)."""
    return [part.strip() for part in ddl.split(";") if part.strip()]


def _to_2(db: sqlite3.Connection) -> None:
    for statement in statements(RUNS_DDL):
        db.execute(statement)
    first: dict[str, datetime] = {}
    for run_id, text in db.execute("SELECT run_id, record FROM uet_runs"):
        try:
            created = datetime.fromisoformat(json.loads(text)["created_at"].replace("Z", "+00:00"))
        except (ValueError, KeyError, TypeError):
            continue  # an unreadable row: `uet runs verify` reports it; the run gets a row from its others
        if run_id not in first or created < first[run_id]:
            first[run_id] = created
    db.executemany(
        "INSERT OR IGNORE INTO runs (run_id, started_at) VALUES (?, ?)",
        sorted((run_id, started_text(moment)) for run_id, moment in first.items()),
    )


# Step n brings a store from version n to n + 1.
STEPS: Final[dict[int, Callable[[sqlite3.Connection], None]]] = {1: _to_2}


def migrate(db: sqlite3.Connection, version: int) -> int:
    """Applies every step from ``version`` to ``CURRENT`` in one transaction; returns the new version.

    Raises ``ValueError`` for a version this engine has no way up from (0 is an empty store: no steps).
    """
    if version == CURRENT:
        return version
    if version not in STEPS:
        raise ValueError(f"store schema version {version}, this uet reads versions 1 to {CURRENT}")
    db.execute("BEGIN IMMEDIATE")
    try:
        # Read again under the write lock: another process may have migrated in the meantime.
        now = db.execute("PRAGMA user_version").fetchone()[0]
        while now < CURRENT:
            STEPS[now](db)
            now += 1
        db.execute(f"PRAGMA user_version = {CURRENT}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return CURRENT
