"""``uet runs list|show|verify`` as a user runs them: real subprocesses on a real store, exact output."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.uet_engine.cli import test_run
from tests.uet_engine.cli.test_run import make_repo, phase, step
from tests.uet_engine.phase_specs import write
from tests.uet_engine.run_records import RUN, RUN2, T0, attempt, record, succeed
from uet_contracts import ErrorEvent
from uet_engine.saving.store import RunStore, store_path


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


HEAVY = (
    "yaml",  # the contract parser
    "jsonschema_rs",  # the validator
    "cattrs",  # structuring records
    "rich",  # tables on a terminal only
    "argcomplete",  # completion
    "subprocess",  # git
    "uet_contracts.api",
    "uet_engine.execution",
    "uet_engine.detection",
    "uet_engine.planning",
    "uet_engine.saving.verify",
)


def test_list_imports_none_of_the_heavy_modules(repo: Path) -> None:
    """What keeps ``uet runs list`` near the interpreter's start-up (benchmarks/bench_startup.py times it)."""
    code = (
        "import sys; from uet_engine.cli import main; code = main(['runs', 'list', '--repo', sys.argv[1]]);"
        f"print(code, sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m.startswith({HEAVY!r})))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(repo)], capture_output=True, text=True, check=False)
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr
    assert done.stdout.splitlines()[0].startswith("RUN ")


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
    assert (from_below.returncode, from_below.stdout) == (from_top.returncode, from_top.stdout)
    assert from_below.stderr.replace(str(repo), ".") == from_top.stderr  # verify names the repository it read
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


@pytest.fixture
def failed(tmp_path: Path) -> Path:
    """A run whose one workstream failed its check twice, the second try with a pytest finding recorded."""
    output = "".join(f"line {i}\n" for i in range(1, 31))
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a")])
        store.transition(RUN, "ws-a", "running")
        for number in (1, 2):
            failing = attempt(RUN, "ws-a", kind="acceptance", number=number, success=False)
            assert failing.result is not None
            failing.result.stdout, failing.result.stderr = output, "boom\n"
            store.add_attempt(failing)
        finding = ErrorEvent(
            timestamp=T0,
            run_id=RUN,
            workstream_id="ws-a",
            error_type="acceptance_failed",
            error_code="UET-E102",
            message="test_fifo failed: assert 1 == 2",
            severity="error",
            task_id="acceptance/0",
            path="tests/test_q.py",
            line=2,
            plugin="pytest",
            context={"attempt": 2},
        )
        store.add_error(finding)
        store.transition(RUN, "ws-a", "failed", reason="acceptance/0 (sh) failed: exit code 1, expected 0")
    return tmp_path


def test_show_prints_what_a_failure_says(failed: Path) -> None:
    done = uet("show", RUN, "--repo", str(failed))
    assert (done.returncode, done.stderr) == (0, "")
    lines = done.stdout.splitlines()
    at = lines.index("ws-a failed: acceptance/0 (sh) failed: exit code 1, expected 0")
    assert lines[at + 1 :] == [
        "  issues:",
        "    tests/test_q.py:2: test_fifo failed: assert 1 == 2",
        "  last 20 line(s) of the output of acceptance/0 attempt 2 (sh):",
        *(f"    | line {i}" for i in range(12, 31)),
        "    | boom",
    ]


def test_logs_print_each_try_s_output(failed: Path) -> None:
    done = uet("logs", RUN, "--repo", str(failed), "--ws", "ws-a", "--attempt", "2")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "== ws-a acceptance/0 attempt 2 (sh): failed ==",
        "$ echo hi > a.py",
        "--- stdout (231 bytes) ---",
        *(f"line {i}" for i in range(1, 31)),
        "--- stderr (5 bytes) ---",
        "boom",
    ]
    both = uet("logs", RUN, "--repo", str(failed))
    assert [line for line in both.stdout.splitlines() if line.startswith("== ")] == [
        "== ws-a acceptance/0 attempt 1 (sh): failed ==",
        "== ws-a acceptance/0 attempt 2 (sh): failed ==",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run-nope"], "no run run-nope in {store}; uet runs list shows the recorded runs"),
        ([RUN, "--ws", "ws-zz"], f"{RUN} has no workstream ws-zz"),
        ([RUN, "--ws", "ws-a", "--attempt", "7"], "no attempt 7 tries recorded for ws-a"),
    ],
)
def test_logs_of_something_unknown_exit_2(failed: Path, args: list[str], message: str) -> None:
    done = uet("logs", *args, "--repo", str(failed))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "uet runs logs: " + message.format(store=store_path(failed)) + "\n"


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


