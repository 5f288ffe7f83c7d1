"""``uet run --dask-scheduler`` against a real Dask cluster started here: same outcomes as local threads.

The cluster is a ``distributed.LocalCluster`` of two single-threaded worker processes on 127.0.0.1, shared
by the module; ``uet run`` runs as a real subprocess that connects to it as any user's would.
"""

from __future__ import annotations

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
    assert_verify_passes,
    git,
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
    assert started["message"].endswith(", 2 at once")
    assert git(on_dask, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert not (on_dask / ".runs" / "worktrees").exists()

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
    proc = start_uet(repo, "run", str(specs), "--dask-scheduler", address)
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
        patches=[],
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
