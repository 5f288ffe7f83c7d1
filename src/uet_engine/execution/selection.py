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

Then, unless ``force``, every phase that would run is checked against its last success (make's rule):
it is *up to date* when that success ran the same spec (``spec_sha256``), has the same inputs key
(``inputs_sha256``, computed now from the user's working tree; see ``uet_engine.execution.inputs``) and
none of its direct prerequisites runs. An up-to-date phase is reused like a prerequisite (recorded
``succeeded``, ``reused_from`` its origin, reason ``up to date``): only what changed and its dependants run.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uet_contracts import DurabilityMode, PatchLedgerEntry, RunRecord, ToolProfile
from uet_engine.detection.hooks import DEFAULT_BUDGET_S
from uet_engine.errors import RunRefused
from uet_engine.execution import inputs
from uet_engine.execution.sandbox import UNCONFINED, Sandbox
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
    force: bool = False
    snapshot: str | None = None  # the reviewed plan the run executes (``--snapshot``), as its records name it
    sandbox: Sandbox = UNCONFINED  # what confines the commands (chosen by ``sandbox.choose``); none by default
    durability: DurabilityMode = "normal"  # full: each workstream's patch file and audit lines synced as it ends


@dataclass
class Reuse:
    """A success taken from an earlier run instead of running the workstream again."""

    record: RunRecord
    entry: PatchLedgerEntry | None
    applied: bool
    up_to_date: bool = False


@dataclass
class Selection:
    """Which phases the run holds: those to run, and those whose earlier success is reused."""

    run: list[str]
    reused: dict[str, Reuse] = field(default_factory=dict)
    why_not: dict[str, str] = field(default_factory=dict)  # phases left out, and why (for --dry-run)
    keys: dict[str, str | None] = field(default_factory=dict)  # inputs keys of the phases that do not run

    def prerequisite_keys(self, phase_set: PhaseSet, phase: str) -> dict[str, str | None]:
        """Workstream id → inputs key of each direct prerequisite of ``phase``, as far as known."""
        return {phase_set.specs[q].workstream_id: self.keys.get(q) for q in phase_set.edges.get(phase, [])}

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


UP_TO_DATE = "up to date"


def select(phase_set: PhaseSet, options: Options, store: RunStore | None, root: Path | None = None) -> Selection:
    """The phases of this run; ``RunRefused`` when the options name something that does not exist.

    With ``root`` (the user's repository) and a store, phases found up to date are reused (module doc).
    """
    selection = _chosen(phase_set, options, store)
    for phase, reuse in selection.reused.items():
        selection.keys[phase] = reuse.record.inputs_sha256
    for phase in selection.why_not:
        last = store.last_success(phase_set.specs[phase].workstream_id) if store is not None else None
        selection.keys[phase] = last.inputs_sha256 if last is not None else None
    if store is not None and root is not None and not options.force and options.resume is None:
        _skip_up_to_date(phase_set, selection, store, root)
    return selection


def _skip_up_to_date(phase_set: PhaseSet, selection: Selection, store: RunStore, root: Path) -> None:
    """Move every phase that would run but is up to date into ``selection.reused``, in dependency order."""
    specs = phase_set.specs
    candidates: dict[str, RunRecord] = {}
    for phase in selection.run:
        last = store.last_success(specs[phase].workstream_id)
        if last is not None and last.inputs_sha256 and last.spec_sha256 == inputs.spec_sha256(specs[phase]):
            candidates[phase] = last
    if not candidates:
        return
    scopes = inputs.key_scopes(phase_set)
    blobs = inputs.worktree_blobs(root, sorted({p for phase in candidates for p in scopes[phase].include}))
    running = set(selection.run)
    for level in phase_set.topo_levels:
        for phase in level:
            last = candidates.get(phase)
            if last is None or any(q in running for q in phase_set.edges.get(phase, [])):
                continue
            scope = inputs.scope_digest(blobs, scopes[phase])
            if inputs.key(scope, selection.prerequisite_keys(phase_set, phase)) != last.inputs_sha256:
                continue
            running.discard(phase)
            # Its patch is in the tree (the key covers every file a patch may touch): nothing to bring in.
            selection.reused[phase] = Reuse(last, None, applied=True, up_to_date=True)
            selection.keys[phase] = last.inputs_sha256
    selection.run = [phase for phase in selection.run if phase in running]


def _chosen(phase_set: PhaseSet, options: Options, store: RunStore | None) -> Selection:
    """The phases the options select, and the earlier successes they reuse (the module doc's first rules)."""
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
        selection = select(phase_set, options, store, root)
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
                reuse = selection.reused[phase]
                origin = reuse.record.reused_from or reuse.record.run_id
                if reuse.up_to_date:
                    lines.append(f"would skip  {phase} {ws}: {UP_TO_DATE} (succeeded in {origin})")
                else:
                    lines.append(f"would reuse {phase} {ws}: succeeded in {origin}")
            else:
                lines.append(f"would skip  {phase} {ws}: {selection.why_not.get(phase, 'not selected')}")
    return lines
