"""Anti-patterns fed back to planning: warn about planned tasks that match a known recurring failure.

Each step and acceptance check of every spec in a checked phase set gets the input signature its
execution log would have (``detection.execution_log.task_signature``: the operation kind, the runner,
the file scope's shape and the programs invoked). A task whose signature is that of an ``active``
anti-pattern is a warning, located at the step or check in its file, naming the anti-pattern and its
recommendation. Planning stays unaware of the store: the CLI reads the anti-patterns through here and
adds the warnings to the plan's own.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import get_args

import uet_contracts
from uet_contracts import AcceptanceCommand, AntiPattern, PhaseSpec, Problem, Runner
from uet_engine.detection.execution_log import ACCEPTANCE_KIND, task_signature
from uet_engine.errors import StoreMissing
from uet_engine.planning.phase_set import PhaseSet, json_path
from uet_engine.saving.store import RunStore

RUNNERS: tuple[Runner, ...] = get_args(Runner)


def active_anti_patterns(repo: Path) -> list[AntiPattern]:
    """The repository's active anti-patterns (none when nothing has been run or mined there)."""
    try:
        with RunStore.open(repo, create=False, audit=False) as store:
            return [a for a in store.anti_patterns() if a.status != "resolved"]
    except StoreMissing:
        return []


def _tasks(spec: PhaseSpec) -> Iterator[tuple[list[str | int], str, str, str]]:
    """(JSON path parts, operation kind, runner, command) of each step and acceptance check of a spec."""
    for i, step in enumerate(spec.steps or []):
        yield ["steps", i], step.operation_kind, step.tool, step.run or step.prompt or ""
    for runner in RUNNERS:
        for i, check in enumerate(getattr(spec.acceptance, runner) or []):
            run = check.run if isinstance(check, AcceptanceCommand) else check
            if isinstance(run, str):
                yield ["acceptance", runner, i], ACCEPTANCE_KIND, runner, run


def warnings(phase_set: PhaseSet, anti_patterns: Sequence[AntiPattern]) -> list[Problem]:
    """A located warning for each task of the set that matches an anti-pattern, in phase and task order."""
    by_signature: dict[str, AntiPattern] = {}
    for known in anti_patterns:
        by_signature.setdefault(known.signature, known)
    if not by_signature:
        return []
    found: list[Problem] = []
    for phase, spec in phase_set.specs.items():
        text: str | None = None
        for parts, kind, runner, run in _tasks(spec):
            match = by_signature.get(task_signature(kind, runner, run, spec.file_scope))
            if match is None:
                continue
            anti = match
            path = phase_set.files[phase]
            text = text if text is not None else uet_contracts.read_text(path)
            line, column = uet_contracts.locate(text, parts)
            what = "step" if parts[0] == "steps" else "acceptance check"
            message = (
                f"warning: this {what} matches anti-pattern {anti.anti_pattern_id}"
                f" ({anti.name or anti.operation_kind}, {anti.occurrences} failures): "
                f"{anti.recommendation or 'see uet patterns show ' + anti.anti_pattern_id}"
            )
            found.append(Problem(message, json_path(parts), str(path), line, column))
    return found
