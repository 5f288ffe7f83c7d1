"""Mining a real run store: candidates, anti-patterns, fingerprints, windows, proven uses, idempotence."""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

import uet_contracts
from tests.uet_engine.patterns.records import (
    SIG_A,
    SIG_B,
    SIG_FAIL,
    START,
    attempt,
    error,
    log,
    store_with,
)
from uet_contracts import PatternCandidate, PhaseSpec
from uet_engine.detection.fingerprints import fingerprint
from uet_engine.errors import RegistryError, StoreMissing
from uet_engine.patterns import templates
from uet_engine.patterns.mining import RECOMMENDATIONS, Options, mine
from uet_engine.patterns.registry import index_path
from uet_engine.saving.store import RunStore

LATER = START + timedelta(days=1)


def stored(repo: Path) -> tuple[list[PatternCandidate], list[str]]:
    with RunStore.open(repo, create=False, audit=False) as store:
        return store.pattern_candidates(), [a.anti_pattern_id for a in store.anti_patterns()]


def five_similar() -> list[uet_contracts.ExecutionLog]:
    """Logs 1-4 of shape A (1, 3, 1, 3 s), log 5 of shape A with another signature (2 s), 6-7 another shape."""
    logs = [log(n, seconds=s) for n, s in zip(range(1, 5), (1.0, 3.0, 1.0, 3.0), strict=True)]
    logs.append(log(5, signature=SIG_B, seconds=2.0))
    logs += [log(n, types=(".md",), signature=digest_md) for n in (6, 7)]
    return logs


digest_md = "sha256:" + "d" * 64


def test_a_cluster_becomes_a_candidate_with_its_members_and_confidence(tmp_path: Path) -> None:
    store_with(tmp_path, five_similar())
    found = mine(tmp_path, Options(), now=LATER)
    assert found.logs == 7
    (candidate,) = found.candidates  # the .md pair is under --min-count
    assert candidate.candidate_id.startswith("PC-exec-atomic-create-") and len(candidate.candidate_id) == 34
    assert (candidate.leader_log_id, candidate.member_log_ids, candidate.occurrences) == (1, [1, 2, 3, 4, 5], 5)
    assert (candidate.signature, candidate.file_types, candidate.tools_used) == (SIG_A, [".py"], ["sh", "touch"])
    assert candidate.example_run_ids == ["run-1", "run-2", "run-3", "run-4", "run-5"]
    assert (candidate.first_seen, candidate.last_seen) == (START + timedelta(minutes=1), START + timedelta(minutes=5))
    assert (candidate.success_rate, candidate.median_time_seconds, candidate.status) == (1.0, 2.0, "pending")
    # times 1, 3, 1, 3, 2: mean 2, population deviation sqrt(0.8)
    assert candidate.consistency == pytest.approx(1 - math.sqrt(0.8) / 2)
    assert candidate.confidence == pytest.approx(0.4 * 1 + 0.3 * 0.5 + 0.3 * (1 - math.sqrt(0.8) / 2))
    assert candidate.name == "exec-atomic-create-py"
    assert candidate.explanation is not None
    assert candidate.explanation.startswith("5 executions of EXEC-ATOMIC-CREATE similar to log 1 ")
    assert "the lowest is 0.80); 4 with the leader's input signature; all share file types .py and tools sh, touch" in (
        candidate.explanation
    )
    assert stored(tmp_path) == ([candidate], [])


def test_min_count_and_min_success_decide(tmp_path: Path) -> None:
    logs = [*five_similar(), log(8, success=False, seconds=2.0)]  # 5 of 6 succeeded
    store_with(tmp_path, logs)
    assert mine(tmp_path, Options(), now=LATER).candidates == []
    (candidate,) = mine(tmp_path, Options(min_success=0.8), now=LATER).candidates
    assert (candidate.occurrences, candidate.success_rate) == (6, pytest.approx(5 / 6))
    assert [c.occurrences for c in mine(tmp_path, Options(min_count=2, min_success=0.8), now=LATER).candidates] == [
        6,
        2,
    ]


def test_re_mining_is_idempotent_and_updates_counts_under_the_same_id(tmp_path: Path) -> None:
    store_with(tmp_path, five_similar())
    first = mine(tmp_path, Options(), now=LATER)
    again = mine(tmp_path, Options(), now=LATER)
    assert again.candidates == first.candidates and again.new_candidates == 0
    store_with(tmp_path, [log(9, seconds=2.0)])
    (updated,) = mine(tmp_path, Options(), now=LATER).candidates
    assert (updated.candidate_id, updated.occurrences) == (first.candidates[0].candidate_id, 6)
    with sqlite3.connect(tmp_path / ".runs" / "uet.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM pattern_candidates").fetchone() == (1,)