def test_list_limits_filters_and_prints_json(repo: Path) -> None:
    done = uet("list", "--repo", str(repo), "--limit", "1")
    assert done.stdout.splitlines()[1:] == [f"{RUN2}  2026-11-25 10:15:00Z  1 running"]
    done = uet("list", "--repo", str(repo), "--status", "skipped", "--json")
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == [
        {"run_id": RUN, "started_at": "2026-11-25T10:15:00Z", "workstreams": {"succeeded": 1, "skipped": 1}}
    ]
    done = uet("list", "--repo", str(repo), "--since", "2026-11-26")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr == f"no runs recorded in {store_path(repo)} that match\n"
    assert len(json.loads(uet("list", "--repo", str(repo), "--since", "2026-11-25T10:15", "--json").stdout)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "argument --since: 'yesterday' is neither an ISO date or time"),
        (["--status", "done"], "argument --status: invalid choice: 'done'"),
        (["--limit", "-1"], "uet runs list: --limit must be 0 (all) or more"),
    ],
)
def test_list_refuses_bad_options_in_one_line(repo: Path, args: list[str], message: str) -> None:
    done = uet("list", "--repo", str(repo), *args)
    assert (done.returncode, done.stdout) == (2, "")
    assert message in done.stderr.splitlines()[-1]


def test_prune_removes_old_runs_and_their_patch_files_and_verify_still_passes(tmp_path: Path) -> None:
    runs = [f"run-2026112{day}T101500000000Z-aaaaaa" for day in range(1, 5)]
    with RunStore.open(tmp_path) as store:
        for day, run_id in enumerate(runs, start=21):
            store.queue(run_id, [replace(record(run_id, "ws-a"), created_at=T0.replace(day=day))])
            succeed(store, run_id, "ws-a")
    patches = tmp_path / ".ledger" / "patches"
    dry = uet("prune", "--repo", str(tmp_path), "--keep", "2", "--dry-run")
    assert (dry.returncode, dry.stdout) == (0, f"would remove {runs[0]}\nwould remove {runs[1]}\n")
    assert dry.stderr == "uet runs prune: would remove 2 run(s)\n"
    assert len(list(patches.iterdir())) == 4
    done = uet("prune", "--repo", str(tmp_path), "--older-than", "2026-11-23")
    assert (done.returncode, done.stdout) == (0, f"removed {runs[0]}\nremoved {runs[1]}\n")
    assert sorted(p.name for p in patches.iterdir()) == [f"ws-a-{run_id}.patch" for run_id in runs[2:]]
    listed = uet("list", "--repo", str(tmp_path), "--json")
    assert [r["run_id"] for r in json.loads(listed.stdout)] == runs[:1:-1]
    assert uet("verify", "--repo", str(tmp_path)).returncode == 0
    last = uet("prune", "--repo", str(tmp_path), "--keep", "0")  # the latest success of ws-a stays
    assert (last.stdout, last.stderr) == (
        f"removed {runs[2]}\n",
        "uet runs prune: removed 1 run(s); kept 1 older run(s) still needed "
        "(reused, a latest success, or unfinished)\n",
    )


def _worktrees(repo: Path) -> list[str]:
    """git's list of the repository's worktrees, and its administrative entries of them (.git/worktrees)."""
    listed = test_run.git(repo, "worktree", "list", "--porcelain").splitlines()
    admin = repo / ".git" / "worktrees"
    entries = sorted(p.name for p in admin.iterdir()) if admin.exists() else []
    return [line.removeprefix("worktree ") for line in listed if line.startswith("worktree ")] + entries


