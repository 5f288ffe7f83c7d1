"""Steps run in the batches of their task graph, for real: git worktrees, child processes, a log they write.

Each step appends ``start ID`` and ``end ID`` to a log outside the repository, so the order the engine ran
them in is read back afterwards, never timed. Running side by side is proved by a rendezvous: two steps
that each wait for the other's start can only both finish when they run at the same time.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import uet_contracts
from tests.uet_engine.cli.test_run import git, make_repo
from tests.uet_engine.phase_specs import spec
from uet_contracts import ErrorEvent, PhaseSpec, StepAttempt
from uet_engine.detection.redact import Redactor
from uet_engine.execution.process import LiveProcesses
from uet_engine.execution.worker import Finished, Job, run_workstream

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="the steps are POSIX shell code, which Windows lacks: run these tests on Linux or macOS",
)

RUN_ID = "run-20261201T000000000000Z-abcdef"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(tmp_path_factory.mktemp("steps") / "repo")


def step_code(log: Path, step_id: str, writes: str, *, wait_for: str | None = None, fail: bool = False) -> str:
    """Python for a step: log its start, optionally wait for another step's start, write, log its end."""
    lines = [
        "from pathlib import Path",
        "import time",
        f"log = Path({str(log)!r})",
        f"with log.open('a') as f: f.write('start {step_id}\\n')",
    ]
    if wait_for is not None:
        lines.append(f"while 'start {wait_for}' not in log.read_text(): time.sleep(0.01)")
    lines += [
        f"target = Path({writes!r})",
        "target.parent.mkdir(parents=True, exist_ok=True)",
        f"with target.open('a') as f: f.write('{step_id}\\n')",
        f"with log.open('a') as f: f.write('end {step_id}\\n')",
    ]
    if fail:
        lines.append("raise SystemExit(3)")
    return "\n".join(lines)


