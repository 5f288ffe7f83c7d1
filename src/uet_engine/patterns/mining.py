"""``uet patterns mine``: execution logs → pattern candidates and anti-patterns, written to the store.

**Candidates.** Logs (cancelled tasks left out) are clustered by the rules of ``features`` with the
leader algorithm of ``clustering``. A cluster becomes a PatternCandidate when it has at least
``min_count`` executions and a success rate of at least ``min_success``. Its id is derived from its
leader's shape (``PC-<operation kind>-<12 hex>``), so re-mining the same logs gives the same ids; it
lists its leader, its members (the first 100 log ids), the features they all share, the median time,
the confidence and a phase-template draft (``drafts``), and enters review as ``pending``.

**Anti-patterns.** Failed logs are grouped twice: by input signature, and by the fingerprints of their
error events (joined on run, workstream and task; an event stored without a fingerprint gets the one
``detection.fingerprints`` computes, which is what the worker will store). A group of at least
``min_count`` failures is an AntiPattern: ``AP-sig-…`` for a signature, ``AP-fp-…`` for a fingerprint
whose failures are not all in a signature anti-pattern already. It is ``active`` until an execution with
its signature succeeds after its last failure (``resolved``). The window is ``--since``: only logs of
the last DAYS days are mined. "First", "last" and "after" follow the order the store recorded the
executions in, which is the order they ended (the coordinator records each task as it ends).

**Proven uses.** A workstream written from a registry pattern's template (its logs carry ``pattern_id``)
that succeeded in a run counts once; the count is stored on the approved candidate and in the registry.

Re-mining is idempotent: rows are upserted by id, so counts change and nothing is duplicated; a
reviewed candidate keeps its status, name and pattern. Nothing is deleted. The registry is read (and
refused if broken) before anything is written.
"""

from __future__ import annotations

import hashlib
import heapq
import itertools
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from uet_contracts import AntiPattern, ErrorType, PatternCandidate, PatternIndex, PhaseTemplate
from uet_engine import clock
from uet_engine.detection.error_codes import ERROR_CODES
from uet_engine.detection.fingerprints import fingerprint
from uet_engine.patterns import drafts, features, registry
from uet_engine.patterns.clustering import Cluster, Group, Shape, cluster
from uet_engine.saving.store import RunStore

MEMBER_IDS: Final = 100
CANCELLED_CODE: Final = ERROR_CODES["cancelled"]
_TYPE_OF_CODE: Final[dict[str, ErrorType]] = {code: kind for kind, code in ERROR_CODES.items()}

RECOMMENDATIONS: Final[dict[ErrorType, str]] = {
    "acceptance_failed": (
        "make sure what the check verifies exists or holds before it runs (or fix the check); until then "
        "every task of this shape fails its acceptance"
    ),
    "step_failed": "check the step's command and its inputs before planning another task of this shape",
    "timeout": "give the task a larger timeout_s or split it: it keeps running past its time limit",
    "tool_missing": "install the runner the task uses, or write the task for another runner",
}
DEFAULT_RECOMMENDATION: Final = "read the failures' error events (uet runs show RUN_ID) before planning another one"


@dataclass(frozen=True)
class Options:
    """How ``mine`` decides (the defaults are the CLI's)."""

    min_count: int = 3
    min_success: float = 0.9
    since_days: float | None = None


@dataclass
class Mined:
    """What one mining pass found and wrote."""

    logs: int
    candidates: list[PatternCandidate]
    anti_patterns: list[AntiPattern]
    new_candidates: int = 0
    new_anti_patterns: int = 0
    proven_uses: dict[str, int] = field(default_factory=dict)


@dataclass
class _Failure:
    log_id: int
    stamp: str
    shape: Shape
    output_signature: str
    run_id: str | None
    workstream_id: str | None
    task_id: str | None
    error_code: str | None
    pattern_id: str | None
    fingerprints: set[str] = field(default_factory=set)


