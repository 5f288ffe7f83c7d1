"""``uet errors list|show`` on the error log of real runs: grouping by fingerprint, JSON, a torn tail."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import uet_contracts
from tests.uet_engine.cli.test_run import make_repo, phase, rows, uet
from tests.uet_engine.phase_specs import write
from uet_contracts import ErrorEvent

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shells, which Windows lacks: run these tests on Linux or macOS"
)

TESTS = {
    "tests/test_q.py": (
        "def test_fifo():\n    assert [1, 2][0] == 2\n\n\ndef test_lifo():\n    assert [1, 2][-1] == 1\n"
    ),
}
PYTEST = f"{sys.executable} -m pytest -q -p no:cacheprovider tests/test_q.py"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs of one workstream whose pytest check fails the same two ways each time."""
    root = tmp_path_factory.mktemp("errors")
    repo = make_repo(root / "repo", TESTS)
    write(root / "specs", phase("PH-A", [], [], acceptance={"sh": [PYTEST]}))
    for _ in range(2):
        assert uet(repo, "run", str(root / "specs")).code == 1
    return repo


def groups(repo: Path, *args: str) -> list[dict[str, object]]:
    done = uet(repo, "errors", "list", "--json", *args)
    assert (done.code, done.stderr) == (0, ""), done.stderr
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found


def test_the_same_failure_twice_is_one_fingerprint_counted_twice(repo: Path) -> None:
    found = groups(repo)
    by_message = {g["latest"]["message"]: g for g in found}  # type: ignore[index]
    assert sorted(by_message) == [
        "acceptance/0 (sh) failed: exit code 1, expected 0",
        "test_fifo failed: assert 1 == 2",
        "test_lifo failed: assert 2 == 1",
    ]
    assert {g["count"] for g in found} == {2}
    # Different failures have different fingerprints; every group's latest event is a valid ErrorEvent.
    assert len({g["fingerprint"] for g in found}) == 3
    for group in found:
        latest = uet_contracts.validate(group["latest"], ErrorEvent)
        assert latest.fingerprint == group["fingerprint"]
        assert group["workstreams"] == ["ws-ph-a"]
        assert len(group["runs"]) == 2  # type: ignore[arg-type]
        assert group["first_seen"] < group["last_seen"]  # type: ignore[operator]
    fifo = by_message["test_fifo failed: assert 1 == 2"]["latest"]
    assert (fifo["path"], fifo["line"], fifo["plugin"]) == ("tests/test_q.py", 2, "pytest")  # type: ignore[index]


def test_list_prints_one_line_per_failure(repo: Path) -> None:
    done = uet(repo, "errors", "list")
    assert (done.code, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["FINGERPRINT", "COUNT", "LAST", "SEEN", "WORKSTREAMS", "ERROR"]
    assert len(lines) == 4
    fifo = next(line for line in lines if "test_fifo" in line)
    assert fifo.split("  ")[-1] == "UET-E102 tests/test_q.py:2: test_fifo failed: assert 1 == 2"
    assert " 2 " in fifo and "ws-ph-a" in fifo


def test_list_of_one_run(repo: Path) -> None:
    run_ids = sorted({e["run_id"] for e in rows(repo, "error_events")})
    found = groups(repo, "--run", run_ids[0])
    assert [g["count"] for g in found] == [1, 1, 1]
    assert groups(repo, "--run", "run-nothing") == []
    done = uet(repo, "errors", "list", "--run", "run-nothing")
    assert (done.code, done.stdout, done.stderr) == (0, "", "no errors recorded for run run-nothing\n")


def test_show_by_a_prefix_lists_every_occurrence(repo: Path) -> None:
    fifo = next(g for g in groups(repo) if "test_fifo" in g["latest"]["message"])  # type: ignore[index]
    fingerprint = str(fifo["fingerprint"])
    done = uet(repo, "errors", "show", fingerprint.removeprefix("sha256:")[:8], "--json")
    assert done.code == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["fingerprint"], shown["count"]) == (fingerprint, 2)
    events = [uet_contracts.validate(e, ErrorEvent) for e in shown["events"]]
    assert [e.message for e in events] == ["test_fifo failed: assert 1 == 2"] * 2
    text = uet(repo, "errors", "show", fingerprint)
    assert text.code == 0
    assert text.stdout.splitlines()[:3] == [
        fingerprint,
        "  UET-E102 acceptance_failed: tests/test_q.py:2: test_fifo failed: assert 1 == 2",
        "  tool pytest, plugin pytest, category test_failure",
    ]


