"""One phase spec file to the compact record the set checks need, in a worker process; the lazy specs.

Checking a large set spends most of its time per file: parse, schema, structure, the rules of one
spec's steps and acceptance, its canonical JSON for the source hash. ``read_record`` does all of that
where the file is read (in parallel, ``planning.parallel``) and sends back a ``SpecRecord``: the few
fields the set-level rules and the snapshot use, the spec's problems already located (the worker holds
its text), its canonical JSON and, when the caller will read the specs (``keep``), the structured spec
pickled. Pickling a hundred thousand specs and unpickling them in the planning process cost an eighth
of the whole plan, for specs that ``uet plan`` of the pipeline tier never reads; ``Specs`` unpickles a
spec when it is first read and, when it was not kept, loads its file again (and refuses it when it no
longer gives the spec that was checked).
"""

from __future__ import annotations

import json
import os
import pickle
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import uet_contracts
from uet_contracts import ContractError, PhaseSpec, Problem, Step, VerificationRef
from uet_engine.errors import PlanError
from uet_engine.planning import profiles, tasks

CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""What ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` uses, built once:
``dumps`` with options builds a new encoder per call, and the source hash needs one per spec."""


def canonical_json(spec: PhaseSpec) -> bytes:
    """A spec's canonical JSON (keys sorted, no whitespace), UTF-8: what its source hashes are taken over."""
    return CANONICAL.encode(uet_contracts.to_dict(spec)).encode()


class SpecRecord(NamedTuple):
    """What the set-level rules and the pipeline snapshot read of one spec, and the spec itself, pickled.

    A tuple of plain values: it is built once per file in a worker and pickled back to the planner.
    """

    phase_id: str
    workstream_id: str
    title: str
    depends_on: tuple[str, ...]
    may_run_parallel_with: tuple[str, ...]
    external_depends_on: tuple[str, ...]
    create: tuple[str, ...]
    modify: tuple[str, ...]
    read_only: tuple[str, ...]
    estimate_hours: float | None
    findings: tuple[Problem, ...]
    """The problems and warnings (``warning: `` messages) of the spec's own rules, located in its file."""
    references: bool
    """Whether an acceptance check names a verification template (``verify: NAME``) still to be resolved."""
    canonical: bytes
    """``canonical_json`` of the spec."""
    pickled: bytes
    """The structured PhaseSpec (``pickle``) for ``Specs``; empty when it was not kept."""


def read_record(path: Path, tools: frozenset[str], keep: bool = True) -> tuple[SpecRecord | None, list[Problem], bool]:
    """(the record or None, the file's problems, whether it was unreadable) for one spec file; ``tools``
    are the tool profile ids its steps may name, ``keep`` whether the record carries the spec. Runs in a
    worker for large sets."""
    name = str(path)
    if not os.access(path, os.R_OK):
        return None, [Problem("cannot read file: permission denied", file=name)], True
    try:
        text = uet_contracts.read_text(path)
        spec = uet_contracts.loads(text, PhaseSpec, uet_contracts.format_of(path), file=name)
    except ContractError as exc:
        return None, exc.errors, exc.unreadable
    return record(spec, text, name, tools, keep), [], False


def record(spec: PhaseSpec, text: str, file: str, tools: frozenset[str], keep: bool = True) -> SpecRecord:
    """The record of a spec that loaded from ``text`` (the contents of ``file``)."""
    findings = tuple(
        Problem(message, json_path(parts), file, *uet_contracts.locate(text, parts))
        for rule in (_steps, _task_tier, _acceptance)
        for parts, message in rule(spec, tools)
    )
    scope = spec.file_scope
    checks = (check for runner in profiles.RUNNERS for check in getattr(spec.acceptance, runner) or ())
    return SpecRecord(
        spec.phase_id,
        spec.workstream_id,
        spec.title,
        tuple(spec.depends_on or ()),
        tuple(spec.may_run_parallel_with or ()),
        tuple(spec.external_depends_on or ()),
        tuple(scope.create),
        tuple(scope.modify),
        tuple(scope.read_only),
        spec.estimate_hours,
        findings,
        any(isinstance(check, VerificationRef) for check in checks),
        canonical_json(spec),
        pickle.dumps(spec, pickle.HIGHEST_PROTOCOL) if keep else b"",
    )


def spec_of(loaded: SpecRecord, path: Path) -> PhaseSpec:
    """The structured spec of a record: unpickled (``record`` pickled it, in a worker of this planner), or
    loaded again from ``path`` when the record does not carry it. ``PlanError`` when the file no longer
    loads, or gives another spec than the one checked."""
    if loaded.pickled:
        spec: PhaseSpec = pickle.loads(loaded.pickled)
        return spec
    try:
        spec = uet_contracts.load(path, PhaseSpec)
    except ContractError as exc:
        raise PlanError(exc.errors, unreadable=exc.unreadable) from None
    if canonical_json(spec) != loaded.canonical:
        raise PlanError([Problem("changed since the set was checked: plan again", file=str(path))])
    return spec


class Specs(Mapping[str, PhaseSpec]):
    """The checked set's specs by phase id, each made from its record (``spec_of``) when first read."""

    def __init__(self, records: Mapping[str, SpecRecord], files: Mapping[str, Path]) -> None:
        self._records = records
        self._files = files
        self._specs: dict[str, PhaseSpec] = {}

    def __getitem__(self, phase: str) -> PhaseSpec:
        spec = self._specs.get(phase)
        if spec is None:
            spec = self._specs[phase] = spec_of(self._records[phase], self._files[phase])
        return spec

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, phase: object) -> bool:
        return phase in self._records

    def record(self, phase: str) -> SpecRecord:
        """The record of ``phase`` (``KeyError`` when the set has no such phase)."""
        return self._records[phase]


SpecFinding = tuple[list[str | int], str]


def _steps(spec: PhaseSpec, tools: frozenset[str]) -> Iterator[SpecFinding]:
    """Each step and fix step names a runner and its ``run``, or a known tool profile and a prompt."""
    lists: list[tuple[list[str | int], Sequence[Step]]] = [(["steps"], spec.steps or [])]
    if spec.on_failure is not None:
        lists.append((["on_failure", "steps"], spec.on_failure.steps))
    for where, steps in lists:
        for i, step in enumerate(steps):
            if profiles.is_runner(step.tool):
                if not step.run:
                    yield [*where, i], f"a {step.tool} step needs `run`: the command (or code) to execute"
            elif step.tool not in tools:
                known = ", ".join(sorted(tools)) or "none"
                yield (
                    [*where, i, "tool"],
                    (
                        f"unknown tool {step.tool!r}: not a runner (sh, python, powershell) nor a tool profile"
                        f" ({known}); define tool_profiles.{step.tool} in {profiles.CONFIG_FILE}"
                    ),
                )
            elif not step.prompt and not step.prompt_file:
                yield [*where, i], f"a {step.tool} step needs `prompt` or `prompt_file`: the instructions for the tool"


def _task_tier(spec: PhaseSpec, tools: frozenset[str]) -> Iterator[SpecFinding]:
    """The task tier's rules (``tasks.step_faults``): step ids, step dependencies, declared writes."""
    if spec.steps:
        for fault in tasks.step_faults(spec):
            yield list(fault.path), fault.message


def _acceptance(spec: PhaseSpec, tools: frozenset[str]) -> Iterator[SpecFinding]:
    """An acceptance without a single check proves nothing."""
    if not any(getattr(spec.acceptance, runner) for runner in profiles.RUNNERS):
        yield (
            ["acceptance"],
            "warning: acceptance has no checks, so it proves nothing: add a command that checks the work",
        )


def json_path(parts: Sequence[str | int]) -> str:
    """``$.file_scope.create[0]`` from its parts; a key that is not an identifier (a node id such as
    ``PH-01``, a key of a snapshot's ``edges``) is written ``['PH-01']``."""
    return "$" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" if part.isidentifier() else f"[{part!r}]" for part in parts
    )
