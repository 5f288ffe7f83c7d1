"""Loads a folder of phase specs and checks the set as a whole: the plan stage's input gate.

Each file is read, validated and checked on its own by ``planning.loading`` (in parallel for large sets:
one parse and one schema check per file, then the rules of one spec: each step's ``tool``
is a runner with ``run`` or a known tool profile with a prompt, the task tier's ``tasks.step_faults``, an
acceptance with no check at all proves nothing, a warning). Then the set-level rules no single file can
break on its own: unique phase and workstream ids, known dependencies, no dependency cycle,
``may_run_parallel_with`` consistent with the DAG, no two phases that may run at the same time writing
the same path, and ``external_depends_on`` naming phases outside the set (a warning for each one not
declared done with ``assume_done``, since the run leaves the phase out until it is). Every problem of
the set is collected before ``PlanError`` is raised, so one run shows them all, each naming its file.

An acceptance check may name a verification template (``verify: NAME`` with ``with: {…}``): the caller
passes ``checks``, which turns each such reference into the AcceptanceCommand it stands for, so the
checked set holds only runnable checks. Planning does not know where templates live (the patterns stage
does); without ``checks`` a reference is a problem of its file.
"""

from __future__ import annotations

import dataclasses
import gc
import graphlib
import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple, get_args

import uet_contracts
from uet_contracts import AcceptanceCommand, PhaseSpec, Problem, Runner, VerificationRef
from uet_engine.errors import PlanError
from uet_engine.paths import PathIndex
from uet_engine.planning import graph, profiles
from uet_engine.planning.loading import SpecFinding, SpecRecord, Specs, read_record, record, spec_of
from uet_engine.planning.loading import json_path as json_path  # its home was here: planning imports it from here
from uet_engine.planning.parallel import map_files

RUNNERS: tuple[Runner, ...] = get_args(Runner)

CheckResolver = Callable[[VerificationRef, Runner], AcceptanceCommand]
"""Turns a ``verify: NAME`` acceptance check listed under a runner into its command; ``ValueError`` says why not."""


@dataclass(frozen=True)
class PhaseSet:
    """A checked phase set: specs and their files keyed by phase id (sorted), the DAG, the warnings.

    ``specs`` structures each spec when it is first read; what the set checks and the pipeline snapshot
    use of every spec is in its record (``specs.record(phase)``, ``planning.loading``).

    ``edges`` maps each phase that has prerequisites to them (sorted); ``topo_levels`` are the Kahn levels.
    Made by ``load_phase_set``, which guarantees the set rules hold.
    """

    specs: Specs
    files: dict[str, Path]
    edges: dict[str, list[str]]
    topo_levels: list[list[str]]
    warnings: list[Problem] = field(default_factory=list)
    assumed_done: tuple[str, ...] = ()  # phases declared done (--assume-done), sorted
    modules: dict[str, list[str]] = field(default_factory=dict)
    """The modules each phase writes into (sorted), when module manifests exist (``planning.modules``)."""

    def by_workstream(self, ws_id: str) -> PhaseSpec:
        """The phase of workstream ``ws_id``; ``KeyError`` naming it when no phase has that workstream."""
        for phase in self.specs:
            if self.specs.record(phase).workstream_id == ws_id:
                return self.specs[phase]
        raise KeyError(f"no phase has workstream_id {ws_id!r}")


