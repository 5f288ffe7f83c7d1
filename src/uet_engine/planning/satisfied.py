"""Which phases a run must leave out before it starts: those already done, and those that cannot start.

The rules (see the guide "Plan and run workstreams"):

- a phase whose spec ``status`` is ``done`` or ``complete``, or that is named by ``--assume-done``, counts
  as satisfied: it is not run, and the phases that depend on it may start (without its patch: its work is
  already in the tree);
- a phase waits for every entry of its ``external_depends_on`` (a phase outside the set) until that is
  declared done with ``--assume-done``; a phase that waits is left out, and so is every phase that depends
  on it, directly or through others (unless it is itself satisfied).

Pure functions of the checked phase set: ``uet run`` and ``uet run --dry-run`` take the same decision.
"""

from __future__ import annotations

from typing import Final

from uet_engine.planning.phase_set import PhaseSet

DONE_STATUSES: Final = frozenset({"done", "complete"})


def done(phase_set: PhaseSet) -> dict[str, str]:
    """The phases of the set that count as satisfied, each with why."""
    assumed = set(phase_set.assumed_done)
    found: dict[str, str] = {}
    for phase, spec in phase_set.specs.items():
        if phase in assumed:
            found[phase] = "declared done (--assume-done)"
        elif spec.status in DONE_STATUSES:
            found[phase] = f"status {spec.status} in its spec: counts as done"
    return found


def waiting(phase_set: PhaseSet) -> dict[str, str]:
    """The phases that cannot start in this run, each with why: outside prerequisites not declared done, or
    a prerequisite that waits for one."""
    satisfied = done(phase_set)
    assumed = set(phase_set.assumed_done)
    found: dict[str, str] = {}
    for level in phase_set.topo_levels:
        for phase in level:
            if phase in satisfied:
                continue
            missing = [p for p in phase_set.specs[phase].external_depends_on or [] if p not in assumed]
            if missing:
                flags = " ".join(f"--assume-done {p}" for p in missing)
                found[phase] = f"waits for {', '.join(missing)} outside this set (pass {flags} once done)"
                continue
            blocked = next((p for p in phase_set.edges.get(phase, ()) if p in found), None)
            if blocked is not None:
                found[phase] = f"waits for {blocked}, which cannot start in this run"
    return found