def test_review_decisions_survive_re_mining(tmp_path: Path) -> None:
    store_with(tmp_path, five_similar())
    (candidate,) = mine(tmp_path, Options(), now=LATER).candidates
    with RunStore.open(tmp_path, audit=False) as store:
        store.put_patterns([replace(candidate, status="rejected", name="kept-name")], [])
    (again,) = mine(tmp_path, Options(), now=LATER).candidates
    assert (again.status, again.name) == ("rejected", "kept-name")


def failing(n: int, ws: str, **more: object) -> uet_contracts.ExecutionLog:
    return log(
        n,
        kind="ACCEPTANCE-CHECK",
        types=(),
        tools=("sh", "test"),
        signature=SIG_FAIL,
        success=False,
        ws=ws,
        task="acceptance/0",
        **more,  # type: ignore[arg-type]
    )


def test_recurring_failures_become_an_anti_pattern_with_their_fingerprints(tmp_path: Path) -> None:
    message = "acceptance/0 (sh) failed: exit code 1, expected 0"
    logs = [failing(10, "ws-b"), failing(11, "ws-c"), failing(12, "ws-d")]
    stored_print = "sha256:" + "5" * 64
    errors = [
        error("run-10", "ws-b", "acceptance/0", message),
        error("run-11", "ws-c", "acceptance/0", message),
        error("run-12", "ws-d", "acceptance/0", message, fingerprint=stored_print),
    ]
    store_with(tmp_path, logs, errors)
    (anti,) = mine(tmp_path, Options(), now=LATER).anti_patterns
    computed = [fingerprint("UET-E102", ws, None, message) for ws in ("ws-b", "ws-c")]
    assert anti.anti_pattern_id == f"AP-sig-{SIG_FAIL[7:23]}"
    assert (anti.grouped_by, anti.signature, anti.operation_kind, anti.occurrences) == (
        "input_signature",
        SIG_FAIL,
        "ACCEPTANCE-CHECK",
        3,
    )
    assert anti.error_fingerprints == sorted([*computed, stored_print])
    assert (anti.member_log_ids, anti.example_run_ids) == ([1, 2, 3], ["run-10", "run-11", "run-12"])
    assert (anti.failure_rate, anti.error_types, anti.status) == (1.0, ["acceptance_failed"], "active")
    assert anti.recommendation == RECOMMENDATIONS["acceptance_failed"]
    assert anti.name == "ACCEPTANCE-CHECK (sh, test) failing with UET-E102"
    assert anti.description == (
        "3 failures of ACCEPTANCE-CHECK tasks using sh, test in 3 workstream(s) of 3 run(s), 2026-11-25 to "
        "2026-11-25; 100% of the executions with this input signature failed."
    )
    # a later success of the same shape resolves it; the failure rate counts it
    store_with(tmp_path, [log(13, kind="ACCEPTANCE-CHECK", types=(), tools=("sh", "test"), signature=SIG_FAIL)])
    (resolved,) = mine(tmp_path, Options(), now=LATER).anti_patterns
    assert (resolved.status, resolved.failure_rate, resolved.anti_pattern_id) == (
        "resolved",
        0.75,
        anti.anti_pattern_id,
    )
    assert stored(tmp_path)[1] == [anti.anti_pattern_id]


def test_one_failure_under_several_signatures_is_grouped_by_its_fingerprint(tmp_path: Path) -> None:
    message = "step/0 (sh) failed: exit code 2, expected 0"
    logs = [
        log(n, signature=f"sha256:{c * 64}", success=False, ws="ws-x", run=f"run-{n}", error_code="UET-E101")
        for n, c in ((20, "3"), (21, "1"), (22, "2"))
    ]
    errors = [error(f"run-{n}", "ws-x", "step/0", message.replace("2", str(n))) for n in (20, 21, 22)]
    store_with(tmp_path, logs, errors)
    (anti,) = mine(tmp_path, Options(), now=LATER).anti_patterns
    shared = fingerprint("UET-E102", "ws-x", None, message)  # numbers normalised: one fingerprint
    assert (anti.anti_pattern_id, anti.grouped_by) == (f"AP-fp-{shared[7:23]}", "error_fingerprint")
    assert (anti.error_fingerprints, anti.occurrences, anti.signature) == ([shared], 3, "sha256:" + "1" * 64)
    assert anti.recommendation == RECOMMENDATIONS["step_failed"]


