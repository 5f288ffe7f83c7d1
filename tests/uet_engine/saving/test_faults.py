"""Faults of the environment are one-line messages (exit 2, no traceback), never rows left running or queued."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.uet_engine.cli.test_run import make_repo, phase, rows, step
from tests.uet_engine.phase_specs import write

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX file limits and attributes: run these tests on Linux or macOS"
)


def uet(repo: Path, *args: str, file_limit: int | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m uet_engine ARGS`` in ``repo``, optionally with a file-size limit (a disk that fills up)."""

    def limit() -> None:
        if file_limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=limit,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def specs(tmp_path: Path, *, big: bool = False) -> Path:
    # 1,000,000 bytes of text: the file fits under the tests' file-size limit, its patch (a '+' per line) does not.
    run = "yes 'a line of text' | head -c 1000000 > big.txt" if big else "echo a > a.txt"
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step(run)], create=["big.txt" if big else "a.txt"]),
        phase("PH-B", ["PH-A"], [step("echo b > b.txt")], create=["b.txt"]),
    )
    return tmp_path / "specs"


def in_flight(repo: Path) -> list[dict[str, Any]]:
    return [r for r in rows(repo, "uet_runs") if r["status"] in ("queued", "running")]


def chattr(path: Path, flag: str) -> None:
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        why = done.stderr.decode().strip() or "not permitted"
        pytest.skip(f"chattr {flag} does not work here ({why}): run as root on ext4, e2fsprogs installed")


def test_a_store_path_that_is_a_folder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".runs" / "uet.sqlite").mkdir(parents=True)
    why = "is a folder, not a run store: move it aside and run again"
    done = uet(repo, "run", str(specs(tmp_path)), "--sandbox", "off")
    assert (done.returncode, done.stderr) == (2, f"uet run: {repo / '.runs' / 'uet.sqlite'} {why}\n")
    for command in ("verify", "list"):
        done = uet(repo, "runs", command)
        assert (done.returncode, done.stderr) == (2, f"uet runs {command}: .runs/uet.sqlite {why}\n")


def test_garbage_in_the_stores_inner_pages_is_caught_at_open(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert uet(repo, "run", str(specs(tmp_path)), "--sandbox", "off").returncode == 0
    store = repo / ".runs" / "uet.sqlite"
    data = bytearray(store.read_bytes())
    page = 4096
    assert len(data) > 3 * page
    data[2 * page : 3 * page] = os.urandom(page)  # a table page, the header left intact
    store.write_bytes(bytes(data))
    for args in (("run", str(tmp_path / "specs")), ("runs", "verify")):
        done = uet(repo, *args)
        assert done.returncode == 2
        (line,) = done.stderr.splitlines()
        assert line.startswith(f"uet {' '.join(args[:2]) if args[0] == 'runs' else 'run'}: ")
        assert "uet.sqlite: " in line
        assert "the run store is damaged (SQLite quick_check: " in line or "not a usable run store" in line


def test_an_immutable_records_folder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / ".runs").mkdir()
    chattr(repo / ".runs", "+i")
    try:
        done = uet(repo, "run", str(specs(tmp_path)), "--sandbox", "off")
    finally:
        chattr(repo / ".runs", "-i")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("uet run: ") and "Operation not permitted" in line
    assert list((repo / ".runs").iterdir()) == []


def test_an_immutable_audit_log_ends_the_run_with_nothing_left_in_flight(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert uet(repo, "run", str(specs(tmp_path)), "--sandbox", "off").returncode == 0
    audit = repo / ".runs" / "audit.jsonl"
    before = audit.read_bytes()
    chattr(audit, "+i")
    try:
        # --force: ws-ph-b is up to date, and the point is a workstream that runs when the log cannot be written
        args = ["--sandbox", "off", "--ws-id", "ws-ph-b", "--no-deps", "--force"]
        done = uet(repo, "run", str(tmp_path / "specs"), *args)
    finally:
        chattr(audit, "-i")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        f"uet run: {audit}: cannot write the audit log: Operation not permitted; the run stopped"
    )
    assert in_flight(repo) == []
    second = [r for r in rows(repo, "uet_runs") if r["run_id"] != rows(repo, "uet_runs")[0]["run_id"]]
    assert [(r["workstream_id"], r["status"]) for r in second] == [("ws-ph-b", "crashed")]
    errors = [e for e in rows(repo, "error_events") if e["error_type"] == "environment"]
    assert [e["workstream_id"] for e in errors] == ["ws-ph-b"]
    assert audit.read_bytes() == before


def test_a_full_disk_stops_the_run_with_one_line_and_ends_what_was_running(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(specs(tmp_path, big=True)), "--sandbox", "off", file_limit=1_040_000)
    assert done.returncode == 2
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("uet run: ")]
    assert line.endswith("File too large; the run stopped"), line
    assert in_flight(repo) == []
    statuses = {r["workstream_id"]: r["status"] for r in rows(repo, "uet_runs")}
    assert statuses == {"ws-ph-a": "failed", "ws-ph-b": "crashed"}
    assert not (repo / "big.txt").exists()
    assert list((repo / ".ledger" / "patches").glob("*.patch")) == []


def test_a_failed_first_open_leaves_no_store_behind(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(specs(tmp_path)), "--sandbox", "off", file_limit=2048)
    assert done.returncode == 2
    assert not (repo / ".runs" / "uet.sqlite").exists()
    assert sorted(p.name for p in (repo / ".runs").iterdir() if p.name.endswith(".new")) == []
    assert uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off").returncode == 0