def _hex(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


class _Shapes:
    """Shapes by the text of their columns, each list parsed once."""

    def __init__(self) -> None:
        self._sets: dict[str, frozenset[str]] = {}

    def set_of(self, text: str) -> frozenset[str]:
        found = self._sets.get(text)
        if found is None:
            found = self._sets[text] = frozenset(json.loads(text))
        return found

    def shape(self, kind: str, types: str, tools: str, signature: str) -> Shape:
        return Shape(kind, self.set_of(types), self.set_of(tools), signature)


def _read(
    store: RunStore, since: datetime | None, shapes: _Shapes, cancelled: set[int]
) -> tuple[int, dict[Any, Group]]:
    """The logs grouped by shape (the ``cancelled`` ones left out): one lookup and one append per log."""
    groups: dict[Any, Group] = {}
    rows = store.execution_log_rows(since)
    count = 0
    for row in rows:
        if not row[5] and row[0] in cancelled:
            continue
        count += 1
        key = row[1:5]
        group = groups.get(key)
        if group is None:
            group = groups[key] = Group(shapes.shape(*key))
        group.rows.append(row)
    return count, groups


def _failures(store: RunStore, since: datetime | None, shapes: _Shapes) -> tuple[list[_Failure], set[int]]:
    """The failed logs one by one, each with its error events' fingerprints (computed for events stored
    without one, as ``detection.fingerprints`` does for the worker), and the ids of the cancelled ones."""
    failures: list[_Failure] = []
    cancelled: set[int] = set()
    for row in store.failed_log_rows(since):
        if row[10] == CANCELLED_CODE:
            cancelled.add(row[0])
        else:
            failures.append(_Failure(row[0], row[1], shapes.shape(*row[2:6]), *row[6:]))
    if not failures:
        return failures, cancelled
    wanted = {(f.run_id, f.workstream_id, f.task_id) for f in failures}
    by_task: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    computed: dict[tuple[str, str, str | None, str], str] = {}
    for run, ws, task, code, stored, path, message in store.error_rows():
        if (run, ws, task) not in wanted:
            continue
        if stored is None:
            key = (code, ws, path, message)
            stored = computed.get(key) or computed.setdefault(key, fingerprint(code, ws, path, message))
        by_task[(run, ws, task)].add(stored)
    for failure in failures:
        failure.fingerprints = by_task.get(
            (failure.run_id or "", failure.workstream_id or "", failure.task_id or ""), set()
        )
    return failures, cancelled


def _slug(text: str, limit: int) -> str:
    cleaned = "".join(c if c.isalnum() else "-" for c in text.lower())
    return "-".join(part for part in cleaned.split("-") if part)[:limit].strip("-")


def _first_ids(groups: Iterable[Group]) -> list[int]:
    return list(itertools.islice(heapq.merge(*(g.ids for g in groups)), MEMBER_IDS))


def _example_runs(ids: Iterable[int], details: dict[int, tuple[str, str | None, str | None]]) -> list[str]:
    """The first five distinct runs of these logs, in id order."""
    runs = dict.fromkeys(details[i][1] for i in ids if details[i][1] is not None)
    return [run for run in runs if run is not None][:5]


class _Miner:
    def __init__(self, store: RunStore, options: Options, now: datetime) -> None:
        self.store = store
        self.options = options
        self.now = now

    def qualifies(self, found: Cluster) -> bool:
        """Whether a cluster is a candidate: at least ``min_count`` executions, ``min_success`` of them succeeded."""
        occurrences = sum(len(g.rows) for g in found.groups)
        successes = sum(g.successes for g in found.groups)
        return occurrences >= self.options.min_count and successes / occurrences >= self.options.min_success

    @staticmethod
    def needed_ids(found: Cluster) -> list[int]:
        """The logs whose details (timestamp, run, workstream) a candidate names: leader, first, last, members."""
        groups = found.groups
        first = min(g.rows[0][0] for g in groups)
        last = max(g.rows[-1][0] for g in groups)
        return [found.leader.first_success or first, first, last, *_first_ids(groups)]

    def candidate(
        self,
        found: Cluster,
        names: set[str],
        existing: dict[str, PatternCandidate],
        details: dict[int, tuple[str, str | None, str | None]],
    ) -> PatternCandidate:
        """The candidate a qualifying cluster makes.

        ``names`` are the names taken so far (a new candidate gets a free one and adds it); a candidate
        mined before keeps its name. ``details`` holds what ``needed_ids`` asked for.
        """
        groups = found.groups
        occurrences = sum(len(g.rows) for g in groups)
        rate = sum(g.successes for g in groups) / occurrences
        leader = found.leader
        leader_id = leader.first_success or 0
        shape = leader.shape
        types = frozenset.intersection(*(g.shape.file_types for g in groups))
        tools = frozenset.intersection(*(g.shape.tools_used for g in groups))
        times = [t for g in groups for t in g.times]
        members = _first_ids(groups)
        steady = features.consistency(times)
        same = sum(len(g.rows) for g in groups if g.shape.signature == shape.signature)
        lowest = min(score for _, score in found.members)
        kind_slug = _slug(shape.operation_kind, 40) or "op"
        key = _hex(shape.operation_kind, sorted(shape.file_types), sorted(shape.tools_used), shape.signature)
        candidate_id = f"PC-{kind_slug}-{key[:12]}"
        old = existing.get(candidate_id)
        if old is not None and old.name:
            name = old.name
        else:
            extensions = "-".join(sorted(t.lstrip(".") for t in types if t != "<none>"))
            name = base = _slug(f"{kind_slug}-{extensions}", 60) or kind_slug
            n = 2
            while name in names:
                name, n = f"{base}-{n}", n + 1
            names.add(name)
        shown_types = ", ".join(sorted(types)) or "none"
        explanation = (
            f"{occurrences} executions of {shape.operation_kind} similar to log {leader_id} "
            f"(0.3 × Jaccard(file types) + 0.3 × Jaccard(tools) + 0.4 × (1 for the same input signature, else 0.5) "
            f"≥ {features.THRESHOLD}; the lowest is {lowest:.2f}); {same} with the leader's input signature; all share "
            f"file types {shown_types} and tools {', '.join(sorted(tools))}"
        )
        _, run_id, workstream_id = details[leader_id]
        like = workstream_id or f"log {leader_id}"
        title = f"{shape.operation_kind} like {like}"
        summary = (
            f"Phases whose {shape.operation_kind} task works like {like}'s "
            f"({occurrences} similar executions, {rate:.0%} succeeded)."
        )
        return PatternCandidate(
            candidate_id=candidate_id,
            signature=shape.signature,
            operation_kind=shape.operation_kind,
            file_types=sorted(types),
            tools_used=sorted(tools),
            occurrences=occurrences,
            first_seen=_when(details[min(g.rows[0][0] for g in groups)][0]),
            last_seen=_when(details[max(g.rows[-1][0] for g in groups)][0]),
            example_run_ids=_example_runs(members, details),
            success_rate=rate,
            status="pending",
            name=name,
            leader_log_id=leader_id,
            member_log_ids=members,
            median_time_seconds=statistics.median(times),
            consistency=steady,
            confidence=features.confidence(rate, occurrences, steady),
            explanation=explanation,
            phase_template=self.draft(
                old, leader_id, name, title, summary, shape, sorted(tools), run_id, workstream_id
            ),
        )

    def draft(
        self,
        old: PatternCandidate | None,
        leader_id: int,
        name: str,
        title: str,
        summary: str,
        shape: Shape,
        tools: list[str],
        run_id: str | None,
        workstream_id: str | None,
    ) -> PhaseTemplate:
        """The candidate's phase-template draft: the one mined before when the leader is the same (it depends on
        the leader's recorded workstream only), else made from that workstream's attempts."""
        if old is not None and old.phase_template is not None and old.leader_log_id == leader_id:
            return replace(old.phase_template, template_id=name)
        attempts = self.store.attempts(run_id, workstream_id) if run_id and workstream_id else []
        return drafts.draft(name, title, summary, shape.operation_kind, tools, attempts)

    def anti_patterns(
        self, groups: Iterable[Group], failures: list[_Failure], concerned: dict[str, set[str]]
    ) -> list[AntiPattern]:
        by_signature: dict[str, list[_Failure]] = defaultdict(list)
        by_fingerprint: dict[str, list[_Failure]] = defaultdict(list)
        for failure in failures:
            by_signature[failure.shape.signature].append(failure)
            for print_ in failure.fingerprints:
                by_fingerprint[print_].append(failure)
        succeeded: dict[str, tuple[int, int]] = {}  # signature -> (successes, id of the last one)
        for group in groups:
            count, last = succeeded.get(group.shape.signature, (0, 0))
            succeeded[group.shape.signature] = (count + group.successes, max(last, group.last_success))
        found: list[AntiPattern] = []
        covered: set[int] = set()
        for signature, members in by_signature.items():
            if len(members) >= self.options.min_count:
                found.append(
                    self.anti_pattern(f"AP-sig-{signature[7:23]}", "input_signature", members, succeeded, concerned)
                )
                covered.update(f.log_id for f in members)
        for print_, members in sorted(by_fingerprint.items()):
            if len(members) >= self.options.min_count and not {f.log_id for f in members} <= covered:
                found.append(
                    self.anti_pattern(f"AP-fp-{print_[7:23]}", "error_fingerprint", members, succeeded, concerned)
                )
        return found

    def anti_pattern(
        self,
        anti_pattern_id: str,
        grouped_by: str,
        members: list[_Failure],
        succeeded: dict[str, tuple[int, int]],
        concerned: dict[str, set[str]],
    ) -> AntiPattern:
        members = sorted(members, key=lambda f: f.log_id)
        signature = _most_common(f.shape.signature for f in members)
        kind = _most_common(f.shape.operation_kind for f in members)
        codes = sorted({f.error_code for f in members if f.error_code})
        types: list[str] = sorted({_TYPE_OF_CODE[c] for c in codes if c in _TYPE_OF_CODE})
        main_type = _TYPE_OF_CODE.get(_most_common(f.error_code or "" for f in members))
        successes, last_success = succeeded.get(signature, (0, 0))
        first, last = members[0], members[-1]
        tools = sorted(set().union(*(f.shape.tools_used for f in members)))
        workstreams = {f.workstream_id for f in members}
        runs = list(dict.fromkeys(f.run_id for f in members if f.run_id))
        rate = len(members) / (len(members) + successes)
        affected = {f.pattern_id for f in members if f.pattern_id} | concerned.get(signature, set())
        failing = ", ".join(codes) or "an unknown error"
        return AntiPattern(
            anti_pattern_id=anti_pattern_id,
            signature=signature,
            operation_kind=kind,
            file_types=sorted(set().union(*(f.shape.file_types for f in members))),
            tools_used=tools,
            occurrences=len(members),
            first_seen=_when(first.stamp),
            last_seen=_when(last.stamp),
            example_run_ids=runs[:5],
            failure_rate=rate,
            error_types=types or None,
            recommendation=RECOMMENDATIONS.get(main_type, DEFAULT_RECOMMENDATION)
            if main_type
            else DEFAULT_RECOMMENDATION,
            name=f"{kind} ({', '.join(tools)}) failing with {failing}",
            description=(
                f"{len(members)} failures of {kind} tasks using {', '.join(tools)} in {len(workstreams)} workstream(s) "
                f"of {len(runs)} run(s), {first.stamp[:10]} to {last.stamp[:10]}; {rate:.0%} of the executions with "
                f"this input signature failed."
            ),
            grouped_by=grouped_by,  # type: ignore[arg-type]
            failure_signature=_most_common(f.output_signature for f in members),
            error_fingerprints=sorted(set().union(*(f.fingerprints for f in members))) or None,
            affected_patterns=sorted(affected) or None,
            member_log_ids=[f.log_id for f in members[:MEMBER_IDS]],
            status="resolved" if last_success > last.log_id else "active",
        )


def _most_common(values: Iterable[str]) -> str:
    """The most frequent value; among equally frequent ones the smallest."""
    counts = Counter(values)
    return min(counts, key=lambda value: (-counts[value], value))


def proven_uses(store: RunStore) -> dict[str, int]:
    """Per pattern id: how many (run, workstream) whose logs carry it succeeded in every task."""
    outcome: dict[tuple[str, str, str], bool] = {}
    for pattern, run, ws, success in store.pattern_use_rows():
        key = (pattern, run, ws)
        outcome[key] = outcome.get(key, True) and bool(success)
    counts: Counter[str] = Counter(pattern for (pattern, _, _), ok in outcome.items() if ok)
    return dict(sorted(counts.items()))


def _merged(new: PatternCandidate, old: PatternCandidate | None, uses: dict[str, int]) -> PatternCandidate:
    """A re-mined candidate that keeps what review decided (status, name, pattern and its template)."""
    if old is None:
        return new
    if old.status in ("approved", "rejected"):
        new = replace(new, status=old.status, name=old.name or new.name)
        if old.status == "approved":
            new = replace(new, phase_template=old.phase_template or new.phase_template)
    new = replace(new, pattern_id=old.pattern_id)
    if old.pattern_id is not None:
        new = replace(new, proven_uses=uses.get(old.pattern_id, 0))
    return new


def _with_uses(index: PatternIndex, uses: dict[str, int], now: datetime) -> PatternIndex:
    entries = [
        replace(entry, proven_uses=uses.get(entry.pattern_id, 0), updated_at=now)
        if entry.proven_uses != uses.get(entry.pattern_id, 0)
        else entry
        for entry in index.patterns
    ]
    return replace(index, patterns=entries)


def mine(repo: Path, options: Options, now: datetime | None = None) -> Mined:
    """Mines ``repo``'s execution logs and writes what it finds (see the module docstring)."""
    now = now or clock.utc_now()
    has_registry = registry.index_path(repo).exists()
    registry.read(repo)  # a broken registry stops mining before anything is written
    since = now - timedelta(days=options.since_days) if options.since_days is not None else None
    with RunStore.open(repo, create=False, audit=False) as store:
        shapes = _Shapes()
        failures, cancelled = _failures(store, since, shapes)
        count, groups = _read(store, since, shapes, cancelled)
        miner = _Miner(store, options, now)
        existing = {c.candidate_id: c for c in store.pattern_candidates()}
        names = {c.name for c in existing.values() if c.name}
        uses = proven_uses(store)
        candidates: list[PatternCandidate] = []
        concerned: dict[str, set[str]] = defaultdict(set)
        qualified = [found for found in cluster(groups.values()) if miner.qualifies(found)]
        details = store.log_details([i for found in qualified for i in miner.needed_ids(found)])
        for found in qualified:
            made = miner.candidate(found, names, existing, details)
            made = _merged(made, existing.get(made.candidate_id), uses)
            candidates.append(made)
            for group in found.groups:
                concerned[group.shape.signature].add(made.pattern_id or made.candidate_id)
        mined_ids = {c.candidate_id for c in candidates}
        reviewed = [
            replace(c, proven_uses=uses.get(c.pattern_id, 0))
            for c in existing.values()
            if c.candidate_id not in mined_ids
            and c.pattern_id is not None
            and c.proven_uses != uses.get(c.pattern_id, 0)
        ]
        bad = miner.anti_patterns(groups.values(), failures, concerned)
        old_bad = {a.anti_pattern_id for a in store.anti_patterns()}
        store.put_patterns(candidates + reviewed, bad)
    if has_registry:
        registry.update(repo, lambda current: _with_uses(current, uses, now))
    return Mined(
        logs=count,
        candidates=candidates,
        anti_patterns=bad,
        new_candidates=sum(c.candidate_id not in existing for c in candidates),
        new_anti_patterns=sum(a.anti_pattern_id not in old_bad for a in bad),
        proven_uses=uses,
    )
