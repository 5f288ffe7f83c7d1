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
from typing import Any, NamedTuple

import uet_contracts
from uet_contracts import ContractError, PhaseSpec, Problem
from uet_engine.errors import PlanError
from uet_engine.planning import coercion, profiles, tasks

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
        if keep:  # the spec is wanted: structured once, checked once; its data is what to_dict gives back
            spec = uet_contracts.loads(text, PhaseSpec, uet_contracts.format_of(path), file=name)
            return record(uet_contracts.to_dict(spec), text, name, tools, keep=True, spec=spec), [], False
    except ContractError as exc:
        return None, exc.errors, exc.unreadable
    data, problems = uet_contracts.check_text(text, PhaseSpec, uet_contracts.format_of(path), name)
    if problems:
        return None, problems, False
    return record(data, text, name, tools, keep=False), [], False


def record(
    data: dict[str, Any], text: str, file: str, tools: frozenset[str], *, keep: bool, spec: PhaseSpec | None = None
) -> SpecRecord:
    """The record of a spec from its schema-valid data, loaded from ``text`` (the contents of ``file``);
    ``spec`` is the data structured, when the caller has it.

    The rules read the plain data, and it is the canonical JSON too when structuring would not change it
    (``planning.coercion``): most specs are never structured here, which costs more than their checks.
    """
    steps: list[dict[str, Any]] = data.get("steps", [])
    ordered = any("id" in step or "depends_on" in step or "writes" in step for step in steps)  # the task tier's
    exact = INT_FIELDS is not None and not coercion.has_float_int(data, INT_FIELDS)
    if spec is None and (keep or ordered or not exact):
        spec = uet_contracts.validate(data, PhaseSpec)  # checked again: the one public way to structure data
    canonical = CANONICAL.encode(data).encode() if spec is None or exact else canonical_json(spec)
    faults: list[SpecFinding] = list(_steps(data, tools))
    if ordered and spec is not None:
        faults += ((list(fault.path), fault.message) for fault in tasks.step_faults(spec))
    acceptance: dict[str, list[Any]] = data["acceptance"]
    if not any(acceptance.get(runner) for runner in profiles.RUNNERS):
        faults.append((["acceptance"], NO_CHECKS))
    checks = (check for runner in profiles.RUNNERS for check in acceptance.get(runner, ()))
    scope = data["file_scope"]
    located = (Problem(message, json_path(at), file, *uet_contracts.locate(text, at)) for at, message in faults)
    return SpecRecord(
        data["phase_id"],
        data["workstream_id"],
        data["title"],
        tuple(data.get("depends_on", ())),
        tuple(data.get("may_run_parallel_with", ())),
        tuple(data.get("external_depends_on", ())),
        tuple(scope["create"]),
        tuple(scope["modify"]),
        tuple(scope["read_only"]),
        data.get("estimate_hours"),
        tuple(located),
        any(isinstance(check, dict) and "verify" in check for check in checks),
        canonical,
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


def _steps(data: dict[str, Any], tools: frozenset[str]) -> Iterator[SpecFinding]:
    """Each step and fix step names a runner and its ``run``, or a known tool profile and a prompt."""
    lists: list[tuple[list[str | int], list[dict[str, Any]]]] = [(["steps"], data.get("steps", []))]
    if "on_failure" in data:
        lists.append((["on_failure", "steps"], data["on_failure"]["steps"]))
    for where, steps in lists:
        for i, step in enumerate(steps):
            tool = step["tool"]
            if profiles.is_runner(tool):
                if not step.get("run"):
                    yield [*where, i], f"a {tool} step needs `run`: the command (or code) to execute"
            elif tool not in tools:
                known = ", ".join(sorted(tools)) or "none"
                yield (
                    [*where, i, "tool"],
                    (
                        f"unknown tool {tool!r}: not a runner (sh, python, powershell) nor a tool profile"
                        f" ({known}); define tool_profiles.{tool} in {profiles.CONFIG_FILE}"
                    ),
                )
            elif not step.get("prompt") and not step.get("prompt_file"):
                yield [*where, i], f"a {tool} step needs `prompt` or `prompt_file`: the instructions for the tool"


NO_CHECKS = "warning: acceptance has no checks, so it proves nothing: add a command that checks the work"

INT_FIELDS = coercion.int_fields(PhaseSpec)
"""Where structuring could change a spec's data (None: it always could)."""


def json_path(parts: Sequence[str | int]) -> str:
    """``$.file_scope.create[0]`` from its parts; a key that is not an identifier (a node id such as
    ``PH-01``, a key of a snapshot's ``edges``) is written ``['PH-01']``."""
    return "$" + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" if part.isidentifier() else f"[{part!r}]" for part in parts
    )