def a_step(step_id: str, code: str, after: list[str] | None, writes: list[str] | None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": step_id, "operation_kind": "EXEC-ATOMIC-CREATE", "tool": "python", "run": code}
    data["timeout_s"] = 60  # a rendezvous that never happens fails the test instead of hanging it
    if after is not None:
        data["depends_on"] = after
    if writes is not None:
        data["writes"] = writes
    return data


def run(
    repo: Path, steps: list[dict[str, Any]], slot: str = "slot-0"
) -> tuple[Finished, list[StepAttempt | ErrorEvent]]:
    data = spec("PH-01", create=["out/**"])
    data["steps"] = steps
    job = Job(
        run_id=RUN_ID,
        spec=uet_contracts.validate(data, PhaseSpec),
        root=repo,
        base_commit=git(repo, "rev-parse", "HEAD").strip(),
        parents=[],
        worktree=repo / ".runs" / "worktrees" / RUN_ID / slot,
        env={},
        live=LiveProcesses(),
        redact=Redactor(None),
    )
    reports: list[StepAttempt | ErrorEvent] = []
    return run_workstream(job, reports.append), reports


def events(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def finished_steps(reports: list[StepAttempt | ErrorEvent]) -> dict[int, StepAttempt]:
    """The finished step attempts among what the worker posted (its tries, and the errors of failed ones)."""
    return {a.index: a for a in reports if isinstance(a, StepAttempt) and a.kind == "step" and a.result is not None}


def test_independent_steps_with_disjoint_writes_run_at_the_same_time(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    finished, attempts = run(
        repo,
        [
            a_step("a", step_code(log, "a", "out/a.txt", wait_for="b"), [], ["out/a.txt"]),
            a_step("b", step_code(log, "b", "out/b.txt", wait_for="a"), [], ["out/b.txt"]),
            a_step("c", step_code(log, "c", "out/c.txt"), ["a", "b"], ["out/c.txt"]),
        ],
    )
    assert (finished.status, finished.reason) == ("succeeded", None)
    assert events(log)[-2:] == ["start c", "end c"]
    done = finished_steps(attempts)
    assert {i: a.result.files_touched for i, a in done.items() if a.result} == {
        0: ["out/a.txt"],
        1: ["out/b.txt"],
        2: ["out/c.txt"],
    }
    assert sorted(finished.changes) == ["out/a.txt", "out/b.txt", "out/c.txt"]
    # both started before either was recorded as finished: the two started attempts were posted first
    # (in either order: which of two threads posts first is the scheduler's choice)
    posted = [(a.index, a.result is None) for a in attempts[:4]]
    assert sorted(posted[:2]) == [(0, True), (1, True)] and sorted(posted[2:]) == [(0, False), (1, False)]


def test_independent_steps_whose_writes_overlap_run_in_the_order_listed(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    finished, _ = run(
        repo,
        [
            a_step("late", step_code(log, "late", "out/x.txt"), [], ["out/*"]),
            a_step("early", step_code(log, "early", "out/x.txt"), [], ["out/x.txt"]),
        ],
    )
    assert finished.status == "succeeded"
    assert events(log) == ["start late", "end late", "start early", "end early"]


def test_a_write_no_concurrent_step_declared_fails_the_workstream(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    finished, attempts = run(
        repo,
        [
            a_step("a", step_code(log, "a", "out/a.txt"), [], ["out/a.txt"]),
            a_step("b", step_code(log, "b", "out/elsewhere.txt"), [], ["out/b.txt"]),
            a_step("c", step_code(log, "c", "out/c.txt"), ["a", "b"], ["out/c.txt"]),
        ],
    )
    assert finished.status == "failed"
    assert finished.reason == (
        "steps a, b ran at the same time and none of them declared in its writes: out/elsewhere.txt"
    )
    (error,) = finished.errors
    assert (error.error_type, error.files) == ("scope_violation", ["out/elsewhere.txt"])
    assert "start c" not in events(log)
    assert {i: a.result.files_touched for i, a in finished_steps(attempts).items() if a.result} == {
        0: ["out/a.txt"],
        1: [],
    }


def test_a_lone_step_writing_outside_its_writes_fails_the_workstream(repo: Path, tmp_path: Path) -> None:
    finished, attempts = run(repo, [a_step("a", step_code(tmp_path / "log", "a", "out/z.txt"), None, ["out/a.txt"])])
    assert (finished.status, finished.reason) == ("failed", "step a wrote outside the writes it declared: out/z.txt")
    assert finished_steps(attempts)[0].result.files_touched == ["out/z.txt"]  # type: ignore[union-attr]


def test_a_failed_step_lets_its_batch_finish_and_stops_the_rest(repo: Path, tmp_path: Path) -> None:
    log = tmp_path / "log"
    finished, attempts = run(
        repo,
        [
            a_step("a", step_code(log, "a", "out/a.txt", wait_for="b", fail=True), [], ["out/a.txt"]),
            a_step("b", step_code(log, "b", "out/b.txt", wait_for="a"), [], ["out/b.txt"]),
            a_step("c", step_code(log, "c", "out/c.txt"), ["b"], ["out/c.txt"]),
        ],
    )
    assert (finished.status, finished.reason) == ("failed", "step/0 (python) failed: exit code 3, expected 0")
    assert sorted(e for e in events(log) if e.startswith("end")) == ["end a", "end b"]
    assert sorted(finished_steps(attempts)) == [0, 1]


@st.composite
def task_graphs(draw: st.DrawFn) -> list[tuple[str, list[str], str, list[str] | None]]:
    """Up to 6 steps of a random DAG, listed in a random order: (id, prerequisites, path written, writes)."""
    size = draw(st.integers(1, 6))
    order = draw(st.permutations(range(size)))
    listed: list[Any] = [None] * size
    for k in range(size):
        deps = sorted(draw(st.sets(st.integers(0, k - 1), max_size=3))) if k else []
        kind = draw(st.sampled_from(["own", "shared", "glob", "none"]))
        path = "out/shared.txt" if kind == "shared" else f"out/s{k}.txt"
        writes = {"own": [path], "shared": [path], "glob": ["out/s*"], "none": None}[kind]
        listed[order[k]] = (f"s{k}", [f"s{d}" for d in deps], path, writes)
    return listed


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(graph=task_graphs())
def test_for_random_task_graphs_the_executed_order_respects_every_dependency(
    repo: Path, graph: list[tuple[str, list[str], str, list[str] | None]]
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "log"
        steps = [a_step(i, step_code(log, i, path), deps, writes) for i, deps, path, writes in graph]
        finished, attempts = run(repo, steps, "slot-h")  # one slot, reset for each graph as a run does
        assert (finished.status, finished.reason) == ("succeeded", None)
        seen = events(log)
        for step_id, deps, _, _ in graph:
            assert seen.count(f"start {step_id}") == seen.count(f"end {step_id}") == 1
            for dep in deps:
                assert seen.index(f"end {dep}") < seen.index(f"start {step_id}"), (dep, step_id, seen)
        credited = {i: a.result.files_touched for i, a in finished_steps(attempts).items() if a.result}
        for index, (_, _, path, _) in enumerate(graph):
            assert path in credited[index]