def load_phase_set(
    specs_dir: Path,
    checks: CheckResolver | None = None,
    *,
    assume_done: Iterable[str] = (),
    tools: Iterable[str] | None = None,
    keep_specs: bool = True,
) -> PhaseSet:
    """The checked phase set of the spec files under ``specs_dir``; ``PlanError`` with every problem.

    ``checks`` resolves acceptance checks that name a verification template (see the module docstring).
    ``assume_done``: phases declared done (``--assume-done``), satisfying the ``external_depends_on`` that
    name them. ``tools``: the tool profile ids steps may name (default: the built-in profiles).
    ``keep_specs``: whether the caller reads most specs (the set's ``specs``); without, each one read is
    loaded from its file again (see ``planning.loading``), which a caller that needs only the DAG saves.
    """
    known_tools = frozenset(profiles.BUILTIN if tools is None else tools)
    with gc_paused():
        return _load_phase_set(specs_dir, checks, tuple(sorted(set(assume_done))), known_tools, keep_specs)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Runs the block with the cyclic garbage collector off (as it was before, after).

    Loading a large set builds millions of objects that all stay alive; each generation-2 collection
    meanwhile walks all of them again and frees nothing (at 40,000 phases: 3 of 11 s of CPU). Reference
    counting still frees what the block drops; cycles left behind go at the next collection after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _load_phase_set(
    specs_dir: Path, checks: CheckResolver | None, assume_done: tuple[str, ...], tools: frozenset[str], keep: bool
) -> PhaseSet:
    if not specs_dir.is_dir():
        reason = "not a folder" if specs_dir.exists() else "no such folder"
        raise PlanError([Problem(reason, file=str(specs_dir))], unreadable=True)
    paths = uet_contracts.contract_files(specs_dir)
    if not paths:
        raise PlanError([Problem("no .yaml, .yml or .json files in this folder", file=str(specs_dir))], unreadable=True)
    loaded, problems, unreadable = _load_files(paths, tools, keep)
    loaded = [_resolved(found, path, checks, problems, tools) for found, path in loaded]
    checker = _SetChecker(loaded, assume_done)
    problems += checker.check()
    warnings = _sorted(checker.warnings)
    if problems:
        raise PlanError(_sorted(problems), warnings=warnings, unreadable=unreadable)
    files = dict(sorted(checker.files.items()))
    return PhaseSet(
        specs=Specs(dict(sorted(checker.specs.items())), files),
        files=files,
        edges=checker.edges,
        topo_levels=checker.levels,
        warnings=warnings,
        assumed_done=assume_done,
    )


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.json_path, p.message))


def _load_files(
    paths: list[Path], tools: frozenset[str] = frozenset(profiles.BUILTIN), keep: bool = True
) -> tuple[list[tuple[SpecRecord, Path]], list[Problem], bool]:
    """The records of the specs that load, with their files; the problems of those that do not; whether one
    was unreadable. Files are read, checked and recorded in parallel for large sets (``loading.read_record``).
    """
    loaded: list[tuple[SpecRecord, Path]] = []
    problems: list[Problem] = []
    unreadable = False
    results = map_files(partial(read_record, tools=tools, keep=keep), paths)
    for path, (found, faults, cannot_read) in zip(paths, results, strict=True):
        problems.extend(faults)
        unreadable |= cannot_read
        if found is not None:
            loaded.append((found, path))
    return loaded, problems, unreadable


def _resolved(
    loaded: SpecRecord, path: Path, checks: CheckResolver | None, problems: list[Problem], tools: frozenset[str]
) -> tuple[SpecRecord, Path]:
    """The record of the spec with its ``verify: NAME`` checks replaced by their commands; a problem for each
    that cannot be."""
    if not loaded.references:
        return loaded, path
    spec = spec_of(loaded, path)
    lists: dict[Runner, list[Any] | None] = {runner: getattr(spec.acceptance, runner) for runner in RUNNERS}
    text = uet_contracts.read_text(path)
    changed: dict[str, list[Any]] = {}
    for runner, found in lists.items():
        if not found:
            continue
        resolved: list[Any] = []
        for i, check in enumerate(found):
            if not isinstance(check, VerificationRef):
                resolved.append(check)
                continue
            parts: list[str | int] = ["acceptance", runner, i, "verify"]
            try:
                if checks is None:
                    raise ValueError("verification templates cannot be used here (no template library was given)")
                resolved.append(checks(check, runner))
            except ValueError as exc:
                line, column = uet_contracts.locate(text, parts)
                problems.append(Problem(str(exc), json_path(parts), str(path), line, column))
                resolved.append(check)
        changed[runner] = resolved
    spec = dataclasses.replace(spec, acceptance=dataclasses.replace(spec.acceptance, **changed))
    data = uet_contracts.to_dict(spec)
    return record(data, text, str(path), tools, keep=True, spec=spec), path  # kept: its file has the references


