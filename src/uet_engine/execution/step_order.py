"""Runs a workstream's steps in the batches of its task graph, and credits each with the paths it touched.

Why a module of its own: the worker lists the stages of a workstream (worktree, pre-flight, steps, scope,
acceptance, fix loop, patch) and owns a try of a task (its attempts, retries, error events); the order the
steps run in, which of them run side by side and who touched what is one job, kept here.

The batches come from planning (``uet_engine.planning.tasks.batches``): one step per batch, in the order
listed, unless the steps declare ``depends_on`` and ``writes``. A batch of one runs as any step does (with
its retries). A batch of several runs them at the same time, a thread each (every step is its own process
group), and waits for all of them; only then is the worktree staged, once, and each changed path credited
to the step whose declared ``writes`` cover it. A path no running step declared, or written by a lone step
outside the ``writes`` it declared, is a *stray*: the workstream fails, as the promise that made running
side by side safe was broken. A failed step ends the run of the steps after its batch (the rest of its
batch still finishes, and is recorded).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from uet_contracts import PhaseSpec
from uet_engine.paths import matches
from uet_engine.planning.tasks import batches

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F")


def run_batches(
    spec: PhaseSpec,
    tasks: Sequence[T],
    alone: Callable[[T], F | None],
    together: Callable[[Sequence[T]], F | None],
    stopped: Callable[[], bool],
) -> F | None:
    """Run ``tasks`` (the spec's steps, in the spec's order) batch by batch: ``alone`` for a batch of one,
    ``together`` for several; the first failure, or None. ``stopped`` ends the run after a batch (a stray)."""
    for batch in batches(spec):
        failed = alone(tasks[batch[0]]) if len(batch) == 1 else together([tasks[i] for i in batch])
        if failed is not None or stopped():
            return failed
    return None


def at_once(work: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``work`` on every item at the same time, a thread each; the results in the items' order."""
    with ThreadPoolExecutor(len(items), thread_name_prefix="uet-step") as pool:
        return list(pool.map(work, items))


@dataclass(frozen=True)
class Credit:
    """Who touched what: the changed paths credited to each step (in the batch's order), and the strays."""

    files: list[list[str]]
    strays: list[str]


def credit(touched: Mapping[str, str], writes: Sequence[Sequence[str] | None]) -> Credit:
    """Each changed path to the first step whose declared writes cover it (``paths.matches``), or a stray.

    A lone step is credited with everything it touched (that is what it did); its paths outside the writes
    it declared, if it declared any, are strays too.
    """
    files: list[list[str]] = [[] for _ in writes]
    strays: list[str] = []
    for changed in sorted(touched):
        owner = next((i for i, declared in enumerate(writes) if any(matches(w, changed) for w in declared or [])), None)
        if len(writes) == 1:
            files[0].append(changed)
            if owner is None and writes[0]:
                strays.append(changed)
        elif owner is None:
            strays.append(changed)
        else:
            files[owner].append(changed)
    return Credit(files, strays)


@dataclass(frozen=True)
class Stray:
    """Paths written outside the declared writes, and the reason the workstream fails for them."""

    reason: str
    paths: list[str]


def stray(names: Sequence[str], credited: Credit) -> Stray | None:
    """The stray of a batch whose steps are ``names`` (their nodes), or None when every path was declared."""
    if not credited.strays:
        return None
    why = (
        f"step {names[0]} wrote outside the writes it declared"
        if len(names) == 1
        else f"steps {', '.join(names)} ran at the same time and none of them declared in its writes"
    )
    return Stray(f"{why}: {', '.join(credited.strays)}", credited.strays)
