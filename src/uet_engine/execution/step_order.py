"""Runs a workstream's steps in the batches of its task graph, inside its worktree.

Why a module of its own: the worker lists the stages of a workstream (worktree, steps, scope, acceptance,
patch); how the steps are ordered, run side by side and credited with the files they touched is one job,
kept here so the worker calls it in one line.

The batches come from planning (``uet_engine.planning.tasks.batches``): one step per batch, in the order
listed, unless the steps declare ``depends_on`` and ``writes``. A batch of several steps runs them at the
same time (a thread each; every step is its own process group) and waits for all of them; only then is
the worktree staged, once, and each changed path credited to the step whose declared ``writes`` cover it.
A path no running step declared, or written by a lone step outside the writes it declared, is a *stray*:
the workstream fails, as the promise that made running side by side safe was broken. A failed step ends
the run of the steps after its batch (the rest of its batch still finishes, and is recorded).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from uet_contracts import ExecutionResult, PhaseSpec, StepAttempt
from uet_engine.execution import isolation
from uet_engine.paths import matches
from uet_engine.planning.tasks import batches, step_node

T = TypeVar("T")


@dataclass
class StepsRun:
    """How the steps went: the tree they left, every path they touched, and why they stopped, if they did.

    ``failed`` is the index and result of the first step that failed; ``strays`` the paths written outside
    the declared writes, with ``stray_reason`` saying whose they were.
    """

    tree: str
    changes: dict[str, str] = field(default_factory=dict)
    failed: tuple[int, ExecutionResult] | None = None
    strays: list[str] = field(default_factory=list)
    stray_reason: str = ""


def run_steps(
    path: Path,
    base_tree: str,
    spec: PhaseSpec,
    tasks: Sequence[T],
    attempt: Callable[[T], tuple[StepAttempt, ExecutionResult]],
    post: Callable[[StepAttempt], None],
) -> StepsRun:
    """Run ``tasks`` (the spec's steps, in the spec's order) batch by batch in the worktree ``path``.

    ``attempt`` posts a task's started attempt, runs the task and returns both (for the steps of one batch,
    on threads of their own at the same time); the finished attempt, with the paths it touched, is posted
    here, from the calling thread, once its whole batch is over.
    """
    steps = spec.steps or []
    ran = StepsRun(base_tree)
    for batch in batches(spec):
        if len(batch) == 1:
            done = [attempt(tasks[batch[0]])]
        else:
            with ThreadPoolExecutor(len(batch), thread_name_prefix="uet-step") as pool:
                done = list(pool.map(lambda i: attempt(tasks[i]), batch))
        attempts = {i: started for i, (started, _) in zip(batch, done, strict=True)}
        results = {i: result for i, (_, result) in zip(batch, done, strict=True)}
        failed = [i for i in batch if not results[i].success]
        if not failed:
            after = isolation.stage_all(path)
            touched = isolation.changes_between(path, ran.tree, after)
            credited, strays = _credit(touched, batch, spec)
            for i in batch:
                results[i] = dataclasses.replace(results[i], files_touched=sorted(credited[i]))
            ran.changes.update(touched)
            ran.tree = after
            if strays:
                names = ", ".join(step_node(steps[i], i) for i in batch)
                ran.strays = strays
                why = (
                    f"step {names} wrote outside the writes it declared"
                    if len(batch) == 1
                    else f"steps {names} ran at the same time and none of them declared in its writes"
                )
                ran.stray_reason = f"{why}: {', '.join(strays)}"
        for i in batch:
            post(dataclasses.replace(attempts[i], result=results[i]))
        if failed:
            ran.failed = (failed[0], results[failed[0]])
            return ran
        if ran.strays:
            return ran
    return ran


def _credit(touched: dict[str, str], batch: list[int], spec: PhaseSpec) -> tuple[dict[int, list[str]], list[str]]:
    """Each step of the batch with the touched paths its writes cover, and the paths no step covers.

    A lone step is credited with everything it touched (that is what it did); its paths outside the writes
    it declared, if it declared any, are strays too.
    """
    steps = spec.steps or []
    credited: dict[int, list[str]] = {i: [] for i in batch}
    strays: list[str] = []
    for changed in sorted(touched):
        owner = next((i for i in batch if any(matches(w, changed) for w in steps[i].writes or [])), None)
        if len(batch) == 1:
            credited[batch[0]].append(changed)
            if owner is None and steps[batch[0]].writes:
                strays.append(changed)
        elif owner is None:
            strays.append(changed)
        else:
            credited[owner].append(changed)
    return credited, strays