_VERB = {"create": "creates", "modify": "modifies"}


class _Write(NamedTuple):
    """One ``create`` or ``modify`` entry of one phase's file scope (a tuple: there is one per entry of
    every phase, and a frozen dataclass costs several times more to build)."""

    path: str
    phase: str
    kind: str
    entry: int  # its index in that list (``index`` is a tuple method)


class _SetChecker:
    """The set-level rules, run over the specs that loaded. Problems are found in bulk (see ``Ancestry``)."""

    def __init__(
        self,
        loaded: list[tuple[SpecRecord, Path]],
        assume_done: tuple[str, ...] = (),
    ) -> None:
        self._loaded = loaded
        self.assume_done = assume_done
        self.specs: dict[str, SpecRecord] = {}
        self.files: dict[str, Path] = {}
        self.edges: dict[str, list[str]] = {}
        self.levels: list[list[str]] = []
        self.warnings: list[Problem] = []
        self._problems: list[Problem] = []
        self._at = Locator().at

    def check(self) -> list[Problem]:
        """Every problem of the set (warnings go to ``warnings``); GC paused, as the set is large and alive."""
        with gc_paused():
            return self._check()

    def _check(self) -> list[Problem]:
        self._unique_ids()
        for phase, spec in self.specs.items():
            for finding in spec.findings:
                (self.warnings if finding.message.startswith("warning: ") else self._problems).append(finding)
            for parts, message in _external(spec, self):
                target = self.warnings if message.startswith("warning: ") else self._problems
                target.append(self._at(self.files[phase], parts, message))
        prereqs = self._known_prerequisites()
        try:
            self.levels = graph.kahn_levels(prereqs)
        except graphlib.CycleError:
            self._cycles(prereqs)
            return self._problems
        self.edges = {phase: sorted(deps) for phase, deps in sorted(prereqs.items()) if deps}
        ancestry = graph.Ancestry(prereqs, self.levels)
        self._parallel(ancestry)
        self._scopes(ancestry)
        return self._problems

    def _report(self, phase: str, parts: list[str | int], message: str) -> None:
        self._problems.append(self._at(self.files[phase], parts, message))

    def _unique_ids(self) -> None:
        workstreams: dict[str, str] = {}
        for spec, path in self._loaded:
            first = self.files.get(spec.phase_id)
            if first is not None:
                message = f"phase_id {spec.phase_id!r} is already declared in {first}"
                self._problems.append(self._at(path, ["phase_id"], message))
                continue
            self.specs[spec.phase_id] = spec
            self.files[spec.phase_id] = path
            owner = workstreams.setdefault(spec.workstream_id, spec.phase_id)
            if owner != spec.phase_id:
                message = f"workstream_id {spec.workstream_id!r} is already used by {owner} in {self.files[owner]}"
                self._problems.append(self._at(path, ["workstream_id"], message))

    def _known_prerequisites(self) -> dict[str, list[str]]:
        prereqs: dict[str, list[str]] = {}
        for phase, spec in self.specs.items():
            known = prereqs[phase] = []
            for i, dep in enumerate(spec.depends_on):
                if dep in self.specs:
                    known.append(dep)
                else:
                    self._report(phase, ["depends_on", i], f"depends on unknown phase {dep!r}: {_UNKNOWN}")
            for i, other in enumerate(spec.may_run_parallel_with):
                if other not in self.specs:
                    self._report(phase, ["may_run_parallel_with", i], f"names unknown phase {other!r}: {_UNKNOWN}")
        return prereqs

    def _cycles(self, prereqs: dict[str, list[str]]) -> None:
        for loop in graph.cycles(prereqs):
            first, second = loop[0], loop[1]
            index = self.specs[first].depends_on.index(second)
            message = f"dependency cycle: {' -> '.join(loop)} (each phase depends on the next)"
            self._report(first, ["depends_on", index], message)

    def _parallel(self, ancestry: graph.Ancestry) -> None:
        """``may_run_parallel_with`` must not name an ancestor or a descendant: they never run together."""
        asked: list[tuple[str, int, str]] = []
        for phase, spec in self.specs.items():
            for i, other in enumerate(spec.may_run_parallel_with):
                if other == phase:
                    self._report(phase, ["may_run_parallel_with", i], "names the phase itself")
                elif other in self.specs and ancestry.level(other) != ancestry.level(phase):
                    asked.append((phase, i, other))
        ordered = ancestry.ancestor_pairs(_by_level(ancestry, phase, other) for phase, _, other in asked)
        for phase, i, other in asked:
            if (other, phase) in ordered:
                why = f"{phase} depends on {other}"
            elif (phase, other) in ordered:
                why = f"{other} depends on {phase}"
            else:
                continue
            message = f"names {other}, but {why} (directly or through other phases), so they never run at the same time"
            self._report(phase, ["may_run_parallel_with", i], message)

    def _scopes(self, ancestry: graph.Ancestry) -> None:
        writes: dict[str, list[_Write]] = {}
        for phase, spec in self.specs.items():
            seen: set[str] = set()
            for kind in ("create", "modify"):
                for i, path in enumerate(getattr(spec, kind)):
                    if path not in seen:
                        seen.add(path)
                        writes.setdefault(path, []).append(_Write(path, phase, kind, i))
        index = PathIndex(writes)
        self._clashes(ancestry, writes, index)
        self._read_only(ancestry, writes, index)
        self._case_collisions(ancestry, writes)

    def _case_collisions(self, ancestry: graph.Ancestry, writes: dict[str, list[_Write]]) -> None:
        """Two phases that may run at the same time writing paths that differ only in case: a warning.

        On a case-insensitive filesystem (macOS, Windows) ``Docs/a.md`` and ``docs/A.md`` are one file, so
        the two patches collide there. Paths are grouped by their case-folded form (linear); within a
        group, neighbours in topological order are compared, as ``_clashes`` does.
        """
        groups: dict[str, list[_Write]] = {}
        for path, group in writes.items():
            groups.setdefault(path.casefold(), []).extend(group)
        pairs: list[tuple[_Write, _Write]] = []
        for group in groups.values():
            if len(group) > 1 and len({w.path for w in group}) > 1:  # most paths: one writer, no set to build
                ordered = sorted(group, key=lambda w: (ancestry.level(w.phase), w.phase))
                pairs += [(a, b) for a, b in itertools.pairwise(ordered) if a.phase != b.phase and a.path != b.path]
        related = ancestry.ancestor_pairs((lo.phase, hi.phase) for lo, hi in pairs)
        for lo, hi in pairs:
            if (lo.phase, hi.phase) in related:
                continue
            message = (
                f"warning: {hi.path!r} differs only in case from {lo.path!r}, which {lo.phase} can write at the same "
                f"time ({self.files[lo.phase]}); on a case-insensitive filesystem (macOS, Windows) they are one "
                "file: rename one, or make one phase depend on the other"
            )
            self.warnings.append(self._at(self.files[hi.phase], ["file_scope", hi.kind, hi.entry], message))

    def _clashes(self, ancestry: graph.Ancestry, writes: dict[str, list[_Write]], index: PathIndex) -> None:
        """Two phases that may run at the same time must not write the same path: one entry, or two that
        some path matches both of, read in the dialect ``uet run`` checks scopes with (``uet_engine.paths``).

        The writers of one path must form a chain of ancestors; checking neighbours in topological order
        proves that, and reports at most one clash per writer (a path written by k phases gives at most
        k - 1 lines): enough to name every phase involved without a quadratic flood.
        """

        def topological(w: _Write) -> tuple[int, str]:
            return ancestry.level(w.phase), w.phase

        pairs: list[tuple[_Write, _Write]] = []
        for group in writes.values():
            if len(group) > 1:  # most paths have one writer: nothing to sort
                pairs.extend(itertools.pairwise(sorted(group, key=topological)))
        for first, second in index.pairs():
            for a in writes[first]:
                pairs.extend((a, b) if topological(a) < topological(b) else (b, a) for b in writes[second])
        pairs = [(lo, hi) for lo, hi in pairs if lo.phase != hi.phase]
        ordered = ancestry.ancestor_pairs((lo.phase, hi.phase) for lo, hi in pairs)
        for lo, hi in pairs:
            if (lo.phase, hi.phase) in ordered:
                continue
            if lo.path == hi.path:
                what = f"{_VERB[lo.kind]} it in {self.files[lo.phase]}"
            else:
                what = f"{_VERB[lo.kind]} {lo.path!r} in {self.files[lo.phase]}, and the two overlap"
            message = (
                f"{hi.phase} and {lo.phase} can run at the same time (neither depends on the other) but both write"
                f" {hi.path!r} ({lo.phase} {what}); make one depend on the other"
            )
            self._report(hi.phase, ["file_scope", hi.kind, hi.entry], message)

    def _read_only(self, ancestry: graph.Ancestry, writes: dict[str, list[_Write]], index: PathIndex) -> None:
        """A ``read_only`` path written by a phase that is not an ancestor of the reader: a warning."""
        asked: list[tuple[str, int, str, _Write]] = []
        for phase, spec in self.specs.items():
            for i, path in enumerate(spec.read_only):
                for written in [path, *index.overlapping(path)]:
                    asked.extend((phase, i, path, w) for w in writes.get(written, ()) if w.phase != phase)
        ordered = ancestry.ancestor_pairs((w.phase, phase) for phase, _, _, w in asked)
        for phase, i, path, w in asked:
            if (w.phase, phase) in ordered:
                continue
            what = "it" if w.path == path else repr(w.path)
            message = (
                f"warning: read_only path {path!r} is written by {w.phase} ({_VERB[w.kind]} {what} in"
                f" {self.files[w.phase]}), which {phase} does not depend on: it may change before or while"
                f" {phase} reads it"
            )
            self.warnings.append(self._at(self.files[phase], ["file_scope", "read_only", i], message))


def _external(spec: SpecRecord, checker: _SetChecker) -> Iterator[SpecFinding]:
    """``external_depends_on`` names phases outside the set; each one not assumed done is a warning."""
    for i, other in enumerate(spec.external_depends_on):
        where: list[str | int] = ["external_depends_on", i]
        if other in checker.specs:
            yield where, f"{other} is in this set: list it in depends_on instead"
        elif other not in checker.assume_done:
            yield (
                where,
                (
                    f"warning: {spec.phase_id} waits for {other}, outside this set: `uet run` leaves it (and what"
                    f" depends on it) out until {other} is declared done with --assume-done {other}"
                ),
            )


class Locator:
    """Problems at JSON paths of contract files that loaded, with their line and column.

    Each file's text is read again only for its first problem: a valid set costs nothing here.
    """

    def __init__(self) -> None:
        self._texts: dict[Path, str] = {}

    def at(self, path: Path, parts: Sequence[str | int], message: str) -> Problem:
        if path not in self._texts:
            self._texts[path] = uet_contracts.read_text(path)
        line, column = uet_contracts.locate(self._texts[path], list(parts))
        return Problem(message, json_path(parts), str(path), line, column)


_UNKNOWN = "no valid spec in the set declares it"


def _by_level(ancestry: graph.Ancestry, a: str, b: str) -> tuple[str, str]:
    """The pair ordered so that the first could be the ancestor of the second."""
    return (a, b) if ancestry.level(a) < ancestry.level(b) else (b, a)