def test_cancelled_tasks_are_not_mined(tmp_path: Path) -> None:
    logs = [failing(n, f"ws-{n}", error_code="UET-E107") for n in (1, 2, 3)]
    store_with(tmp_path, logs)
    found = mine(tmp_path, Options(), now=LATER)
    assert (found.logs, found.anti_patterns) == (0, [])


def test_since_mines_only_the_window(tmp_path: Path) -> None:
    old = [log(n) for n in (1, 2, 3)]
    recent = [log(n, at=START + timedelta(days=9, minutes=n)) for n in (4, 5)]
    store_with(tmp_path, old + recent)
    now = START + timedelta(days=10)
    assert mine(tmp_path, Options(since_days=2), now=now).logs == 2
    assert mine(tmp_path, Options(since_days=2, min_count=2), now=now).candidates[0].member_log_ids == [4, 5]
    assert mine(tmp_path, Options(since_days=11), now=now).candidates[0].member_log_ids == [1, 2, 3, 4, 5]


def test_proven_uses_count_workstreams_that_succeeded(tmp_path: Path) -> None:
    logs = [
        log(1, pattern="PAT-x", run="run-a"),
        log(2, pattern="PAT-x", run="run-a", task="acceptance/0"),
        log(3, pattern="PAT-x", run="run-b"),
        log(4, pattern="PAT-x", run="run-c"),
        log(5, pattern="PAT-x", run="run-c", task="acceptance/0", success=False),
        log(6, pattern="PAT-y", run="run-d", ws="ws-b"),
    ]
    store_with(tmp_path, logs)
    assert mine(tmp_path, Options(), now=LATER).proven_uses == {"PAT-x": 2, "PAT-y": 1}


def test_the_draft_comes_from_the_leaders_workstream(tmp_path: Path) -> None:
    attempts = [
        attempt("run-1", "ws-a", "step", 0, "mkdir -p src && printf 'X = 1\\n' > src/a.py # ${HOME}", ["src/a.py"]),
        attempt("run-1", "ws-a", "acceptance", 0, "test -f src/a.py && ! test -f src/a.pyc", ["src/a.py"]),
    ]
    store_with(tmp_path, five_similar(), attempts=attempts)
    (candidate,) = mine(tmp_path, Options(), now=LATER).candidates
    template = candidate.phase_template
    assert template is not None and template.template_id == candidate.name
    assert sorted(template.parameters) == ["create_1", "modify_1", "objective", "phase_id", "title", "workstream_id"]
    assert template.parameters["create_1"].default == "src/a.py"
    assert template.body["file_scope"] == {
        "create": ["${create_1}"],
        "modify": ["${modify_1}"],
        "read_only": ["README.md"],
    }
    assert template.body["steps"] == [
        {
            "operation_kind": "EXEC-ATOMIC-CREATE",
            "tool": "sh",
            "run": "mkdir -p src && printf 'X = 1\\n' > ${create_1} # $${HOME}",
        }
    ]
    assert template.body["acceptance"] == {"sh": ["test -f ${create_1} && ! test -f src/a.pyc"]}
    found = templates.Found("phase", "draft", template)
    spec = templates.instantiate(
        found, {"phase_id": "PH-9", "workstream_id": "ws-new", "create_1": "lib/b.py"}, label="PH-9.yaml"
    )
    assert isinstance(spec, PhaseSpec) and spec.file_scope.create == ["lib/b.py"]
    assert spec.steps is not None and spec.steps[0].run == "mkdir -p src && printf 'X = 1\\n' > lib/b.py # ${HOME}"
    assert spec.template_id == candidate.name


def test_without_attempts_the_draft_asks_for_the_command(tmp_path: Path) -> None:
    store_with(tmp_path, five_similar())
    (candidate,) = mine(tmp_path, Options(), now=LATER).candidates
    template = candidate.phase_template
    assert template is not None and template.parameters["run"].default is None
    assert template.body["steps"] == [{"operation_kind": "EXEC-ATOMIC-CREATE", "tool": "sh", "run": "${run}"}]


def test_a_broken_registry_stops_mining_before_anything_is_written(tmp_path: Path) -> None:
    store_with(tmp_path, five_similar())
    index_path(tmp_path).parent.mkdir(parents=True)
    index_path(tmp_path).write_text("index_version: 1\npatterns:\n  - pattern_id: nope\n", encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        mine(tmp_path, Options(), now=LATER)
    assert caught.value.problems[0].line == 3
    assert stored(tmp_path) == ([], [])


def test_no_store_is_reported(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing):
        mine(tmp_path, Options())
