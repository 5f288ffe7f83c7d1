"""Records edited after a real run are caught by ``uet runs verify``, each by name (a real git repository)."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import make_repo, phase, step, uet
from tests.uet_engine.phase_specs import write

AUDIT = ".runs/audit.jsonl"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real run of two workstreams (two steps and a check each), verified sound, copied for each case."""
    base = tmp_path_factory.mktemp("pristine")
    repo = make_repo(base / "repo")
    write(
        base / "specs",
        phase("PH-A", [], [step("echo a > a.txt"), step("echo a2 >> a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("echo b > b.txt"), step("cat a.txt >> b.txt")], create=["b.txt"]),
    )
    assert uet(repo, "run", str(base / "specs"), "--sandbox", "off").code == 0
    done = uet(repo, "runs", "verify")
    assert done.code == 0, done.stdout
    return repo


@pytest.fixture
def repo(pristine: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(pristine, copy, symlinks=True)
    return copy


def sql(repo: Path, statement: str) -> None:
    with sqlite3.connect(repo / ".runs" / "uet.sqlite") as db:
        db.execute(statement)


def lines(repo: Path) -> list[str]:
    return (repo / AUDIT).read_text().splitlines(keepends=True)


def set_lines(repo: Path, new: list[str]) -> None:
    (repo / AUDIT).write_text("".join(new))


def flip(repo: Path) -> None:
    """Change one letter inside the message of a middle line: the line stays valid JSON and a valid AuditEvent."""
    kept = lines(repo)
    middle = len(kept) // 2
    kept[middle] = kept[middle].replace('"outcome":"info"', '"outcome":"success"', 1)
    assert kept != lines(repo)
    set_lines(repo, kept)


def swap(repo: Path) -> None:
    kept = lines(repo)
    kept[2], kept[3] = kept[3], kept[2]
    set_lines(repo, kept)


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "every attempt of a success deleted",
        lambda r: sql(r, "DELETE FROM step_attempts WHERE workstream_id = 'ws-ph-b'"),
        "ws-ph-b: step/0, step/1 of its 2 step task(s) have no attempt",
    ),
    (
        "one step attempt deleted",
        lambda r: sql(r, "DELETE FROM step_attempts WHERE workstream_id = 'ws-ph-a' AND idx = 1 AND kind = 'step'"),
        "ws-ph-a: step/1 of its 2 step task(s) have no attempt",
    ),
    (
        "patch_applied deleted",
        lambda r: sql(r, "DELETE FROM run_events WHERE event_type = 'patch_applied' AND workstream_id = 'ws-ph-a'"),
        "ws-ph-a: succeeded in a run that ended, but no patch_applied event shows",
    ),
    (
        "run_finished deleted",
        lambda r: sql(r, "DELETE FROM run_events WHERE event_type = 'run_finished'"),
        "has a run.finished line but no run_finished event",
    ),
    (
        "a middle event deleted",
        lambda r: sql(r, "DELETE FROM run_events WHERE seq = 5"),
        "-: run_events seq 6: prev_sha256 does not match run_events seq 4",
    ),
    (
        "an event altered",
        lambda r: sql(r, "UPDATE run_events SET record = replace(record, 'step/0: ok', 'step/0: fine') WHERE seq = 6"),
        "run_events seq 7: prev_sha256 does not match run_events seq 6",
    ),
    (
        "an audit line duplicated",
        lambda r: set_lines(r, lines(r)[:3] + lines(r)[2:]),
        f"- -: {AUDIT}:4: prev_sha256 does not match {AUDIT}:3",
    ),
    ("two audit lines swapped", swap, f"- -: {AUDIT}:3: prev_sha256 does not match {AUDIT}:2"),
    ("an audit line altered", flip, "prev_sha256 does not match"),
    (
        "the first audit line deleted",
        lambda r: set_lines(r, lines(r)[1:]),
        f"- -: {AUDIT}:1: prev_sha256 names a predecessor, but it is the first line (those before went)",
    ),
    (
        "the last audit line deleted",
        lambda r: set_lines(r, lines(r)[:-1]),
        "a run_finished event but no run.finished line",
    ),
]


@pytest.mark.parametrize(("name", "damage", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_tampering_is_named(repo: Path, name: str, damage: Callable[[Path], None], expected: str) -> None:
    damage(repo)
    done = uet(repo, "runs", "verify")
    assert done.code == 1, done.stdout
    assert any(expected in line for line in done.stdout.splitlines()), done.stdout
