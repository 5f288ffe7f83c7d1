"""Runs N no-op tasks on Prefect, Dagster or plain subprocess; prints the wall seconds as JSON.

Run by ``bench_orchestrators`` with the interpreter of its separate venv (Prefect and Dagster are never
installed into the project's own environment): ``python orchestrators_driver.py TOOL SHAPE N``.
TOOL is ``prefect``, ``dagster`` or ``plain``; SHAPE is ``chain`` (each task after the one before) or
``fan`` (two independent chains: a fan of width 2). A task runs the same two commands a uet no-op
workstream runs (its step and its acceptance check): ``/bin/sh -c true``, twice.

- Prefect: its default local runner (``ThreadPoolTaskRunner``, 2 workers) and its local SQLite (an
  ephemeral server in a fresh ``PREFECT_HOME``); ``wait_for`` carries the order.
- Dagster: ``execute_in_process`` on a persistent SQLite instance (``DagsterInstance.local_temp``);
  ops joined by ``Nothing`` inputs.
- plain: ``subprocess.run`` on 2 threads, one per chain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

COMMAND = ["/bin/sh", "-c", "true"]


def work() -> None:
    for _ in range(2):
        subprocess.run(COMMAND, stdin=subprocess.DEVNULL, check=True)


def chains(shape: str, count: int) -> list[list[int]]:
    """The tasks as chains: one of ``count`` tasks, or two of ``count // 2``."""
    if shape == "chain":
        return [list(range(count))]
    return [list(range(0, count, 2)), list(range(1, count, 2))]


def plain(shape: str, count: int) -> None:
    def one(chain: list[int]) -> None:
        for _ in chain:
            work()

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, chains(shape, count)))


def prefect(shape: str, count: int) -> None:
    from prefect import flow, task
    from prefect.task_runners import ThreadPoolTaskRunner

    @task(persist_result=False)
    def noop() -> None:
        work()

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2), persist_result=False)
    def tasks() -> None:
        ends = []
        for chain in chains(shape, count):
            previous: Any = None
            for _ in chain:
                previous = noop.submit(wait_for=[previous] if previous is not None else None)
            ends.append(previous)
        for end in ends:
            end.result()

    tasks()


def dagster(shape: str, count: int) -> None:
    from dagster import DagsterInstance, In, Nothing, Out, job, op

    @op(ins={"after": In(Nothing)}, out=Out(Nothing))
    def noop() -> None:
        work()

    @job
    def tasks() -> None:
        for c, chain in enumerate(chains(shape, count)):
            previous: Any = None
            for i in chain:
                step = noop.alias(f"t{c}_{i}")
                previous = step(after=previous) if previous is not None else step()

    with (
        tempfile.TemporaryDirectory(prefix="uet-bench-dagster-") as home,
        DagsterInstance.local_temp(tempdir=home) as instance,
    ):
        assert tasks.execute_in_process(instance=instance).success


def main() -> int:
    tool, shape, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    run = {"plain": plain, "prefect": prefect, "dagster": dagster}[tool]
    with tempfile.TemporaryDirectory(prefix="uet-bench-prefect-") as home:
        os.environ.setdefault("PREFECT_HOME", home)
        start = time.perf_counter()
        run(shape, count)
        elapsed = time.perf_counter() - start
    print(json.dumps({"wall": elapsed}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