@pytest.mark.parametrize(
    ("wanted", "message"),
    [
        ("xyz", "uet errors show: 'xyz' is not a fingerprint (sha256:<hex>, or at least 4 of its hex digits)"),
        ("0000000000", "uet errors show: no error with fingerprint 0000000000 in {log}"),
    ],
)
def test_show_refuses_what_names_no_failure(repo: Path, wanted: str, message: str) -> None:
    done = uet(repo, "errors", "show", wanted)
    assert (done.code, done.stdout, done.stderr) == (2, "", message.format(log=".runs/errors.jsonl") + "\n")


def test_show_refuses_an_ambiguous_prefix(tmp_path: Path, repo: Path) -> None:
    events = [json.loads(line) for line in (repo / ".runs" / "errors.jsonl").read_text().splitlines()]
    copy = tmp_path / "copy"
    (copy / ".runs").mkdir(parents=True)
    twins = []
    for i, digit in enumerate("ab"):
        twins.append({**events[0], "fingerprint": "sha256:" + "f" * 10 + digit * 54, "message": f"twin {i}"})
    (copy / ".runs" / "errors.jsonl").write_text("".join(json.dumps(e) + "\n" for e in twins))
    done = uet(copy, "errors", "show", "ffff")
    assert (done.code, done.stderr) == (
        2,
        "uet errors show: ffff names 2 errors (ffffffffffaa, ffffffffffbb); give more digits\n",
    )


def test_a_torn_last_line_is_reported_and_skipped_then_cut_by_the_next_write(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(tmp_path / "specs", phase("PH-A", [], [], acceptance={"sh": ["exit 3"]}))
    assert uet(repo, "run", str(tmp_path / "specs")).code == 1
    log = repo / ".runs" / "errors.jsonl"
    whole = log.read_bytes()
    log.write_bytes(whole + b'{"timestamp": "2026-')  # the engine killed mid-write
    done = uet(repo, "errors", "list", "--json")
    assert done.code == 0
    assert done.stderr == "uet errors list: .runs/errors.jsonl: torn last line (20 bytes) skipped\n"
    assert [g["count"] for g in json.loads(done.stdout)] == [1]
    assert uet(repo, "run", str(tmp_path / "specs")).code == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 2 and all(uet_contracts.validate(json.loads(line), ErrorEvent) for line in lines)
    assert uet(repo, "errors", "list").stderr == ""


def test_a_line_that_is_not_an_error_event_is_named_and_skipped(tmp_path: Path) -> None:
    (tmp_path / ".runs").mkdir()
    (tmp_path / ".runs" / "errors.jsonl").write_text('{"message": "not an event"}\n')
    done = uet(tmp_path, "errors", "list", "--json")
    assert done.code == 0 and json.loads(done.stdout) == []
    assert done.stderr == (
        "uet errors list: .runs/errors.jsonl:1:1: $.error_code: missing required field 'error_code'; line skipped\n"
    )


def test_no_error_log_yet(tmp_path: Path) -> None:
    done = uet(tmp_path, "errors", "list")
    assert (done.code, done.stdout) == (0, "")
    assert done.stderr == "no errors recorded for .runs/errors.jsonl\n"
    missing = uet(tmp_path, "errors", "list", "--repo", str(tmp_path / "nope"))
    assert (missing.code, missing.stderr) == (2, f"uet errors list: {tmp_path / 'nope'}: no such folder\n")
