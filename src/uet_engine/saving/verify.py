"""``uet runs verify``: re-check every stored record against its schema and the saving invariant.

Beyond the schemas: each workstream's state changes form a legal path to its status; a success has its
attempts, patch row, patch file and audit lines, and its step results name the patch they went into;
every step attempt has its ``task.started`` and (once it has a result) ``task.finished`` audit lines,
with its tool and outcome, and no task line of a finished workstream lacks its attempt.

The store refuses bad writes, but files can be edited, copied half-way or corrupted afterwards; this is
the independent check. It reads every row of every table and every complete audit line, and reports
each breach as one line naming the run, the workstream and what is wrong. A workstream still queued or
running is not a breach: it belongs to a live run, or to a dead one the next run marks crashed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from uet_contracts import (
    AntiPattern,
    AuditEvent,
    ContractError,
    ErrorEvent,
    ExecutionLog,
    PatchLedgerEntry,
    PatternCandidate,
    Problem,
    RunEvent,
    RunRecord,
    RunStatus,
    StepAttempt,
)
from uet_engine.saving import audit, codec, ledger
from uet_engine.saving.store import (
    LOG_COLUMNS,
    LOG_JSON_COLUMNS,
    TABLES,
    RunStore,
    execution_log_columns,
    success_problems,
)
from uet_engine.states import (
    AUDIT_FOR_STATUS,
    FINAL_STATUSES,
    TASK_FINISHED,
    TASK_STARTED,
    TRANSITIONS,
    may_enter,
    task_outcome,
)

Key = tuple[str, str]
TaskKey = tuple[str, str, str, int]  # (run, workstream, task id such as step/0, attempt)
_TASK_EVENTS = (TASK_STARTED.event_type, TASK_FINISHED)

# For each table: the key columns and the record field each must equal.
_KEY_COLUMNS: dict[str, dict[str, str]] = {
    "uet_runs": {"run_id": "run_id", "workstream_id": "workstream_id", "status": "status"},
    "step_attempts": {
        "run_id": "run_id",
        "workstream_id": "workstream_id",
        "kind": "kind",
        "idx": "index",
        "attempt": "attempt",
    },
    "run_events": {"seq": "seq", "run_id": "run_id", "workstream_id": "workstream_id", "event_type": "event_type"},
    "patch_ledger": {"patch_id": "patch_id", "run_id": "run_id", "workstream_id": "workstream_id"},
    "execution_logs": {},  # every column: see _expected
    "error_events": {"run_id": "run_id", "workstream_id": "workstream_id"},
    "pattern_candidates": {"candidate_id": "candidate_id", "status": "status"},
    "anti_patterns": {"anti_pattern_id": "anti_pattern_id", "status": "status", "signature": "signature"},
}


def _expected(table: str, instance: Any) -> dict[str, Any]:
    """What each key column of a row must hold, given the row's decoded record."""
    if table == "execution_logs":
        return dict(zip(LOG_COLUMNS[:-1], execution_log_columns(instance)[:-1], strict=True))
    return {column: getattr(instance, attribute) for column, attribute in _KEY_COLUMNS[table].items()}


def _same(column: str, stored: Any, expected: Any) -> bool:
    """Whether a key column holds what the record says: JSON and timestamps compared by value, not spelling
    (a row migrated from an older store keeps its record's text, e.g. ``.5Z`` for ``.500000Z``)."""
    if isinstance(stored, str) and (column in LOG_JSON_COLUMNS or column == "timestamp"):
        try:
            if column == "timestamp":
                return datetime.fromisoformat(stored) == datetime.fromisoformat(expected)
            return bool(json.loads(stored) == json.loads(expected))
        except ValueError:
            return False
    return bool(stored == expected)


@dataclass
class _Seen:
    """The decoded contents of a store and its audit log, grouped by (run, workstream)."""

    records: dict[Key, RunRecord] = field(default_factory=dict)
    changes: dict[Key, list[RunEvent]] = field(default_factory=lambda: defaultdict(list))
    attempts: dict[Key, list[StepAttempt]] = field(default_factory=lambda: defaultdict(list))
    patches: dict[Key, list[PatchLedgerEntry]] = field(default_factory=lambda: defaultdict(list))
    audited: set[tuple[str, str, str]] = field(default_factory=set)  # (run, workstream, event_type)
    task_lines: dict[TaskKey, dict[str, AuditEvent]] = field(default_factory=lambda: defaultdict(dict))
    others: list[tuple[str, Key]] = field(default_factory=list)  # (what, key) of rows that need a run row
    rows: set[Key] = field(default_factory=set)  # keys of every uet_runs row, readable or not


def _who(run_id: Any, workstream_id: Any) -> str:
    return f"{run_id or '-'} {workstream_id or '-'}"


