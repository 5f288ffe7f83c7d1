"""Which phases a run holds: those to run, and the earlier successes it reuses instead.

Why a module of its own: selection is a pure decision over the phase set, the options and what the run
store remembers; it writes nothing. ``uet run`` and ``uet run --dry-run`` make the same decision here,
so what the dry run prints is exactly what the run would do.

The rules: all phases by default; ``ws_ids`` picks workstreams plus (unless ``no_deps``) their
prerequisites that have not succeeded yet — a prerequisite whose last success (any earlier run) was
applied to the tree is reused, recorded as ``succeeded`` with ``reused_from``. ``resume`` reruns what of
an earlier run did not succeed and reuses its successes (Dagster's rule). Phases that count as done
(their status, ``--assume-done``) are never run and do not hold their dependants back; phases waiting for
a phase outside the set are left out (``uet_engine.planning.satisfied``), and asking for one by
``--ws-id`` is refused.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uet_contracts import PatchLedgerEntry, RunRecord, ToolProfile
from uet_engine.detection.hooks import DEFAULT_BUDGET_S
from uet_engine.errors import RunRefused
from uet_engine.planning import satisfied
from uet_engine.planning.graph import prerequisites_of
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.saving.lookup import resolve_run
from uet_engine.saving.store import RunStore, store_path


@dataclass(frozen=True)
class Options:
    """What ``uet run`` was asked to do."""

    ws_ids: Sequence[str] = ()
    no_deps: bool = False
    jobs: int = 1
    resume: str | None = None
    project_id: str | None = None  # the repository config's, written on every RunRecord
    profiles: Mapping[str, ToolProfile] = field(default_factory=dict)  # tool profiles by id, for AI-tool steps
    hook_budget_s: float = DEFAULT_BUDGET_S  # seconds each hook call may take


@dataclass
class Reuse:
    """A success taken from an earlier run instead of running the workstream again."""

    record: RunRecord
    entry: PatchLedgerEntry | None
    applied: bool


@dataclass
class Selection:
    """Which phases the run holds: those to run, and those whose earlier success is reused."""

    run: list[str]
    reused: dict[str, Reuse] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)  # phases left out, and why (for --dry-run)

    @property
    def phases(self) -> list[str]:
        return sorted({*self.run, *self.reused})


def _phase_of(phase_set: PhaseSet, ws_id: str) -> str:
    """The phase ``--ws-id`` names: by its workstream id, or by the phase's own id."""
    if ws_id in phase_set.specs:
        return ws_id
    try:
        return phase_set.by_workstream(ws_id).phase_id
    except KeyError:
        pass
    known = [*(spec.workstream_id for spec in phase_set.specs.values()), *phase_set.specs]
    close = difflib.get_close_matches(ws_id, known, n=3)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    raise RunRefused(
        f"unknown workstream {ws_id!r}: no phase in the spec folder has that workstream id or phase id{hint}"
    ) from None


def _reuse_of(store: RunStore | None, record: RunRecord) -> Reuse:
    """How to reuse a succeeded record: its patch entry (if it made one) and whether it reached the tree."""
    origin = record.reused_from or record.run_id
    entry = None
    applied = True
    if store is not None and record.patch_id is not None:
        entry = next((p for p in store.patches(origin) if p.patch_id == record.patch_id), None)
        runs = {record.run_id, origin}
        applied = any(
            e.event_type == "patch_applied" and e.workstream_id == record.workstream_id
            for run in runs
            for e in store.events(run)
        )
    return Reuse(record, entry, applied)


def select(phase_set: PhaseSet, options: Options, store: RunStore | None) -> Selection:
    """The phases of this run; ``RunRefused`` when the options name something that does not exist."""
    specs = phase_set.specs
    if options.resume is not None:
        if store is None:
            raise RunRefused(f"no run {options.resume} in this repository: nothing has been run here yet")
        resume = resolve_run(store, options.resume)
        selection = Selection(run=[])
        for record in store.records(resume):
            if record.phase_id not in specs or specs[record.phase_id].workstream_id != record.workstream_id:
                raise RunRefused(f"{record.workstream_id} ({record.phase_id}) of {resume} is not in the specs")
            if record.status == "succeeded":
                selection.reused[record.phase_id] = _reuse_of(store, record)
            else:
                selection.run.append(record.phase_id)
        for phase in specs:
            if phase not in selection.phases:
                selection.why_not[phase] = f"not part of {resume}"
        return selection
    already, waits = satisfied.done(phase_set), satisfied.waiting(phase_set)
    if not options.ws_ids:
        selection = Selection(run=sorted(p for p in specs if p not in already and p not in waits))
        selection.why_not.update({**already, **waits})
        return selection
    chosen = {_phase_of(phase_set, ws) for ws in options.ws_ids}
    selection = Selection(run=sorted(chosen))
    # The walk up stops at a phase that is done: what it needed is in the tree already.
    open_edges = {p: deps for p, deps in phase_set.edges.items() if p not in already}
    prerequisites = prerequisites_of(open_edges, chosen) - chosen
    for phase in sorted(chosen | prerequisites):
        if phase in waits and (phase in chosen or not options.no_deps):
            why = f"{specs[phase].workstream_id} ({phase}) {waits[phase]}"
            raise RunRefused(
                why if phase in chosen else f"cannot run {', '.join(options.ws_ids)}: its prerequisite {why}"
            )
    for phase in sorted(prerequisites & already.keys()):
        selection.why_not[phase] = already[phase]
    for phase in sorted(prerequisites - already.keys()):
        last = store.last_success(specs[phase].workstream_id) if store is not None else None
        if options.no_deps:
            selection.why_not[phase] = "a prerequisite, left out by --no-deps"
        elif last is not None:
            selection.reused[phase] = _reuse_of(store, last)
        else:
            selection.run.append(phase)
    for phase in specs:
        if phase not in chosen and phase not in prerequisites:
            selection.why_not[phase] = "not selected by --ws-id"
    selection.run.sort()
    return selection


def plan_lines(phase_set: PhaseSet, options: Options, root: Path) -> list[str]:
    """What ``--dry-run`` prints: the levels, what would run, what would be reused, what is left out and why.

    Reads the run store when there is one (to find earlier successes) and writes nothing at all.
    """
    store = RunStore.open(root, create=False, audit=False) if store_path(root).is_file() else None
    try:
        selection = select(phase_set, options, store)
    finally:
        if store is not None:
            store.close()
    lines = []
    for i, level in enumerate(phase_set.topo_levels, start=1):
        lines.append(f"level {i}: " + ", ".join(level))
    for level in phase_set.topo_levels:
        for phase in level:
            ws = phase_set.specs[phase].workstream_id
            if phase in selection.run:
                lines.append(f"would run   {phase} {ws}")
            elif phase in selection.reused:
                record = selection.reused[phase].record
                origin = record.reused_from or record.run_id
                lines.append(f"would reuse {phase} {ws}: succeeded in {origin}")
            else:
                lines.append(f"would skip  {phase} {ws}: {selection.why_not.get(phase, 'not selected')}")
    return lines
