"""Synthetic phase-spec sets for the benchmarks: realistic, varied, reproducible from a seed.

``write_phase_set`` writes ``n`` phase files whose ``depends_on`` form a layered DAG (every
prerequisite comes from an earlier layer, so the graph is acyclic by construction) and, on request,
a share of invalid files with a variety of defects. The validate benchmark uses it for throughput;
the plan benchmark reuses it for large DAGs.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PHASE_TYPES = ("implementation", "integration", "refactor", "test", "documentation", "infrastructure", "migration")
OPERATIONS = ("EXEC-ATOMIC-CREATE", "EXEC-ATOMIC-MODIFY", "EXEC-REFACTOR", "EXEC-TEST-RUN", "EXEC-DOCS-BUILD")
PACKAGES = ("core", "api", "queue", "store", "cli", "web", "auth", "billing", "reports", "sync")
RUNNERS = ("sh", "python")

try:
    _Dumper: Any = yaml.CSafeDumper
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _Dumper = yaml.SafeDumper


def phase_id(index: int) -> str:
    """The id of the ``index``-th phase of a set: ``PH-000042``."""
    return f"PH-{index:06d}"


@dataclass(frozen=True)
class PhaseSet:
    """What ``write_phase_set`` wrote: every file in index order, and which of them are invalid."""

    files: list[Path]
    invalid: frozenset[Path]
    depends_on: dict[str, list[str]]

    @property
    def valid(self) -> list[Path]:
        return [f for f in self.files if f not in self.invalid]


def prerequisites(index: int, rng: random.Random, *, layer_width: int, max_deps: int) -> list[str]:
    """A few phases of the previous two layers (none for the first layer): a layered, acyclic DAG."""
    layer_start = index - index % layer_width
    if layer_start == 0:
        return []
    window = range(max(0, layer_start - 2 * layer_width), layer_start)
    count = rng.randint(1, min(max_deps, len(window)))
    return [phase_id(i) for i in sorted(rng.sample(window, count))]


def phase_spec(
    index: int, rng: random.Random, depends_on: list[str], *, layer_width: int = 50, plannable: bool = False
) -> dict[str, Any]:
    """One valid phase spec as plain data; which optional parts appear varies with ``rng``.

    ``plannable``: the phase modifies a file of its own instead of its package's shared ``__init__.py``,
    so that phases that may run at the same time never write the same path (``uet plan`` accepts the set).
    """
    package = rng.choice(PACKAGES)
    module = f"{package}/m{index}"
    spec: dict[str, Any] = {
        "phase_id": phase_id(index),
        "workstream_id": f"ws-{package}-{index}",
        "title": f"{package.title()} module {index}",
        "objective": f"Add module {index} to the {package} package and prove it with its tests.",
        "phase_type": rng.choice(PHASE_TYPES),
    }
    if depends_on or rng.random() < 0.5:
        spec["depends_on"] = depends_on
    if rng.random() < 0.3:  # a neighbour in the same layer: never an ancestor or a descendant
        spec["may_run_parallel_with"] = [phase_id(index - 1)] if index % layer_width else []
    spec["file_scope"] = {
        "create": [f"{module}.py", f"tests/{package}/test_m{index}.py"][: rng.randint(1, 2)],
        "modify": [f"{module}_conf.py" if plannable else f"{package}/__init__.py"] if rng.random() < 0.6 else [],
        "read_only": [f"{package}/base.py", "docs/**/*.md"][: rng.randint(0, 2)],
    }
    if rng.random() < 0.2:
        spec["file_scope"]["forbidden_paths"] = [".git/**", "secrets/*"]
    if rng.random() < 0.9:
        spec["steps"] = [_step(rng, module) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.7:
        spec["tools"] = {"primary_language": "python", "test_runners": ["python -m pytest -q"][: rng.randint(0, 1)]}
    spec["acceptance"] = _acceptance(rng, module, index)
    if rng.random() < 0.4:
        spec["estimate_hours"] = rng.choice([0.5, 1, 2, 3.5, 8])
    if rng.random() < 0.3:
        spec["status"] = rng.choice(["draft", "ready", "done"])
    if rng.random() < 0.3:
        spec["tags"] = sorted(rng.sample(["backend", "db", "api", "perf", "docs", "ui"], rng.randint(1, 3)))
    return spec


def _step(rng: random.Random, module: str) -> dict[str, Any]:
    tool = rng.choice(RUNNERS)
    run = f"mkdir -p {Path(module).parent} && touch {module}.py" if tool == "sh" else f"print('{module}')"
    step: dict[str, Any] = {"operation_kind": rng.choice(OPERATIONS), "tool": tool, "run": run}
    if rng.random() < 0.3:
        step["description"] = f"Prepare {module}"
    if rng.random() < 0.2:
        step["timeout_s"] = rng.choice([30, 120, 600.5])
    return step


def _acceptance(rng: random.Random, module: str, index: int) -> dict[str, Any]:
    checks: dict[str, Any] = {}
    if rng.random() < 0.7:
        checks["sh"] = [f"test -f {module}.py"]
        if rng.random() < 0.5:
            checks["sh"].append(
                {"run": "python -m pytest -q", "success_pattern": r"\d+ passed", "expect_exit": 0, "timeout_s": 300}
            )
    if not checks or rng.random() < 0.4:
        checks["python"] = [f"import {module.replace('/', '.')}"]
        if rng.random() < 0.3:
            checks["python"].append({"run": f"assert {index} >= 0", "expect_exit": 0})
    return checks


# Each defect makes a spec invalid in a way every JSON Schema validator agrees on (YAML-level
# defects such as duplicate keys are not included: other tools accept them, by design).
def _drop_required(spec: dict[str, Any]) -> None:
    del spec["objective"]


def _unknown_field(spec: dict[str, Any]) -> None:
    spec["owner"] = "someone"


def _bad_phase_id(spec: dict[str, Any]) -> None:
    spec["phase_id"] = spec["phase_id"].replace("PH-", "PH_")


def _escaping_path(spec: dict[str, Any]) -> None:
    spec["file_scope"]["modify"] = ["../outside.py"]


def _absolute_path(spec: dict[str, Any]) -> None:
    spec["file_scope"]["create"] = ["/etc/passwd"]


def _bad_enum(spec: dict[str, Any]) -> None:
    spec["phase_type"] = "magic"


def _empty_acceptance(spec: dict[str, Any]) -> None:
    spec["acceptance"] = {}


def _step_without_tool(spec: dict[str, Any]) -> None:
    spec["steps"] = [{"operation_kind": "EXEC-ATOMIC-CREATE", "run": "true"}]


def _zero_estimate(spec: dict[str, Any]) -> None:
    spec["estimate_hours"] = 0


def _wrong_type(spec: dict[str, Any]) -> None:
    spec["depends_on"] = "PH-000001"


DEFECTS: tuple[Callable[[dict[str, Any]], None], ...] = (
    _drop_required,
    _unknown_field,
    _bad_phase_id,
    _escaping_path,
    _absolute_path,
    _bad_enum,
    _empty_acceptance,
    _step_without_tool,
    _zero_estimate,
    _wrong_type,
)


def write_phase_set(
    directory: Path,
    n: int,
    *,
    invalid_ratio: float = 0.0,
    seed: int = 0,
    layer_width: int = 50,
    max_deps: int = 3,
    plannable: bool = False,
) -> PhaseSet:
    """Write ``n`` phase files ``PH-<index>.yaml`` into ``directory``; ``invalid_ratio`` of them have a defect.

    The valid files' ``depends_on`` form a layered DAG (layers of ``layer_width`` phases, each with 1 to
    ``max_deps`` prerequisites in the two layers before). Invalid files are spread evenly over the set
    and cycle through ``DEFECTS``. ``plannable`` sets: see ``phase_spec``.
    """
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    bad_every = round(1 / invalid_ratio) if invalid_ratio > 0 else 0
    files: list[Path] = []
    invalid: set[Path] = set()
    graph: dict[str, list[str]] = {}
    for index in range(n):
        depends_on = prerequisites(index, rng, layer_width=layer_width, max_deps=max_deps)
        spec = phase_spec(index, rng, depends_on, layer_width=layer_width, plannable=plannable)
        path = directory / f"{phase_id(index)}.yaml"
        if bad_every and index % bad_every == bad_every - 1:
            DEFECTS[len(invalid) % len(DEFECTS)](spec)
            invalid.add(path)
        else:
            graph[spec["phase_id"]] = depends_on
        path.write_text(yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True), encoding="utf-8")
        files.append(path)
    return PhaseSet(files, frozenset(invalid), graph)