def _ids_in(text: str) -> tuple[Any, Any]:
    """(run_id, workstream_id) of a JSON line that failed its schema, as far as they can be read."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    return data.get("run_id"), data.get("workstream_id")


def _read_tables(store: RunStore, seen: _Seen, breaches: list[str]) -> None:
    for table, cls in TABLES.items():
        for row in store.raw_rows(table):
            where = f"{table}[{row['rowid']}]"
            who = _who(row.get("run_id"), row.get("workstream_id"))
            if table == "uet_runs":  # even an unreadable row shows that the workstream was in the run
                seen.rows.add((row["run_id"], row["workstream_id"]))
            try:
                instance: object = codec.decode(row["record"], cls, where=where)
            except ContractError as exc:
                breaches.extend(f"{who}: {problem.format()}" for problem in exc.errors)
                continue
            for column, expected in _expected(table, instance).items():
                if table == "error_events" and column == "workstream_id" and expected is None:
                    expected = ""  # the column of a run-wide error (no workstream)
                if not _same(column, row[column], expected):
                    breaches.append(
                        f"{who}: {where}: column {column} is {row[column]!r} but the record says {expected!r}"
                    )
            _collect(instance, seen)


def _collect(instance: object, seen: _Seen) -> None:
    if isinstance(instance, RunRecord):
        seen.records[(instance.run_id, instance.workstream_id)] = instance
    elif isinstance(instance, RunEvent):
        if instance.workstream_id is not None:
            key = (instance.run_id, instance.workstream_id)
            seen.others.append((f"run_events seq {instance.seq}", key))
            if instance.event_type == "state_changed":
                seen.changes[key].append(instance)
    elif isinstance(instance, StepAttempt):
        key = (instance.run_id, instance.workstream_id)
        seen.attempts[key].append(instance)
        seen.others.append((f"step attempt {instance.kind}/{instance.index} try {instance.attempt}", key))
    elif isinstance(instance, PatchLedgerEntry):
        key = (instance.run_id, instance.workstream_id)
        seen.patches[key].append(instance)
        seen.others.append((f"patch {instance.patch_id}", key))
    elif isinstance(instance, ErrorEvent):
        # A run-wide error names no workstream; a pre-flight refusal comes before its run queued anything.
        if instance.workstream_id is not None and instance.error_type != "preflight_failed":
            seen.others.append((f"error event {instance.error_code}", (instance.run_id, instance.workstream_id)))
    elif not isinstance(
        instance, ExecutionLog | PatternCandidate | AntiPattern
    ):  # pragma: no cover - TABLES lists them all
        raise TypeError(type(instance).__name__)


def _read_audit(repo: Path, seen: _Seen, breaches: list[str]) -> None:
    path = audit.audit_path(repo)
    for number, text in audit.read_lines(path):
        try:
            line = codec.decode(text, AuditEvent)
        except ContractError as exc:
            who = _who(*_ids_in(text))
            for problem in exc.errors:  # the text is one line: place the problem on the file's line
                at = Problem(problem.message, problem.json_path, audit.AUDIT_FILE.as_posix(), number, problem.column)
                breaches.append(f"{who}: {at.format()}")
            continue
        seen.audited.add((line.run_id, line.workstream_id or "", line.event_type))
        if line.event_type in _TASK_EVENTS:
            key = (line.run_id, line.workstream_id or "", line.task_id or "", line.attempt or 1)
            seen.task_lines[key].setdefault(line.event_type, line)


def _status_problems(record: RunRecord, changes: list[RunEvent]) -> list[str]:
    """Whether the record's state_changed events form a legal path that ends in its status."""
    if not changes:
        return [f"status {record.status} but no state_changed event records it"]
    problems = []
    previous: RunStatus | None = None
    for event in sorted(changes, key=lambda e: e.seq):
        if event.from_status != previous:
            problems.append(
                f"state_changed seq {event.seq} leaves {event.from_status or 'nothing'}, "
                f"but the previous state was {previous or 'nothing'}"
            )
        elif previous is None:
            if not may_enter(event.to_status, record.reused_from):
                problems.append(f"state_changed seq {event.seq} enters the run as {event.to_status}")
        elif event.to_status not in TRANSITIONS.get(previous, frozenset()):
            problems.append(f"state_changed seq {event.seq} moves {previous} -> {event.to_status}, which is illegal")
        previous = event.to_status
    if previous != record.status:
        problems.append(f"status {record.status} but its last state_changed event says {previous}")
    return problems


def _record_problems(repo: Path, key: Key, record: RunRecord, seen: _Seen) -> list[str]:
    problems = _status_problems(record, seen.changes.get(key, []))
    patches = seen.patches.get(key, [])
    named = record.patch_id is not None and record.status != "succeeded"
    if named and not any(p.patch_id == record.patch_id for p in patches):
        problems.append(f"patch {record.patch_id} has no patch_ledger row for this run and workstream")
    if record.status == "succeeded":
        source = seen.records.get((record.reused_from, record.workstream_id)) if record.reused_from else None
        problems += success_problems(
            repo, record, seen.attempts.get(key, []), patches, source.status if source else None
        )
        # A reused success enters the run succeeded, so only a fresh one has a started line too.
        went_through: tuple[RunStatus, ...] = ("succeeded",) if record.reused_from else ("running", "succeeded")
        for event_type in (AUDIT_FOR_STATUS[status].event_type for status in went_through):
            if (record.run_id, record.workstream_id, event_type) not in seen.audited:
                problems.append(f"succeeded but {audit.AUDIT_FILE.as_posix()} has no {event_type} line")
        # Results name their patch since the task-level records: a run without task lines predates them.
        linked = (record.run_id, record.workstream_id, TASK_STARTED.event_type) in seen.audited
        if not record.reused_from and linked:
            problems += _patch_links(record, seen.attempts.get(key, []))
    return problems


def _patch_links(record: RunRecord, attempts: list[StepAttempt]) -> list[str]:
    """A succeeded workstream's step results name its patch: each last try that touched files does, and no
    result names another patch."""
    problems = []
    last: dict[int, StepAttempt] = {}
    for attempt in sorted(attempts, key=lambda a: (a.kind, a.index, a.attempt)):
        result = attempt.result
        if result is not None and result.patch_id is not None and result.patch_id != record.patch_id:
            problems.append(
                f"{attempt.kind}/{attempt.index} attempt {attempt.attempt} names patch {result.patch_id}, but the"
                f" workstream's patch is {record.patch_id or 'none'}"
            )
        if attempt.kind == "step":
            last[attempt.index] = attempt
    for index, attempt in sorted(last.items()):
        result = attempt.result
        if record.patch_id and result is not None and result.files_touched and result.patch_id is None:
            problems.append(f"step/{index} touched {', '.join(result.files_touched)} but its result names no patch")
    return problems


def _line_problems(line: AuditEvent, attempt: StepAttempt) -> list[str]:
    """How a task line disagrees with its attempt: the tool, and for a finished line the outcome."""
    found = []
    if line.tool != attempt.request.tool:
        found.append(f"names tool {line.tool}, but the attempt ran {attempt.request.tool}")
    if line.event_type == TASK_FINISHED and attempt.result is not None:
        outcome = task_outcome(attempt.result.success)
        if line.outcome != outcome:
            found.append(f"says {line.outcome}, but the attempt's result is a {outcome}")
    return found


def _task_problems(seen: _Seen) -> list[str]:
    """Each attempt has its task lines (started; finished once it has a result) naming its tool and, when
    finished, its outcome; and each task line of a workstream that is over has its attempt."""
    problems = []
    rows: set[TaskKey] = set()
    log = audit.AUDIT_FILE.as_posix()
    # Runs recorded before task-level lines existed (a store migrated from an older version) have none.
    with_task_lines = {key[0] for key in seen.task_lines}
    for (run_id, workstream_id), attempts in seen.attempts.items():
        if run_id not in with_task_lines:
            continue
        for attempt in attempts:
            task = f"{attempt.kind}/{attempt.index}"
            key = (run_id, workstream_id, task, attempt.attempt)
            rows.add(key)
            lines = seen.task_lines.get(key, {})
            wanted = _TASK_EVENTS if attempt.result is not None else _TASK_EVENTS[:1]
            what = f"{_who(run_id, workstream_id)}: {task} attempt {attempt.attempt}"
            for event_type in wanted:
                line = lines.get(event_type)
                if line is None:
                    problems.append(f"{what} has no {event_type} line in {log}")
                else:
                    problems += [f"{what}: its {event_type} line {why}" for why in _line_problems(line, attempt)]
    stored_runs = {run_id for run_id, _ in seen.rows}
    for key in sorted(seen.task_lines.keys() - rows):
        run_id, workstream_id, task, number = key
        if run_id not in stored_runs:
            continue  # a run pruned from the store (``uet runs prune``) keeps its audit lines
        record = seen.records.get((run_id, workstream_id))
        # A line is written just before its row: a crash in between leaves a line alone, on a crashed record.
        if record is None or (record.status in FINAL_STATUSES and record.status != "crashed"):
            for event_type in seen.task_lines[key]:
                problems.append(
                    f"{_who(run_id, workstream_id)}: {log} has a {event_type} line for {task} attempt {number},"
                    " which has no step_attempts row"
                )
    return problems


def verify(repo: Path) -> list[str]:
    """Every breach of the schemas or the saving invariant in ``repo``'s records, one line each; [] when sound.

    Raises ``StoreMissing`` when the repository has no store, ``StoreError`` when it cannot be read.
    """
    repo = Path(repo)
    breaches: list[str] = []
    seen = _Seen()
    with RunStore.open(repo, create=False, audit=False) as store:
        _read_tables(store, seen, breaches)
    _read_audit(repo, seen, breaches)
    for key, record in seen.records.items():
        breaches.extend(f"{_who(*key)}: {problem}" for problem in _record_problems(repo, key, record, seen))
    breaches += _task_problems(seen)
    reported: set[Key] = set()
    for what, key in seen.others:
        if key not in seen.rows and key not in reported:
            reported.add(key)
            breaches.append(f"{_who(*key)}: {what} belongs to no uet_runs row")
    for key, entries in seen.patches.items():
        for entry in entries:
            breaches.extend(f"{_who(*key)}: {problem}" for problem in ledger.file_problems(repo, entry))
    return list(dict.fromkeys(breaches))  # a patch file problem is found by two checks: report it once