@pytest.mark.skipif(
    sys.platform == "win32", reason="the runs' steps are POSIX shell commands: run this test on Linux or macOS"
)
def test_prune_removes_the_worktree_slots_and_the_next_run_works(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = tmp_path / "specs"
    write(
        specs,
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", [], [step("echo b > b.txt")], create=["b.txt"]),
    )
    assert test_run.uet(repo, "run", str(specs), "--jobs", "2").code == 0
    slots = [".runs/worktrees/slot-0", ".runs/worktrees/slot-1"]
    assert _worktrees(repo) == [str(repo), *(str(repo / s) for s in slots), "slot-0", "slot-1"]

    dry = uet("prune", "--repo", str(repo), "--keep", "1", "--dry-run")
    assert (dry.returncode, dry.stdout) == (0, "".join(f"would remove worktree {s}\n" for s in slots))
    assert dry.stderr == "uet runs prune: would remove 0 run(s), 2 worktree slot(s)\n"
    kept = uet("prune", "--repo", str(repo), "--keep", "1", "--keep-slots")
    assert (kept.returncode, kept.stdout, kept.stderr) == (0, "", "uet runs prune: removed 0 run(s)\n")
    assert len(_worktrees(repo)) == 5

    done = uet("prune", "--repo", str(repo), "--keep", "1")
    assert (done.returncode, done.stdout) == (0, "".join(f"removed worktree {s}\n" for s in slots))
    assert done.stderr == "uet runs prune: removed 0 run(s), 2 worktree slot(s)\n"
    assert _worktrees(repo) == [str(repo)]
    assert not (repo / ".runs" / "worktrees").exists()
    test_run.assert_verify_passes(repo)

    write(specs, phase("PH-C", ["PH-A"], [step("cat a.txt > c.txt")], create=["c.txt"]))
    again = test_run.uet(repo, "run", str(specs))
    assert again.code == 0, again.stdout + again.stderr
    first, second = dict.fromkeys(r["run_id"] for r in test_run.rows(repo, "uet_runs"))
    records = [r for r in test_run.rows(repo, "uet_runs") if r["run_id"] == second]
    reused = {r["workstream_id"]: r.get("reused_from") for r in records}
    assert reused == {"ws-ph-a": first, "ws-ph-b": first, "ws-ph-c": None}  # up to date: only PH-C ran
    assert set(test_run.statuses(repo, second).values()) == {"succeeded"}
    assert (repo / "c.txt").read_text() == "a\n"
    test_run.assert_verify_passes(repo)
    test_run.assert_only_slots_left(repo)


def test_prune_needs_one_of_keep_or_older_than(repo: Path) -> None:
    done = uet("prune", "--repo", str(repo))
    assert done.returncode == 2
    assert "one of the arguments --keep --older-than is required" in done.stderr


@pytest.mark.skipif(
    sys.platform == "win32", reason="the leftover is a POSIX process group: run this test on Linux or macOS"
)
def test_prune_ends_the_commands_a_killed_run_left_running(repo: Path) -> None:
    """A ``kill -9`` of ``uet run`` leaves its commands' process groups listed under ``.runs/pgroups``; prune,
    which removes the slots they may still write in, ends them first (as the next run would)."""
    from uet_engine.execution.orphans import GROUPS_DIR, GroupRegistry

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        GroupRegistry(repo).add(sleeper.pid)
        dry = uet("prune", "--repo", str(repo), "--keep", "5", "--dry-run")
        assert dry.returncode == 0 and "ended process group" not in dry.stderr
        assert sleeper.poll() is None and [p.name for p in (repo / GROUPS_DIR).iterdir()] == [str(sleeper.pid)]
        done = uet("prune", "--repo", str(repo), "--keep", "5")
        assert done.returncode == 0
        assert done.stderr.splitlines()[0] == (
            f"uet runs prune: ended process group {sleeper.pid}, left running by a run that was killed"
        )
        assert sleeper.wait(timeout=30) == -9
        assert list((repo / GROUPS_DIR).iterdir()) == []
    finally:
        sleeper.kill()
        sleeper.wait()
