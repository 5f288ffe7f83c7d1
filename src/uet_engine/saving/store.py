"""The run store: ``<repo>/.runs/uet.sqlite``, where every run, attempt, event and patch is recorded.

Each table keeps a few indexed key columns for lookups plus a ``record`` column holding the contract
instance as validated JSON (see ``codec``), so what is stored is exactly what the schemas describe and
``uet runs verify`` can re-check it. ``execution_logs`` also spreads its record over the columns of the
original pipeline design (timestamp, operation_kind, file_types, … — lists and context as JSON text), so
a plain SQL query and the pattern miner read them without decoding records. A store of an older schema
version is upgraded when it is opened (``MIGRATIONS``, one transaction per step). ``runs`` (one row per
run, indexed by start time) and an index of events by run let history queries (``saving.history``)
read only what they return. SQLite runs in WAL mode with ``synchronous=NORMAL`` (a commit survives a
crash of the process; Prefect uses the same settings); with ``sync_final`` set (``--durability full``) a
workstream's final state is committed at ``synchronous=FULL``, so it and everything committed before it
also survive a power loss. Writes take ``BEGIN IMMEDIATE`` so they never deadlock on a lock upgrade, and a status
change commits in the same transaction as the ``state_changed`` event that records it. One writer, the
coordinator, owns a ``RunStore``. Each run event carries the SHA-256 of the run's event before it
(``prev_sha256``, a hash chain per run in ``seq`` order), so ``uet runs verify`` finds an event deleted,
inserted, reordered or altered, and pruning whole runs leaves the others' chains whole.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TypeVar

from uet_contracts import (
    AntiPattern,
    AuditEvent,
    ErrorEvent,
    ExecutionLog,
    PatchLedgerEntry,
    PatternCandidate,
    RunEvent,
    RunEventType,
    RunRecord,
    RunStatus,
    StepAttempt,
)
from uet_engine import clock
from uet_engine.errors import IllegalTransition, RecordsUnwritable, SavingInvariantError, StoreError, StoreMissing
from uet_engine.saving import codec, ledger
from uet_engine.saving.audit import AuditLog
from uet_engine.states import AUDIT_FOR_STATUS, ENTRY_STATUS, FINAL_STATUSES, IN_FLIGHT_STATUSES, TRANSITIONS, may_enter

T = TypeVar("T")

STORE_FILE = Path(".runs") / "uet.sqlite"
KNOWN_TEXTS = 4096  # rows whose decoded instance a store keeps (``RunStore._known_texts``)
SCHEMA_VERSION: Final = 3
BUSY_TIMEOUT_MS: Final = 10_000

_EXECUTION_LOGS = """CREATE TABLE IF NOT EXISTS {name} (
    id INTEGER PRIMARY KEY,
    timestamp TEXT NOT NULL,
    operation_kind TEXT NOT NULL,
    file_types TEXT NOT NULL,
    tools_used TEXT NOT NULL,
    input_signature TEXT NOT NULL,
    output_signature TEXT NOT NULL,
    success INTEGER NOT NULL,
    time_taken_seconds REAL NOT NULL,
    context TEXT NOT NULL,
    record TEXT NOT NULL
);"""
_PATTERN_TABLES = """CREATE TABLE IF NOT EXISTS pattern_candidates (
    id INTEGER PRIMARY KEY,
    candidate_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS anti_patterns (
    id INTEGER PRIMARY KEY,
    anti_pattern_id TEXT NOT NULL UNIQUE,
    status TEXT,
    signature TEXT NOT NULL,
    record TEXT NOT NULL
);
-- Proven uses are counted from the logs of templated specs only: a partial index finds them without a scan.
CREATE INDEX IF NOT EXISTS execution_logs_by_pattern ON execution_logs (json_extract(context, '$.pattern_id'))
    WHERE json_extract(context, '$.pattern_id') IS NOT NULL;
"""

# The history indexes (version 3): one row per run by start time (``started_text``), and events by run.
# The events index costs each single-row event commit one more B-tree page (bench_store measures it);
# it keeps ``uet runs show`` and ``--resume`` flat as the history grows.
_HISTORY = """CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at, run_id);
CREATE INDEX IF NOT EXISTS run_events_by_run ON run_events (run_id, seq);"""

_DDL = f"""
CREATE TABLE IF NOT EXISTS uet_runs (
    run_id TEXT NOT NULL,
    workstream_id TEXT NOT NULL,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (run_id, workstream_id)
);
CREATE INDEX IF NOT EXISTS uet_runs_by_workstream ON uet_runs (workstream_id, status);
CREATE INDEX IF NOT EXISTS uet_runs_by_status ON uet_runs (status);
CREATE TABLE IF NOT EXISTS step_attempts (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    workstream_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    idx INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (run_id, workstream_id, kind, idx, attempt)
);
CREATE TABLE IF NOT EXISTS run_events (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    workstream_id TEXT,
    event_type TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patch_ledger (
    id INTEGER PRIMARY KEY,
    patch_id TEXT NOT NULL UNIQUE,
    run_id TEXT NOT NULL,
    workstream_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS patch_ledger_by_run ON patch_ledger (run_id, workstream_id);
{_EXECUTION_LOGS.format(name="execution_logs")}
CREATE TABLE IF NOT EXISTS error_events (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    workstream_id TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS error_events_by_run ON error_events (run_id, workstream_id);
{_PATTERN_TABLES}
{_HISTORY}"""

# The columns of execution_logs a row is written with, after its id (see ``execution_log_columns``);
# those holding JSON text.
LOG_COLUMNS: Final = (
    "timestamp",
    "operation_kind",
    "file_types",
    "tools_used",
    "input_signature",
    "output_signature",
    "success",
    "time_taken_seconds",
    "context",
    "record",
)
LOG_JSON_COLUMNS: Final = frozenset({"file_types", "tools_used", "context"})
_LOG_COLUMNS = ", ".join(LOG_COLUMNS)

# Version N -> the script that upgrades a store of version N to N + 1 (run in one transaction with the
# new user_version). 1 -> 2: execution_logs gains the original pipeline design's columns, filled from each
# row's record; the pattern tables are created.
MIGRATIONS: Final[dict[int, str]] = {
    1: f"""
{_EXECUTION_LOGS.format(name="execution_logs_v2")}
INSERT INTO execution_logs_v2 (id, {_LOG_COLUMNS})
SELECT id, json_extract(record, '$.timestamp'), operation_kind, json_extract(record, '$.file_types'),
    json_extract(record, '$.tools_used'), json_extract(record, '$.input_signature'),
    json_extract(record, '$.output_signature'), json_extract(record, '$.success'),
    json_extract(record, '$.time_taken_seconds'), json_extract(record, '$.context'), record
FROM execution_logs ORDER BY id;
DROP TABLE execution_logs;
ALTER TABLE execution_logs_v2 RENAME TO execution_logs;
{_PATTERN_TABLES}""",
    # 2 -> 3: the history indexes; each run's row from its workstreams' first created_at.
    2: f"""
{_HISTORY}
INSERT OR IGNORE INTO runs (run_id, started_at)
SELECT run_id, MIN(strftime('%Y-%m-%dT%H:%M:%fZ', json_extract(record, '$.created_at')))
FROM uet_runs GROUP BY run_id;""",
}


def started_text(moment: datetime) -> str:
    """How ``runs.started_at`` is written: UTC to the millisecond, fixed width (text order is time order),
    the form SQLite's ``strftime('%Y-%m-%dT%H:%M:%fZ', …)`` gives the migration."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


# Tables in the order verify reads them, with the contract each ``record`` column holds.
TABLES: Final[dict[str, type]] = {
    "uet_runs": RunRecord,
    "step_attempts": StepAttempt,
    "run_events": RunEvent,
    "patch_ledger": PatchLedgerEntry,
    "execution_logs": ExecutionLog,
    "error_events": ErrorEvent,
    "pattern_candidates": PatternCandidate,
    "anti_patterns": AntiPattern,
}

# Every record still queued or running (a status some move leads out of), in the order they were queued.
_IN_FLIGHT_SQL = (
    f"SELECT record FROM uet_runs WHERE status IN ({', '.join('?' * len(IN_FLIGHT_STATUSES))}) ORDER BY rowid"
)


def success_problems(
    repo: Path,
    record: RunRecord,
    attempts: list[StepAttempt],
    patches: list[PatchLedgerEntry],
    reused_status: str | None = None,
) -> list[str]:
    """The saving invariant for one workstream of one run: what is missing for ``record`` to count as succeeded.

    ``attempts`` and ``patches`` are that workstream's rows in that run; ``reused_status`` is the status of
    the record ``reused_from`` names, when it names one. Empty when the success is fully backed: every
    attempt has its result, the tries of each step, check and fix step are numbered 1, 2, … without a gap
    and the last one succeeded (but for checks whose request's context says ``required: false``: optional
    pre-flight and acceptance checks), and the changes the steps and fix steps made are in a recorded patch
    whose file exists with the recorded size and hash. When the record says how many
    steps and checks the workstream has, each has an attempt.
    """
    if record.reused_from:
        if reused_status != "succeeded":
            return [f"reused_from {record.reused_from} has no succeeded record of this workstream"]
        return []
    problems: list[str] = []
    last: dict[tuple[str, int], StepAttempt] = {}
    changed: set[str] = set()
    for attempt in sorted(attempts, key=lambda a: (a.kind, a.index, a.attempt)):
        previous = last.get((attempt.kind, attempt.index))
        if attempt.attempt != (previous.attempt if previous else 0) + 1:
            problems.append(
                f"{attempt.kind}/{attempt.index} attempt {attempt.attempt} follows no attempt {attempt.attempt - 1}"
            )
        last[(attempt.kind, attempt.index)] = attempt
        if attempt.result is None:
            problems.append(f"{attempt.kind}/{attempt.index} attempt {attempt.attempt} has no result")
        elif attempt.kind in ("step", "fix"):  # steps and fix steps make the patch; checks only verify
            changed.update(attempt.result.files_touched)
    for (kind, index), attempt in sorted(last.items()):
        optional = attempt.request.context.get("required") is False  # a check the spec lets fail
        if attempt.result is not None and not attempt.result.success and not optional:
            problems.append(f"{kind}/{index}: its last attempt ({attempt.attempt}) did not succeed")
    for kind, count in (("step", record.step_count), ("acceptance", record.check_count)):
        missing = [f"{kind}/{i}" for i in range(count or 0) if (kind, i) not in last]
        if missing:
            problems.append(f"{', '.join(missing)} of its {count} {kind} task(s) have no attempt")
    if record.patch_id is None:
        if patches:
            problems.append(f"patch {patches[0].patch_id} is in the ledger but the run record names no patch")
        elif changed:
            problems.append(f"steps changed {', '.join(sorted(changed))} but no patch is recorded")
    else:
        entry = next((p for p in patches if p.patch_id == record.patch_id), None)
        if entry is None:
            problems.append(f"patch {record.patch_id} has no patch_ledger row for this run and workstream")
        else:
            problems.extend(ledger.file_problems(repo, entry))
    return problems


def chain_hash(text: str) -> str:
    """The ``prev_sha256`` a record's successor carries: SHA-256 of the record's stored text (UTF-8)."""
    return ledger.sha256_of(text.encode("utf-8"))


def _create(path: Path) -> None:
    """A new, empty store at ``path``, made under a temporary name and hard-linked into place (or left alone
    when another process linked its own first): nobody ever sees a half-made store."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RecordsUnwritable(f"{path.parent}: cannot create the records folder: {exc.strerror or exc}") from None
    temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.new")
    try:
        db = sqlite3.connect(temp, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(f"BEGIN IMMEDIATE;{_DDL}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")
        finally:
            db.close()
        try:
            os.link(temp, path)
        except FileExistsError:
            pass  # another process made the store first: use theirs
        except OSError:  # a filesystem without hard links
            if not path.exists():
                os.replace(temp, path)
    except (sqlite3.Error, OSError) as exc:
        raise RecordsUnwritable(
            f"{path}: cannot create the run store: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    finally:
        for leftover in (temp, temp.with_name(temp.name + "-wal"), temp.with_name(temp.name + "-shm")):
            with suppress(OSError):
                leftover.unlink()


def execution_log_columns(log: ExecutionLog) -> tuple[Any, ...]:
    """The values of ``LOG_COLUMNS`` for one log, its record validated (``ContractError`` if not).

    Lists and the context are the record's own JSON (compact, keys sorted), the timestamp its RFC 3339
    text, ``success`` 0 or 1: what ``json_extract`` gives from the record, so migrated rows read alike.
    """
    data, text = codec.checked(log)
    dump = codec.compact
    return (
        data["timestamp"],
        log.operation_kind,
        dump(data["file_types"]),
        dump(data["tools_used"]),
        log.input_signature,
        log.output_signature,
        int(log.success),
        data["time_taken_seconds"],
        dump(data["context"]),
        text,
    )


def store_path(repo: Path) -> Path:
    """Where a repository's run store lives."""
    return Path(repo) / STORE_FILE


def _migrate(db: sqlite3.Connection) -> None:
    """Upgrades an older store step by step, each step in one transaction with its new version number.

    The version is read again inside each transaction, so two processes opening an old store at once
    upgrade it once; a failing step rolls back and leaves the store at the version before it.
    """
    while True:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version >= SCHEMA_VERSION:
                db.execute("COMMIT")
                return
            for statement in _statements(MIGRATIONS[version]):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version + 1}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """The statements of a script, for ``execute`` one by one (``executescript`` would commit the
    transaction the migration runs in). Comment lines are dropped; no statement of ours holds a ';'."""
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


class RunStore:
    """The SQLite run store of one repository. Use ``RunStore.open(repo)``; close it (or use ``with``)."""

    def __init__(self, repo: Path, db: sqlite3.Connection, audit: AuditLog | None) -> None:
        self.repo = Path(repo)
        self.path = store_path(self.repo)
        self.audit = audit
        self._db = db
        self._mutex = threading.RLock()
        self._last_seq: int | None = None  # the last event seq this connection saw committed or inserted
        # Each run's last event, hashed: the next event of that run names it (a chain per run, so pruning whole
        # runs leaves the others' chains whole). Cleared whenever the cached seq is.
        self._run_heads: dict[str, str | None] = {}
        self._decoded_records: dict[tuple[str, str], tuple[str, RunRecord]] = {}
        # Attempt and patch rows this store wrote or decoded, by their exact text: a row read back holds the text
        # written, so its instance is reused instead of decoded again (strict parse, validation, structuring:
        # the dearest part of a success's invariant check). Bounded: emptied when it reaches KNOWN_TEXTS.
        self._known_texts: dict[tuple[type, str], Any] = {}
        self._data_version: int | None = None
        self.sync_final = False  # commit final states at synchronous=FULL (``--durability full``)

    # -- opening and closing ---------------------------------------------------------------------------

    @classmethod
    def open(cls, repo: Path, *, create: bool = True, audit: bool = True) -> RunStore:
        """Opens (and with ``create`` makes) ``<repo>/.runs/uet.sqlite``.

        ``audit`` makes status changes also append their ``workstream.*`` line to ``.runs/audit.jsonl``.
        Without ``create``, a missing store raises ``StoreMissing`` instead of being made. A new store is
        built beside its final name and linked into place whole, so a failed first open leaves nothing
        behind; an existing one must pass SQLite's ``quick_check`` (``RecordsUnwritable`` otherwise, as for a
        store path that is a folder or a file that cannot be opened).
        """
        path = store_path(Path(repo))
        if path.is_dir():
            raise RecordsUnwritable(f"{path} is a folder, not a run store: move it aside and run again")
        if not path.exists():
            if not create:
                raise StoreMissing(f"no run store at {path}: nothing has been run in this repository yet")
            _create(path)
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise RecordsUnwritable(f"{path}: cannot open the run store: {exc}") from None
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0 and create and not db.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone():
                # An empty file (left by an older engine): idempotent DDL in one transaction.
                db.executescript(f"BEGIN IMMEDIATE;{_DDL}PRAGMA user_version = {SCHEMA_VERSION};COMMIT;")
            elif 0 < version < SCHEMA_VERSION:
                _migrate(db)
            elif version == 0:
                raise StoreError(f"{path}: not a run store (no uet tables in it): move it aside and run again")
            elif version != SCHEMA_VERSION:
                raise StoreError(f"{path}: store schema version {version}, this uet reads version {SCHEMA_VERSION}")
            check = " ".join(str(db.execute("PRAGMA quick_check(1)").fetchone()[0]).split())
            if check != "ok":
                raise RecordsUnwritable(
                    f"{path}: the run store is damaged (SQLite quick_check: {check}); move it aside and run again "
                    "to start a new one"
                )
        except sqlite3.DatabaseError as exc:
            db.close()
            raise RecordsUnwritable(f"{path}: not a usable run store: {exc}") from None
        except BaseException:
            db.close()
            raise
        return cls(Path(repo), db, AuditLog(Path(repo)) if audit else None)

    def foreign_writes(self) -> bool:
        """Whether another connection committed to the store since the last call (SQLite's ``data_version``)."""
        with self._mutex:
            version = int(self._db.execute("PRAGMA data_version").fetchone()[0])
            changed = self._data_version is not None and version != self._data_version
            self._data_version = version
        return changed

    def sync(self) -> None:
        """Makes every record written so far durable against a power loss: the audit log fsynced, the WAL
        checkpointed into the database (SQLite syncs both on the way; ``synchronous=NORMAL`` syncs only there)."""
        if self.audit is not None:
            self.audit.sync()
        with self._mutex, self._faults():
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        with self._mutex:
            self._db.close()
        if self.audit is not None:
            self.audit.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): all of it commits, or none of it.

        A fault of the environment (disk full, read-only file, I/O error) becomes ``RecordsUnwritable``.
        """
        with self._mutex, self._faults():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                self._last_seq = None  # seqs handed out in the rolled-back transaction are free again
                if self._db.in_transaction:
                    with suppress(sqlite3.Error):
                        self._db.execute("ROLLBACK")
                raise

    @contextmanager
    def _synced(self, full: bool) -> Iterator[None]:
        """With ``full``, the transaction inside commits at ``synchronous=FULL``: SQLite syncs the WAL as it commits,
        which makes this commit and every one before it durable (one sync, however many came before)."""
        if not full:
            yield
            return
        with self._mutex, self._faults():
            self._db.execute("PRAGMA synchronous = FULL")
            try:
                yield
            finally:
                self._db.execute("PRAGMA synchronous = NORMAL")

    @contextmanager
    def _faults(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            raise RecordsUnwritable(f"{self.path}: {exc}") from None

    # -- writes ----------------------------------------------------------------------------------------

    def _insert_event(
        self,
        db: sqlite3.Connection,
        run_id: str,
        event_type: RunEventType,
        at: datetime,
        *,
        workstream_id: str | None = None,
        from_status: RunStatus | None = None,
        to_status: RunStatus | None = None,
        message: str | None = None,
    ) -> RunEvent:
        """Inserts the next event (``seq`` = last + 1) and returns it; outside a transaction it commits alone.

        The last seq is cached so the hot path is one INSERT; if another connection wrote events in the
        meantime the primary key refuses the stale seq and the insert is retried after a fresh look.
        """
        while True:
            if self._last_seq is None:
                self._last_seq = db.execute("SELECT COALESCE(MAX(seq), 0) FROM run_events").fetchone()[0]
                self._run_heads.clear()
            if run_id not in self._run_heads:
                row = db.execute(
                    "SELECT record FROM run_events WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,)
                ).fetchone()
                self._run_heads[run_id] = chain_hash(row[0]) if row else None
            event = RunEvent(
                seq=self._last_seq + 1,
                prev_sha256=self._run_heads[run_id],
                run_id=run_id,
                workstream_id=workstream_id,
                timestamp=at,
                event_type=event_type,
                from_status=from_status,
                to_status=to_status,
                message=message,
            )
            text = codec.encode(event)
            try:
                db.execute(
                    "INSERT INTO run_events (seq, run_id, workstream_id, event_type, record) VALUES (?, ?, ?, ?, ?)",
                    (event.seq, run_id, workstream_id, event_type, text),
                )
            except sqlite3.IntegrityError:
                self._last_seq = None
                continue
            self._last_seq = event.seq
            self._run_heads[run_id] = chain_hash(text)
            return event

    def queue(self, run_id: str, records: list[RunRecord]) -> None:
        """Inserts a run's workstream rows and their first ``state_changed`` events, in one transaction.

        Rows are ``queued``; a row may instead enter as ``succeeded`` when it carries ``reused_from`` (a
        ``--resume`` reusing an earlier success, which must itself be recorded as succeeded).
        """
        audits: list[AuditEvent] = []
        with self._writing() as db:
            if records:
                started = started_text(min(record.created_at for record in records))
                db.execute("INSERT OR IGNORE INTO runs (run_id, started_at) VALUES (?, ?)", (run_id, started))
            for record in records:
                if record.run_id != run_id:
                    raise StoreError(f"{record.workstream_id}: record belongs to {record.run_id}, not {run_id}")
                if not may_enter(record.status, record.reused_from):
                    raise IllegalTransition(
                        f"{run_id} {record.workstream_id}: a workstream enters a run as {ENTRY_STATUS} "
                        f"(or succeeded with reused_from), not {record.status}"
                    )
                if record.reused_from:
                    self._check_reuse(db, record)
                try:
                    db.execute(
                        "INSERT INTO uet_runs (run_id, workstream_id, status, record) VALUES (?, ?, ?, ?)",
                        (run_id, record.workstream_id, record.status, codec.encode(record)),
                    )
                except sqlite3.IntegrityError:
                    raise StoreError(f"{run_id} {record.workstream_id}: already queued in this run") from None
                message = f"reused from {record.reused_from}" if record.reused_from else None
                self._insert_event(
                    db,
                    run_id,
                    "state_changed",
                    record.created_at,
                    workstream_id=record.workstream_id,
                    to_status=record.status,
                    message=message,
                )
                if record.status != ENTRY_STATUS:
                    audits.append(self._audit_event(record, message))
            if audits and self.audit is not None:
                self.audit.extend(audits)

    def _check_reuse(self, db: sqlite3.Connection, record: RunRecord) -> None:
        row = db.execute(
            "SELECT status FROM uet_runs WHERE run_id = ? AND workstream_id = ?",
            (record.reused_from, record.workstream_id),
        ).fetchone()
        if row is None or row[0] != "succeeded":
            raise SavingInvariantError(
                record.run_id,
                record.workstream_id,
                [f"reused_from {record.reused_from} has no succeeded record of this workstream"],
            )

    def transition(
        self,
        run_id: str,
        workstream_id: str,
        to_status: RunStatus,
        *,
        reason: str | None = None,
        patch_id: str | None = None,
        message: str | None = None,
        at: datetime | None = None,
        inputs_sha256: str | None = None,
    ) -> RunRecord:
        """Moves a workstream to ``to_status`` and records the ``state_changed`` event in the same transaction.

        Refuses moves the state machine forbids (``IllegalTransition``) and ``succeeded`` without the
        records the saving invariant demands (``SavingInvariantError``). With auditing on, the
        ``workstream.*`` audit line is appended before the commit: a crash in between leaves an extra
        audit line, never a success without one.
        """
        at = at or clock.utc_now()
        with self._synced(self.sync_final and to_status in FINAL_STATUSES), self._writing() as db:
            current = self._record(db, run_id, workstream_id)
            allowed = TRANSITIONS.get(current.status, frozenset())
            if to_status not in allowed:
                why = "it is final" if current.status in FINAL_STATUSES else f"allowed: {', '.join(sorted(allowed))}"
                raise IllegalTransition(
                    f"{run_id} {workstream_id}: cannot go from {current.status} to {to_status} ({why})"
                )
            updated = replace(
                current,
                status=to_status,
                updated_at=at,
                reason=reason if reason is not None else current.reason,
                patch_id=patch_id if patch_id is not None else current.patch_id,
                inputs_sha256=inputs_sha256 if inputs_sha256 is not None else current.inputs_sha256,
            )
            if to_status == "running":
                updated = replace(updated, started_at=at)
            if to_status in FINAL_STATUSES:
                updated = replace(updated, finished_at=at)
            if to_status == "succeeded":
                problems = self._saving_problems(db, updated)
                if problems:
                    raise SavingInvariantError(run_id, workstream_id, problems)
            text = codec.encode(updated)
            db.execute(
                "UPDATE uet_runs SET status = ?, record = ? WHERE run_id = ? AND workstream_id = ?",
                (to_status, text, run_id, workstream_id),
            )
            self._insert_event(
                db,
                run_id,
                "state_changed",
                at,
                workstream_id=workstream_id,
                from_status=current.status,
                to_status=to_status,
                message=message if message is not None else reason,
            )
            if self.audit is not None:
                # "running" is not final: its line becomes durable with the fsync of the final state's line.
                self.audit.append(
                    self._audit_event(updated, message if message is not None else reason),
                    durable=to_status != "running",
                )
        self._decoded_records[(run_id, workstream_id)] = (text, updated)
        return updated

    @staticmethod
    def _audit_event(record: RunRecord, message: str | None) -> AuditEvent:
        event_type, outcome = AUDIT_FOR_STATUS[record.status]
        return AuditEvent(
            timestamp=record.updated_at,
            event_type=event_type,
            run_id=record.run_id,
            workstream_id=record.workstream_id,
            outcome=outcome,
            message=message,
            patch_id=record.patch_id,
        )

    def event(
        self,
        run_id: str,
        event_type: RunEventType,
        *,
        workstream_id: str | None = None,
        message: str | None = None,
        at: datetime | None = None,
    ) -> RunEvent:
        """Records a timeline event that changes no status (run_started, patch_captured, …); returns it."""
        if event_type == "state_changed":
            raise StoreError("state_changed events are written by transition(), together with the status")
        with self._mutex, self._faults():
            # A single INSERT in autocommit mode is its own (durable) transaction: no BEGIN/COMMIT round trips.
            return self._insert_event(
                self._db, run_id, event_type, at or clock.utc_now(), workstream_id=workstream_id, message=message
            )

    def audit_note(self, event: AuditEvent, *, durable: bool = True) -> None:
        """Appends an audit line that goes with no status change (run start and end, a captured patch).

        The store is the only writer of ``.runs/audit.jsonl``: the ``workstream.*`` lines come from
        ``transition`` and ``queue``, every other line through here. ``durable=False`` lets the line ride
        on the fsync of the next durable one. Nothing happens when the store was opened without auditing.
        """
        if self.audit is not None:
            self.audit.append(event, durable=durable)

    def add_attempt(
        self, attempt: StepAttempt, *, event_type: RunEventType | None = None, message: str | None = None
    ) -> None:
        """Inserts a step attempt, or replaces the same (run, workstream, kind, index, attempt) row; with
        ``event_type``, its timeline event (``step_started``, ``step_finished``) in the same transaction."""
        text = codec.encode(attempt)
        with self._writing() as db:
            db.execute(
                "INSERT INTO step_attempts (run_id, workstream_id, kind, idx, attempt, record) "
                "VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_id, workstream_id, kind, idx, attempt) DO UPDATE SET record = excluded.record",
                (attempt.run_id, attempt.workstream_id, attempt.kind, attempt.index, attempt.attempt, text),
            )
            if event_type is not None:
                ws = attempt.workstream_id
                self._insert_event(db, attempt.run_id, event_type, clock.utc_now(), workstream_id=ws, message=message)
        self._remember(text, attempt)

    def add_patch(self, entry: PatchLedgerEntry) -> None:
        """Records a patch whose file (``ledger.write_patch``) exists with the entry's size and hash."""
        text = codec.encode(entry)
        problems = ledger.file_problems(self.repo, entry)
        if problems:
            raise StoreError(f"{entry.run_id} {entry.workstream_id}: " + "; ".join(problems))
        with self._writing() as db:
            try:
                db.execute(
                    "INSERT INTO patch_ledger (patch_id, run_id, workstream_id, record) VALUES (?, ?, ?, ?)",
                    (entry.patch_id, entry.run_id, entry.workstream_id, text),
                )
            except sqlite3.IntegrityError:
                raise StoreError(
                    f"{entry.run_id} {entry.workstream_id}: patch {entry.patch_id} is already recorded"
                ) from None
        self._remember(text, entry)

    def add_execution_log(self, log: ExecutionLog) -> None:
        """Records one execution for pattern automation."""
        self.add_execution_logs([log])

    def add_execution_logs(self, logs: list[ExecutionLog]) -> None:
        """Records executions for pattern automation, all in one transaction."""
        rows = [execution_log_columns(log) for log in logs]
        with self._writing() as db:
            db.executemany(f"INSERT INTO execution_logs ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def add_error(self, error: ErrorEvent) -> None:
        """Records one error event for the error plugins."""
        text = codec.encode(error)
        with self._writing() as db:
            db.execute(
                "INSERT INTO error_events (run_id, workstream_id, record) VALUES (?, ?, ?)",
                (error.run_id, error.workstream_id or "", text),  # "": an error of the whole run
            )

    def put_patterns(self, candidates: list[PatternCandidate], anti_patterns: list[AntiPattern]) -> None:
        """Inserts pattern candidates and anti-patterns, or replaces those with the same id, in one transaction."""
        rows = [(c.candidate_id, c.status, codec.encode(c)) for c in candidates]
        bad = [(a.anti_pattern_id, a.status, a.signature, codec.encode(a)) for a in anti_patterns]
        with self._writing() as db:
            db.executemany(
                "INSERT INTO pattern_candidates (candidate_id, status, record) VALUES (?, ?, ?) ON CONFLICT "
                "(candidate_id) DO UPDATE SET status = excluded.status, record = excluded.record",
                rows,
            )
            db.executemany(
                "INSERT INTO anti_patterns (anti_pattern_id, status, signature, record) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (anti_pattern_id) DO UPDATE SET status = excluded.status, "
                "signature = excluded.signature, record = excluded.record",
                bad,
            )

    # -- the saving invariant --------------------------------------------------------------------------

    def _saving_problems(self, db: sqlite3.Connection, record: RunRecord) -> list[str]:
        """What is missing for ``record`` to count as succeeded, read from the store (inside ``db``'s view)."""
        key = (record.run_id, record.workstream_id)
        attempts = self._decoded(
            db, "SELECT record FROM step_attempts WHERE run_id = ? AND workstream_id = ? ORDER BY id", key, StepAttempt
        )
        patches = self._decoded(
            db,
            "SELECT record FROM patch_ledger WHERE run_id = ? AND workstream_id = ? ORDER BY id",
            key,
            PatchLedgerEntry,
        )
        source = None
        if record.reused_from:
            row = db.execute(
                "SELECT status FROM uet_runs WHERE run_id = ? AND workstream_id = ?",
                (record.reused_from, record.workstream_id),
            ).fetchone()
            source = row[0] if row else None
        return success_problems(self.repo, record, attempts, patches, source)

    def saving_problems(self, run_id: str, workstream_id: str) -> list[str]:
        """What the saving invariant finds missing for a workstream's record as it stands now."""
        with self._mutex:
            return self._saving_problems(self._db, self._record(self._db, run_id, workstream_id))

    # -- reads -----------------------------------------------------------------------------------------

    def _decoded(self, db: sqlite3.Connection, sql: str, params: tuple[Any, ...], cls: type[T]) -> list[T]:
        return [self._decode(row[0], cls) for row in db.execute(sql, params).fetchall()]

    def _decode(self, text: str, cls: type[T]) -> T:
        """``codec.decode``, or the instance this store wrote or decoded as exactly this text (``_known_texts``)."""
        known: T | None = self._known_texts.get((cls, text))
        if known is not None:
            return known
        found = codec.decode(text, cls)
        self._remember(text, found)
        return found

    def _remember(self, text: str, instance: object) -> None:
        if len(self._known_texts) >= KNOWN_TEXTS:
            self._known_texts.clear()
        self._known_texts[(type(instance), text)] = instance

    def _record(self, db: sqlite3.Connection, run_id: str, workstream_id: str) -> RunRecord:
        row = db.execute(
            "SELECT record FROM uet_runs WHERE run_id = ? AND workstream_id = ?", (run_id, workstream_id)
        ).fetchone()
        if row is None:
            raise IllegalTransition(f"{run_id} {workstream_id}: no such workstream in this run")
        # Decoding (strict parse + validate + structure) is the dearest part of a transition; the text
        # read back is compared with the last one this store decoded or wrote, so the cache is never stale.
        cached = self._decoded_records.get((run_id, workstream_id))
        if cached is not None and cached[0] == row[0]:
            return cached[1]
        found = codec.decode(row[0], RunRecord)
        self._decoded_records[(run_id, workstream_id)] = (row[0], found)
        return found

    def _query(self, sql: str, params: tuple[Any, ...], cls: type[T]) -> list[T]:
        with self._mutex, self._faults():
            return self._decoded(self._db, sql, params, cls)

    def select_rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Plain rows of a read-only query (for ``saving.history``, which reads key columns, not records)."""
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    def prune(self, run_ids: list[str]) -> list[PatchLedgerEntry]:
        """Deletes every row of ``run_ids`` in one transaction; returns their patch entries (the caller removes
        the files afterwards: a crash in between leaves a file no row names, never a row without its file)."""
        ids = json.dumps(run_ids)
        entries = self._query(
            "SELECT record FROM patch_ledger WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (ids,),
            PatchLedgerEntry,
        )
        with self._writing() as db:
            for table in ("uet_runs", "step_attempts", "run_events", "patch_ledger", "error_events", "runs"):
                db.execute(f"DELETE FROM {table} WHERE run_id IN (SELECT value FROM json_each(?))", (ids,))
        self._last_seq = None
        self._decoded_records.clear()
        return entries

    def run_ids(self) -> list[str]:
        """Every run in the store that queued workstreams, newest first (by when it queued them)."""
        with self._mutex:
            rows = self._db.execute("SELECT run_id FROM uet_runs GROUP BY run_id ORDER BY MIN(rowid) DESC").fetchall()
        return [row[0] for row in rows]

    def run_ids_starting(self, prefix: str, limit: int) -> list[str]:
        """At most ``limit`` (-1: all) run ids that start with ``prefix`` (any for ""), newest first."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT run_id FROM uet_runs WHERE substr(run_id, 1, ?) = ? GROUP BY run_id ORDER BY MIN(rowid) DESC"
                " LIMIT ?",
                (len(prefix), prefix, limit),
            ).fetchall()
        return [row[0] for row in rows]

    def record(self, run_id: str, workstream_id: str) -> RunRecord | None:
        """One workstream's record in one run, or None."""
        found = self._query(
            "SELECT record FROM uet_runs WHERE run_id = ? AND workstream_id = ?", (run_id, workstream_id), RunRecord
        )
        return found[0] if found else None

    def records(self, run_id: str) -> list[RunRecord]:
        """A run's workstream records, in the order they were queued."""
        return self._query("SELECT record FROM uet_runs WHERE run_id = ? ORDER BY rowid", (run_id,), RunRecord)

    def in_flight(self) -> list[RunRecord]:
        """Every record still queued or running, in any run."""
        return self._query(_IN_FLIGHT_SQL, IN_FLIGHT_STATUSES, RunRecord)

    def attempts(self, run_id: str, workstream_id: str | None = None) -> list[StepAttempt]:
        """A run's step attempts (optionally one workstream's), in the order they were first recorded."""
        if workstream_id is None:
            return self._query("SELECT record FROM step_attempts WHERE run_id = ? ORDER BY id", (run_id,), StepAttempt)
        return self._query(
            "SELECT record FROM step_attempts WHERE run_id = ? AND workstream_id = ? ORDER BY id",
            (run_id, workstream_id),
            StepAttempt,
        )

    def events(self, run_id: str) -> list[RunEvent]:
        """A run's timeline, in order."""
        return self._query("SELECT record FROM run_events WHERE run_id = ? ORDER BY seq", (run_id,), RunEvent)

    def patches(self, run_id: str) -> list[PatchLedgerEntry]:
        """A run's patch ledger entries, in the order they were recorded."""
        return self._query("SELECT record FROM patch_ledger WHERE run_id = ? ORDER BY id", (run_id,), PatchLedgerEntry)

    def errors(self, run_id: str, workstream_id: str | None = None) -> list[ErrorEvent]:
        """A run's error events (optionally one workstream's), in the order they were recorded."""
        if workstream_id is None:
            return self._query("SELECT record FROM error_events WHERE run_id = ? ORDER BY id", (run_id,), ErrorEvent)
        return self._query(
            "SELECT record FROM error_events WHERE run_id = ? AND workstream_id = ? ORDER BY id",
            (run_id, workstream_id),
            ErrorEvent,
        )

    def execution_logs(self) -> list[ExecutionLog]:
        """Every recorded execution, oldest first."""
        return self._query("SELECT record FROM execution_logs ORDER BY id", (), ExecutionLog)

    def pattern_candidates(self) -> list[PatternCandidate]:
        """Every pattern candidate, in the order they were first mined."""
        return self._query("SELECT record FROM pattern_candidates ORDER BY id", (), PatternCandidate)

    def anti_patterns(self) -> list[AntiPattern]:
        """Every anti-pattern, in the order they were first mined."""
        return self._query("SELECT record FROM anti_patterns ORDER BY id", (), AntiPattern)

    @staticmethod
    def _log_window(since: datetime | None) -> tuple[str, tuple[Any, ...]]:
        """The WHERE clause of the mining reads: rows at or after ``since``."""
        if since is None:
            return "", ()
        return " WHERE julianday(timestamp) >= julianday(?)", (since.astimezone(UTC).isoformat(),)

    def execution_log_rows(self, since: datetime | None = None) -> list[Any]:
        """The execution logs as pattern mining reads them, oldest first, without decoding records.

        Per row: id, operation_kind, file_types and tools_used (their JSON text), input_signature, success
        (0/1) and time_taken_seconds. ``since``: only rows at or after that
        moment. The columns are written from each validated record, and ``uet runs verify`` checks that they
        match it.
        """
        where, params = self._log_window(since)
        sql = (
            "SELECT id, operation_kind, file_types, tools_used, input_signature, success, time_taken_seconds"
            f" FROM execution_logs{where} ORDER BY id"
        )
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    def failed_log_rows(self, since: datetime | None = None) -> list[Any]:
        """The failed rows of ``execution_log_rows`` with what anti-patterns need besides: per row id, timestamp,
        operation_kind, file_types, tools_used, input_signature, output_signature and the context's
        run_id, workstream_id, task_id, error_code and pattern_id."""
        where, params = self._log_window(since)
        sql = (
            "SELECT id, timestamp, operation_kind, file_types, tools_used, input_signature,"
            " output_signature, json_extract(context, '$.run_id'), json_extract(context, '$.workstream_id'),"
            " json_extract(context, '$.task_id'), json_extract(context, '$.error_code'),"
            f" json_extract(context, '$.pattern_id') FROM execution_logs{where}"
            f" {'AND' if where else 'WHERE'} success = 0 ORDER BY id"
        )
        with self._mutex:
            return self._db.execute(sql, params).fetchall()

    def log_details(self, ids: list[int]) -> dict[int, tuple[str, str | None, str | None]]:
        """Per execution log id asked for: its timestamp text and its context's run_id and workstream_id."""
        found: dict[int, tuple[str, str | None, str | None]] = {}
        unique = sorted(set(ids))
        with self._mutex:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                sql = (
                    "SELECT id, timestamp, json_extract(context, '$.run_id'), json_extract(context, '$.workstream_id')"
                    f" FROM execution_logs WHERE id IN ({', '.join('?' * len(chunk))})"
                )
                found.update((row[0], row[1:]) for row in self._db.execute(sql, chunk))
        return found

    def pattern_use_rows(self) -> list[tuple[Any, ...]]:
        """Per execution log whose spec came from a registry pattern: pattern_id, run_id, workstream_id, success."""
        sql = (
            "SELECT json_extract(context, '$.pattern_id'), json_extract(context, '$.run_id'),"
            " json_extract(context, '$.workstream_id'), success FROM execution_logs"
            " WHERE json_extract(context, '$.pattern_id') IS NOT NULL"
        )
        with self._mutex:
            return self._db.execute(sql).fetchall()

    def error_rows(self) -> list[tuple[Any, ...]]:
        """Per error event that names its task, as pattern mining joins them to execution logs: run_id,
        workstream_id, task_id, error_code, fingerprint (None when the record has none), path, message."""
        sql = (
            "SELECT run_id, workstream_id, json_extract(record, '$.task_id'), json_extract(record, '$.error_code'),"
            " json_extract(record, '$.fingerprint'), json_extract(record, '$.path'), json_extract(record, '$.message')"
            " FROM error_events WHERE json_extract(record, '$.task_id') IS NOT NULL ORDER BY id"
        )
        with self._mutex:
            return self._db.execute(sql).fetchall()

    def last_success(self, workstream_id: str) -> RunRecord | None:
        """The most recently queued record of ``workstream_id`` that succeeded, in any run."""
        found = self._query(
            "SELECT record FROM uet_runs WHERE workstream_id = ? AND status = 'succeeded' ORDER BY rowid DESC LIMIT 1",
            (workstream_id,),
            RunRecord,
        )
        return found[0] if found else None

    def raw_rows(self, table: str) -> list[dict[str, Any]]:
        """Every row of one of ``TABLES`` as stored: ``rowid``, key columns and ``record`` text (for ``verify``)."""
        if table not in TABLES:
            raise KeyError(table)
        with self._mutex:
            cursor = self._db.execute(f"SELECT rowid AS rowid, * FROM {table} ORDER BY rowid")
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
