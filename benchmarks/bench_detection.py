"""Error detection's cost: the hook layer per workstream, and the error plugins on 64 KB of pytest output.

1. Hooks. A workstream of one step and one acceptance check makes six hook calls (its run starting, two
   tries starting, two completing, its run ending). Measured: those six calls through a ``HookSet`` holding
   the built-in ExecutionLog hook (inline), against the alternative the engine had before hooks — calling
   ``execution_log`` directly for the two finished tries; and the same six calls with one user hook added
   (no-op methods, on its helper thread). Goal: the built-in hooks add at most 1 ms per workstream.
2. Plugins. 64 KB of real pytest output (a generated suite of failing tests, run once; about 140 failures)
   through the pytest plugin's parse alone, and through the whole registry as a failed try uses it (every
   built-in plugin's ``matches``, the parse, and each finding kept named, placed, fingerprinted and
   validated). Goal: at most 5 ms.

Figures are the best of repeated rounds (``--quick``: fewer), in milliseconds.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from uet_contracts import ExecutionLog, ExecutionRequest, ExecutionResult, FileScope, RunRecord, StepAttempt
from uet_engine.detection.execution_log import execution_log
from uet_engine.detection.hooks import BaseHook, ExecutionLogHook, HookSet, NamedHook
from uet_engine.detection.plugins.pytest_failures import PytestPlugin
from uet_engine.detection.plugins.registry import BUILTIN, Registry

T = datetime(2026, 12, 1, tzinfo=UTC)
RUN = "run-bench"


def best_ms(action: Callable[[], object], repeat: int, number: int) -> float:
    """The best of ``repeat`` rounds of the mean time of one ``action()``, in ms (as timeit: the least disturbed)."""
    rounds = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            action()
        rounds.append((time.perf_counter() - start) / number * 1000)
    return min(rounds)


def request(task: str, run: str = "true") -> ExecutionRequest:
    return ExecutionRequest(
        operation_kind="ACCEPTANCE-CHECK" if task.startswith("acceptance") else "EXEC-NOOP",
        tool="sh",
        run=run,
        file_scope=FileScope(create=[], modify=[], read_only=[]),
        tools_used=["sh"],
        context={"task_id": task, "attempt": 1},
        run_id=RUN,
        workstream_id="ws-bench",
        phase_id="PH-0001",
    )


def result(stdout: str = "", success: bool = True) -> ExecutionResult:
    return ExecutionResult(
        success=success,
        exit_code=0 if success else 1,
        stdout=stdout,
        stderr="",
        files_touched=[],
        started_at=T,
        finished_at=T,
        duration_s=0.01,
    )


class NoopHook(BaseHook):
    """A user hook that does nothing (its calls still go through its helper thread)."""


def hooks_main(quick: bool) -> None:
    record = RunRecord(
        run_id=RUN, workstream_id="ws-bench", phase_id="PH-0001", status="running", created_at=T, updated_at=T
    )
    tasks = [(request(task), result()) for task in ("step/0", "acceptance/0")]
    rows: list[ExecutionLog] = []
    builtin = NamedHook("uet:execution-log", ExecutionLogHook(rows.append), inline=True)

    def one_workstream(hooks: HookSet) -> None:
        hooks.call("on_run_start", record)
        for req, res in tasks:
            hooks.call("on_task_start", req)
            hooks.call("on_task_complete", req, res)
        hooks.call("on_run_end", record)

    def directly() -> None:
        for req, res in tasks:
            kind, _, index = req.context["task_id"].partition("/")
            attempt = StepAttempt(
                run_id=RUN,
                workstream_id="ws-bench",
                kind=kind,
                index=int(index),
                attempt=1,
                request=req,
                result=res,  # type: ignore[arg-type]
            )
            rows.append(execution_log(attempt))

    with_builtin = HookSet([builtin], RUN)
    with_user = HookSet([builtin, NamedHook("bench:NoopHook", NoopHook())], RUN)
    repeat, number = (7, 200) if quick else (15, 2000)
    before = best_ms(directly, repeat, number)
    builtin_ms = best_ms(lambda: one_workstream(with_builtin), repeat, number)
    user_ms = best_ms(lambda: one_workstream(with_user), repeat, number)
    print("detection hooks: 1 step + 1 check per workstream (6 hook calls)")
    print(f"  ExecutionLog rows written directly: {before:8.4f} ms/ws")
    print(
        f"  through the built-in hook:         {builtin_ms:8.4f} ms/ws  (+{builtin_ms - before:.4f} ms; goal <= 1 ms)"
    )
    print(f"  plus one no-op user hook:          {user_ms:8.4f} ms/ws  (+{user_ms - builtin_ms:.4f} ms for its thread)")


def pytest_output(folder: Path, size: int = 64 * 1024) -> str:
    """Real pytest output of at least ``size`` bytes: files of failing tests, run until the output is big enough."""
    tests = folder / "tests"
    tests.mkdir(parents=True)
    body = (
        "def helper_{t}(value):\n    return value * 2\n\n\n"
        "def test_case_{f}_{t}():\n    data = {{'key': {t}, 'items': list(range({t}))}}\n"
        "    assert helper_{t}(data['key']) == {t} + 1, 'doubling {t} is not {t} + 1'\n\n\n"
    )
    for files in range(1, 64):
        (tests / f"test_gen_{files}.py").write_text("".join(body.format(f=files, t=t) for t in range(20)))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"]
        done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
        if len(done.stdout.encode()) >= size:
            return done.stdout
    raise RuntimeError("pytest printed less than expected")


def plugins_main(quick: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="uet-bench-pytest-") as tmp:
        text = pytest_output(Path(tmp))
        req = request("acceptance/0", "python -m pytest -q tests")
        req.context["cwd"] = tmp
        res = result(text, success=False)
        registry = Registry(BUILTIN)
        found, _ = registry.findings(req, res, Path(tmp))
        repeat, number = (5, 10) if quick else (9, 50)
        parse_ms = best_ms(lambda: PytestPlugin().parse(req, res), repeat, number)
        all_ms = best_ms(lambda: registry.findings(req, res, Path(tmp)), repeat, number)
        count = len(PytestPlugin().parse(req, res))
    print(f"detection plugins: {len(text.encode()) / 1024:.0f} KB of real pytest output, {count} failed tests")
    print(f"  pytest plugin parse:                {parse_ms:8.3f} ms")
    print(f"  every built-in plugin ({len(found)} findings kept, each validated): {all_ms:8.3f} ms  (goal <= 5 ms)")


def main(quick: bool = False) -> int:
    hooks_main(quick)
    plugins_main(quick)
    return 0


if __name__ == "__main__":
    sys.exit(main("--quick" in sys.argv))
