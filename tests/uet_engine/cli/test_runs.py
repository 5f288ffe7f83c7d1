"""``uet runs list|show|verify`` as a user runs them: real subprocesses on a real store, exact output."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.uet_engine.run_records import RUN, RUN2
from uet_engine.saving.store import store_path


def uet(*args: str, cwd: Path = REPO_ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uet_engine", "runs", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_list_prints_runs_newest_first(repo: Path) -> None:
    done = uet("list", "--repo", str(repo))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "RUN                                STARTED               WORKSTREAMS",
        f"{RUN2}  2026-11-25 10:15:00Z  1 running",
        f"{RUN}  2026-11-25 10:15:00Z  1 succeeded, 1 skipped",
    ]


def test_show_prints_each_workstream(repo: Path) -> None:
    done = uet("show", RUN, "--repo", str(repo))
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        f"{RUN}: 1 succeeded, 1 skipped",
        "WORKSTREAM  STATUS     REASON                    ATTEMPTS  PATCH",
        f"ws-a        succeeded                            1         PATCH-ws-a-{RUN}",
        "ws-b        skipped    prerequisite ws-a failed  0",
    ]


def test_show_json_prints_the_contract_records(repo: Path) -> None:
    done = uet("show", RUN, "--repo", str(repo), "--json")
    assert done.returncode == 0
    document = json.loads(done.stdout)
    assert sorted(document) == ["attempts", "errors", "events", "patches", "records", "run_id"]
    assert [r["status"] for r in document["records"]] == ["succeeded", "skipped"]
    assert document["patches"][0]["path"] == f".ledger/patches/ws-a-{RUN}.patch"
    assert [e["seq"] for e in document["events"]] == [1, 2, 3, 4, 5, 6]


def test_show_of_an_unknown_run_exits_2(repo: Path) -> None:
    done = uet("show", "run-nope", "--repo", str(repo))
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr == f"uet runs show: no run run-nope in {store_path(repo)}; uet runs list shows the recorded runs\n"
    )


def test_show_takes_latest_and_a_unique_start(repo: Path) -> None:
    latest = uet("show", "latest", "--repo", str(repo))
    assert (latest.returncode, latest.stdout.splitlines()[0]) == (0, f"{RUN2}: 1 running")
    start = uet("show", RUN[:20], "--repo", str(repo))
    assert (start.returncode, start.stdout.splitlines()[0]) == (0, f"{RUN}: 1 succeeded, 1 skipped")
    without_prefix = uet("show", RUN.removeprefix("run-")[:16], "--repo", str(repo))
    assert without_prefix.stdout == start.stdout


def test_show_of_an_ambiguous_start_lists_the_runs(repo: Path) -> None:
    done = uet("show", "run-2026", "--repo", str(repo))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"uet runs show: run-2026 is the start of several runs: {RUN2}, {RUN}; give more of the run id\n"
    )


@pytest.mark.parametrize("action", [["list"], ["show", "latest"], ["verify"]])
def test_every_action_finds_the_store_from_a_subfolder(repo: Path, action: list[str]) -> None:
    (repo / "src" / "deep").mkdir(parents=True)
    from_top = uet(*action, cwd=repo)
    from_below = uet(*action, cwd=repo / "src" / "deep")
    assert from_top.returncode == 0, from_top.stderr
    assert (from_below.returncode, from_below.stdout, from_below.stderr) == (
        from_top.returncode,
        from_top.stdout,
        from_top.stderr,
    )
    assert uet(*action, "--repo", str(repo / "src")).stdout == from_top.stdout


def test_verify_passes_a_sound_store(repo: Path) -> None:
    done = uet("verify", "--repo", str(repo))
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == f"uet runs verify: every record in {repo} is valid and every success is backed\n"


def test_verify_names_each_breach_and_exits_1(repo: Path) -> None:
    (repo / ".ledger" / "patches" / f"ws-a-{RUN}.patch").unlink()
    with sqlite3.connect(store_path(repo)) as db:
        db.execute("UPDATE uet_runs SET status = 'failed' WHERE run_id = ? AND workstream_id = 'ws-b'", (RUN,))
    done = uet("verify", "--repo", str(repo))
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f"{RUN} ws-b: uet_runs[2]: column status is 'failed' but the record says 'skipped'",
        f"{RUN} ws-a: patch file .ledger/patches/ws-a-{RUN}.patch is missing",
    ]
    assert done.stderr == f"uet runs verify: 2 breach(es) in {repo}\n"


@pytest.mark.parametrize("action", [["list"], ["show", RUN], ["verify"]])
def test_a_missing_store_exits_2_with_a_clear_message(tmp_path: Path, action: list[str]) -> None:
    done = uet(*action, "--repo", str(tmp_path))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"uet runs {action[0]}: no run store at {store_path(tmp_path)}: nothing has been run in this repository yet\n"
    )
    assert not (tmp_path / ".runs").exists()


def test_usage_errors_exit_2() -> None:
    done = uet("frobnicate")
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr
