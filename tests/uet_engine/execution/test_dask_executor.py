"""``uet run --dask-scheduler`` against a real Dask cluster started here: same outcomes as local threads.

The cluster is a ``distributed.LocalCluster`` of two single-threaded worker processes on 127.0.0.1, shared
by the module; ``uet run`` runs as a real subprocess that connects to it as any user's would.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from tests.conftest import EXAMPLES
from tests.uet_engine.cli.test_run import (
    assert_every_record_validates,
    assert_only_slots_left,
    assert_verify_passes,
    make_repo,
    only_run_id,
    phase,
    rows,
    run_pytest,
    slow_specs,
    start_uet,
    statuses,
    step,
    tracked_and_untracked,
    uet,
    wait_for,
)
from tests.uet_engine.execution.test_process import dies
from tests.uet_engine.phase_specs import write
from uet_contracts import ErrorEvent, PhaseSpec
from uet_engine.detection.redact import Redactor
from uet_engine.execution.executors import DASK_EXTRA, run_on_worker, wire_fields
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.worker import Job

distributed = pytest.importorskip(
    "distributed", reason="Dask is not installed: run pip install -e '.[dask]' to test the Dask executor"
)

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="needs POSIX shells and signals, which Windows lacks: run these tests on Linux or macOS",
)

EXAMPLE_WORKSTREAMS = {
    "ws-pipeline-plus-0-bootstrap": "succeeded",
    "ws-pipeline-plus-1a-task-queue": "succeeded",
    "ws-pipeline-plus-1b-status": "succeeded",
    "ws-pipeline-plus-2-integration": "succeeded",
}


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def address(cluster: Any) -> str:
    return str(cluster.scheduler_address)


def patches_by_workstream(repo: Path) -> dict[str, bytes]:
    return {entry["workstream_id"]: (repo / entry["path"]).read_bytes() for entry in rows(repo, "patch_ledger")}


def tree(repo: Path) -> dict[str, bytes]:
    return {path: (repo / path).read_bytes() for path in tracked_and_untracked(repo)}


def test_example_set_on_dask_matches_a_local_run(tmp_path: Path, address: str) -> None:
    on_dask = make_repo(tmp_path / "dask")
    done = uet(on_dask, "run", str(EXAMPLES / "phases"), "--dask-scheduler", address)
    assert done.code == 0, done.stdout + done.stderr
    assert statuses(on_dask, only_run_id(on_dask)) == EXAMPLE_WORKSTREAMS
    assert done.stdout.splitlines()[-1] == "4 succeeded"
    tests = run_pytest(on_dask)
    assert tests.returncode == 0, tests.stdout
    assert "2 passed" in tests.stdout
    assert_verify_passes(on_dask)
    assert_every_record_validates(on_dask)
    # The attempts the workers reported all reached the store (9, as for a local run).
    assert len(rows(on_dask, "step_attempts")) == 9
    # Default --jobs is the cluster's two threads.
    started = next(e for e in rows(on_dask, "run_events") if e["event_type"] == "run_started")
    assert ", 2 at once, sandbox " in started["message"]
    assert_only_slots_left(on_dask)

    local = make_repo(tmp_path / "local")
    assert uet(local, "run", str(EXAMPLES / "phases"), "--jobs", "2").code == 0
    assert patches_by_workstream(on_dask) == patches_by_workstream(local)
    assert sorted(patches_by_workstream(on_dask)) == sorted(EXAMPLE_WORKSTREAMS)
    assert tree(on_dask) == tree(local)


def test_failing_acceptance_gives_the_same_outcome_as_locally(tmp_path: Path, address: str) -> None:
    specs = tmp_path / "specs"
    write(
        specs,
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"], acceptance={"sh": ["exit 4"]}),
        phase("PH-B", ["PH-A"], [step("echo b > b.txt")], create=["b.txt"]),
        phase("PH-C", [], [step("echo c > c.txt")], create=["c.txt"]),
    )
    outcomes = []
    for name, extra in (("dask", ["--dask-scheduler", address]), ("local", ["--jobs", "2"])):
        repo = make_repo(tmp_path / name)
        done = uet(repo, "run", str(specs), *extra)
        assert done.code == 1, done.stdout + done.stderr
        assert done.stdout.splitlines()[-1] == "1 succeeded, 1 failed, 1 skipped"
        run_id = only_run_id(repo)
        reasons = {r["workstream_id"]: (r["status"], r.get("reason")) for r in rows(repo, "uet_runs")}
        errors = [
            (e["workstream_id"], e["error_type"], e["error_code"], e["task_id"]) for e in rows(repo, "error_events")
        ]
        outcomes.append((statuses(repo, run_id), reasons, errors, tracked_and_untracked(repo)))
        assert_verify_passes(repo)
        assert_every_record_validates(repo)
    on_dask, local = outcomes
    assert on_dask == local
    assert on_dask[1] == {
        "ws-ph-a": ("failed", "acceptance/0 (sh) failed: exit code 4, expected 0"),
        "ws-ph-b": ("skipped", "prerequisite PH-A failed"),
        "ws-ph-c": ("succeeded", None),
    }
    assert on_dask[3] == ["README.md", "c.txt"]


def test_sigterm_cancels_the_running_task_on_its_worker(tmp_path: Path, address: str) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = slow_specs(tmp_path)
    proc = start_uet(repo, "run", str(specs), "--dask-scheduler", address, "--sandbox", "off")
    wait_for(tmp_path / "started")
    run_id = only_run_id(repo)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate()
    assert proc.returncode == 1, out + err
    assert statuses(repo, run_id) == {"ws-ph-a": "succeeded", "ws-ph-s": "cancelled", "ws-ph-t": "cancelled"}
    assert dies(int((tmp_path / "started").read_text())), "the worker killed the step's process group"
    assert out.splitlines()[-1] == "1 succeeded, 2 cancelled"
    assert tracked_and_untracked(repo) == ["README.md", "a.txt"]
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_scheduler_is_a_usage_error_naming_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    address = f"tcp://127.0.0.1:{free_port()}"
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--dask-scheduler", address)
    assert done.code == 2
    assert done.stderr == f"uet run: cannot connect to the Dask scheduler at {address} within 10 s\n"
    assert not (repo / ".runs").exists()


def test_missing_distributed_package_names_the_extra(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # ``None`` in sys.modules makes ``import distributed`` fail as if the package were not installed.
    hide = "import sys; sys.modules['distributed'] = None; import uet_engine.cli as c; sys.exit(c.main(sys.argv[1:]))"
    command = [sys.executable, "-c", hide, "run", str(EXAMPLES / "phases"), "--dask-scheduler", "tcp://127.0.0.1:1"]
    done = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr == f"uet run: --dask-scheduler needs the distributed package; {DASK_EXTRA}\n"
    assert DASK_EXTRA == (
        "install Dask: pip install 'dask>=2024.8' 'distributed>=2024.8' (from a checkout: pip install '.[dask]')"
    )
    assert not (repo / ".runs").exists()


def test_run_and_validate_do_not_import_dask() -> None:
    imports = "import sys, uet_contracts, uet_engine.cli.run, uet_engine.cli.validate"
    probe = f"{imports}; print('distributed' in sys.modules, 'dask' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout == "False False\n"


def test_a_worker_that_cannot_see_the_repository_fails_the_workstream_clearly(tmp_path: Path, address: str) -> None:
    (path,) = write(tmp_path / "specs", phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]))
    missing = tmp_path / "not-on-this-worker"
    job = Job(
        run_id="run-20261125T000000000000Z-abcdef",
        spec=uet_contracts.load(path, PhaseSpec),
        root=missing,
        base_commit="0" * 40,
        parents=[],
        worktree=missing / ".runs" / "worktrees" / "slot-0",
        env={},
        live=LiveProcesses(),
        redact=Redactor(None),
    )
    with distributed.Client(address, set_as_default=False) as client:
        future = client.submit(run_on_worker, wire_fields(job), "uet-cancel-test", pure=False)
        attempts, finished = future.result()
        (worker,) = client.who_has(future)[future.key]
    assert attempts == []
    assert (finished.workstream_id, finished.status) == ("ws-ph-a", "failed")
    assert finished.reason == f"worker {worker} cannot see {missing}"
    (error,) = finished.errors
    assert (error.error_type, error.error_code, error.message) == ("internal", "UET-E199", finished.reason)
    uet_contracts.validate(uet_contracts.to_dict(error), ErrorEvent)


# -- without a shared filesystem: --remote, and a LocalCluster that uet starts itself -------------------------


def bare_remote(path: Path) -> str:
    subprocess.run(["git", "init", "--bare", "-q", str(path)], check=True)
    return path.as_uri()


def remote_refs(url: str) -> str:
    done = subprocess.run(["git", "ls-remote", url, "refs/uet/*"], capture_output=True, text=True, check=True)
    return done.stdout


def test_examples_through_a_git_remote_on_a_cluster_uet_starts(tmp_path: Path) -> None:
    local = make_repo(tmp_path / "local")
    assert uet(local, "run", str(EXAMPLES / "phases"), "--jobs", "2").code == 0
    repo = make_repo(tmp_path / "repo")
    url = bare_remote(tmp_path / "remote.git")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--executor", "dask", "--jobs", "2", "--remote", url)
    assert done.code == 0, done.stdout + done.stderr
    assert statuses(repo, only_run_id(repo)) == EXAMPLE_WORKSTREAMS
    assert tree(repo) == tree(local)
    assert patches_by_workstream(repo) == patches_by_workstream(local)
    assert_verify_passes(repo)
    assert remote_refs(url) == ""  # the run's refs are gone from the remote once it is over


def test_a_remote_worker_runs_in_its_own_clone_not_in_the_users_folder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    url = bare_remote(tmp_path / "remote.git")
    specs = write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("cat a.txt > b.txt && pwd > where.txt")], create=["b.txt", "where.txt"]),
    )
    done = uet(repo, "run", str(specs[0].parent), "--executor", "dask", "--jobs", "2", "--remote", url)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "b.txt").read_text() == "a\n"  # B started from A's commit, fetched from the remote
    where = Path((repo / "where.txt").read_text().strip())
    assert not where.is_relative_to(repo) and where.name.startswith("slot-") and where.parent.name == "slots"


def test_a_mark_an_unconfined_check_left_on_a_remote_worker_does_not_fail_the_next_workstream(tmp_path: Path) -> None:
    # Both run in the one worker's clone, one after the other in the same slot: the mark survives its reset.
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    url = bare_remote(tmp_path / "remote.git")
    mark = "git update-index --assume-unchanged README.md"
    specs = write(
        tmp_path / "specs",
        phase("PH-A", [], [step("true")], acceptance={"sh": [mark]}),
        phase("PH-B", ["PH-A"], [step("echo more >> README.md")], modify=["README.md"]),
    )
    args = ["--executor", "dask", "--jobs", "1", "--remote", url, "--sandbox", "off"]
    done = uet(repo, "run", str(specs[0].parent), *args)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "README.md").read_text() == "# demo\nmore\n"


def test_remote_needs_dask_and_a_reachable_remote(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (path,) = write(tmp_path / "specs", phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]))
    done = uet(repo, "run", str(path.parent), "--remote", "file:///nowhere")
    assert (done.code, done.stderr) == (
        2,
        "uet run: --remote needs Dask: add --executor dask or --dask-scheduler ADDRESS\n",
    )
    missing = (tmp_path / "no-such-remote.git").as_uri()
    done = uet(repo, "run", str(path.parent), "--executor", "dask", "--jobs", "1", "--remote", missing)
    assert done.code == 1
    (error,) = rows(repo, "error_events")
    assert error["error_type"] == "internal"
    assert error["message"].startswith(f"cannot publish the run's base commit to {missing}: git push failed")


def test_a_worker_killed_mid_step_makes_the_workstream_crashed_and_resume_runs_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    url = bare_remote(tmp_path / "remote.git")
    marker = tmp_path / "worker-pid"
    first = f"echo $PPID $$ > {marker}.tmp; mv {marker}.tmp {marker}; sleep 30"
    slow = f"if [ -e {marker} ]; then echo a > a.txt; else {first}; fi"
    specs = write(
        tmp_path / "specs",
        phase("PH-A", [], [step(slow)], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("cat a.txt > b.txt")], create=["b.txt"]),
    )[0].parent
    # The marker outside the worktree and the worker's pid ($PPID) are what the test needs: no sandbox here.
    args = ["run", str(specs), "--executor", "dask", "--jobs", "2", "--remote", url, "--sandbox", "off"]
    # No retry on another worker: the first loss is Dask's KilledWorker.
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uet_engine", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        wait_for(marker)
        worker, group = (int(n) for n in marker.read_text().split())
        os.kill(worker, signal.SIGKILL)  # the Dask worker process, in the middle of the step
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # and the step it left behind
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, out + err
    run1 = only_run_id(repo)
    assert statuses(repo, run1) == {"ws-ph-a": "crashed", "ws-ph-b": "skipped"}
    (error,) = rows(repo, "error_events")
    assert (error["workstream_id"], error["error_type"], error["error_code"]) == ("ws-ph-a", "crashed", "UET-E108")
    assert error["message"].startswith("the Dask worker running it died")
    assert not (repo / "a.txt").exists()
    again = uet(repo, *args, "--resume", run1)
    assert again.code == 0, again.stdout + again.stderr
    run2 = next(r["run_id"] for r in rows(repo, "uet_runs") if r["run_id"] != run1)
    assert statuses(repo, run2) == {"ws-ph-a": "succeeded", "ws-ph-b": "succeeded"}
    assert (repo / "b.txt").read_text() == "a\n"
    assert_verify_passes(repo)
