"""The run's writer: what ``--durability`` changes about when records reach the disk, in a real run."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import assert_every_record_validates, assert_verify_passes, make_repo, phase, step
from tests.uet_engine.execution.test_coordinator import Watching, run_in_process
from tests.uet_engine.phase_specs import write
from uet_engine import jsonl
from uet_engine.execution.sandbox import UNCONFINED
from uet_engine.saving import audit


def _run_ended(repo: Path) -> bool:
    """Whether the run's last record (its ``run_finished`` event) is in the store yet."""
    store = repo / ".runs" / "uet.sqlite"
    if not store.exists():
        return False
    db = sqlite3.connect(store)
    try:
        return db.execute("SELECT 1 FROM run_events WHERE event_type = 'run_finished'").fetchone() is not None
    finally:
        db.close()


def _syncs(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """Every fsync and fdatasync the engine makes from now on: which, and whether the run had ended by then."""
    seen: list[tuple[str, bool]] = []

    def counting(name: str, real: Callable[[int], None]) -> Callable[[int], None]:
        def call(fd: int) -> None:
            seen.append((name, _run_ended(repo)))
            real(fd)

        return call

    monkeypatch.setattr(os, "fsync", counting("fsync", os.fsync))
    lines = counting("fdatasync", jsonl.sync)
    monkeypatch.setattr(jsonl, "sync", lines)
    monkeypatch.setattr(audit, "sync", lines)
    return seen


def _specs(root: Path) -> Path:
    return write(
        root,
        *(phase(f"PH-{n}", [], [step(f"echo {n} > {n}.txt")], create=[f"{n}.txt"]) for n in ("A", "B", "C")),
    )[0].parent


def test_normal_durability_syncs_nothing_until_the_run_has_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three writing workstreams: no sync while they run; at the end one per patch file, one for their folder and
    one for the audit log (the store is checkpointed by SQLite itself). The records are the same as ever."""
    repo = make_repo(tmp_path / "repo")
    specs = _specs(tmp_path / "specs")
    seen = _syncs(repo, monkeypatch)
    outcome = run_in_process(repo, specs, Watching(repo, 2), sandbox=UNCONFINED)
    assert outcome.succeeded, outcome.problems
    assert seen == [("fsync", True)] * 4 + [("fdatasync", True)]
    assert [(repo / f"{n}.txt").read_text() for n in "ABC"] == ["A\n", "B\n", "C\n"]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


def test_full_durability_syncs_each_patch_and_final_line_as_its_workstream_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--durability full``: each patch file is fsynced before it is moved into place, and each final-state audit
    line (and the run's start and end lines) is fdatasynced as it is written; nothing is left for the end."""
    repo = make_repo(tmp_path / "repo")
    specs = _specs(tmp_path / "specs")
    seen = _syncs(repo, monkeypatch)
    outcome = run_in_process(repo, specs, Watching(repo, 2), sandbox=UNCONFINED, durability="full")
    assert outcome.succeeded, outcome.problems
    during = [name for name, ended in seen if not ended]
    assert sorted(during) == ["fdatasync"] * 4 + ["fsync"] * 3  # run start, 3 successes; 3 patch files
    assert seen[-1] == ("fdatasync", True)  # the run.finished line
    assert len(seen) == 8
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


def _statements(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement the run store's connections run from now on, in order."""
    from uet_engine.saving import store

    seen: list[str] = []
    real = sqlite3.connect

    def connect(*args: object, **kwargs: object) -> sqlite3.Connection:
        db = real(*args, **kwargs)  # type: ignore[arg-type]
        db.set_trace_callback(seen.append)
        return db

    monkeypatch.setattr(store.sqlite3, "connect", connect)
    return seen


@pytest.mark.parametrize("durability", ["normal", "full"])
def test_full_durability_commits_each_final_state_at_synchronous_full(
    durability: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``full`` a power loss cannot roll back a workstream's final state once its patch is in the tree: the
    transaction that records it (and, by the WAL's order, every commit before it) is synced by SQLite as it
    commits. ``normal`` never leaves ``synchronous=NORMAL``."""
    repo = make_repo(tmp_path / "repo")
    specs = _specs(tmp_path / "specs")
    seen = _statements(monkeypatch)
    outcome = run_in_process(repo, specs, Watching(repo, 2), sandbox=UNCONFINED, durability=durability)
    assert outcome.succeeded, outcome.problems
    full = [n for n, sql in enumerate(seen) if sql == "PRAGMA synchronous = FULL"]
    if durability == "normal":
        assert full == []
        return
    assert len(full) == 3  # one per workstream: its succeeded transition
    for start in full:
        end = seen.index("PRAGMA synchronous = NORMAL", start)
        inside = seen[start + 1 : end]
        assert inside[0] == "BEGIN IMMEDIATE" and inside[-1] == "COMMIT"
        assert any(sql.startswith("UPDATE uet_runs SET status") for sql in inside)
    assert_verify_passes(repo)
