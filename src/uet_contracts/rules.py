"""Rules a phase spec follows beyond its JSON Schema: checks the released schema cannot add without breaking.

Tightening a released schema (a narrower ``pattern``, a ``maximum``) is a breaking change (see
``uet_contracts.evolution``), yet some values it accepts are mistakes that only show up later, at run
time. They are refused here, at validation, with the same located one-line problems as schema errors:

- a ``file_scope`` entry with a ``.`` segment (``.``, ``./x``, ``x/./y``) is a valid path that matches
  nothing, since entries name paths below the root: it is refused with the entry to write instead;
- an entry of ``create``, ``modify`` or ``read_only`` inside ``.runs/``, ``.ledger/`` (the engine's own
  records) or any ``.git`` folder names something no workstream may ever touch (``forbidden_paths``
  may list them: that only says what the engine enforces anyway);
- a ``timeout_s`` over ``MAX_TIMEOUT_S`` (7 days) on a pre-flight check, step, acceptance check or fix step:
  ``1e308`` would otherwise disable the limit silently.
"""

from __future__ import annotations

from typing import Any, Final

MAX_TIMEOUT_S: Final = 7 * 24 * 3600
"""The longest time limit a step or acceptance check may have, in seconds."""

RESERVED_FOLDERS: Final = (".runs", ".ledger")
_SCOPE_LISTS: Final = ("create", "modify", "read_only", "forbidden_paths")
_NO_WRITE_LISTS: Final = ("create", "modify", "read_only")

Found = list[tuple[str, list[str | int]]]


def scope_entry_problem(entry: str, field: str) -> str | None:
    """Why one ``file_scope`` entry of list ``field`` is refused, or None."""
    parts = entry.split("/")
    if any(part == "." for part in parts):
        kept = "/".join(part for part in parts if part != ".")
        instead = f"write {kept!r}" if kept.strip("/") else "use '**' for everything"
        what = "'.'" if entry in (".", "./") else f"{entry!r} has a '.' segment, which"
        return f"{what} matches nothing (entries name paths below the repository root): {instead}"
    if field in _NO_WRITE_LISTS:
        if parts[0] in RESERVED_FOLDERS:
            return f"{entry!r} is inside {parts[0]}/, the engine's own records, which no workstream may touch"
        if any(part.casefold() == ".git" for part in parts):
            return f"{entry!r} is inside a git directory (.git), which no workstream may touch"
    return None


def _timeout(owner: Any, path: list[str | int], found: Found) -> None:
    if not isinstance(owner, dict):
        return
    value = owner.get("timeout_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > MAX_TIMEOUT_S:
        found.append(
            (
                f"timeout_s {value:g} is longer than {MAX_TIMEOUT_S} seconds (7 days): give a shorter limit",
                [*path, "timeout_s"],
            )
        )


def phase_spec_problems(data: dict[str, Any]) -> Found:
    """(message, JSON path) of each rule the phase spec ``data`` breaks, in document order; [] when none."""
    found: Found = []
    scope = data.get("file_scope")
    if isinstance(scope, dict):
        for field in _SCOPE_LISTS:
            entries = scope.get(field)
            for index, entry in enumerate(entries if isinstance(entries, list) else []):
                why = scope_entry_problem(entry, field) if isinstance(entry, str) else None
                if why is not None:
                    found.append((why, ["file_scope", field, index]))
    for field in ("pre_flight", "steps"):
        tasks = data.get(field)
        for index, task in enumerate(tasks if isinstance(tasks, list) else []):
            _timeout(task, [field, index], found)
    on_failure = data.get("on_failure")
    fixes = on_failure.get("steps") if isinstance(on_failure, dict) else None
    for index, fix in enumerate(fixes if isinstance(fixes, list) else []):
        _timeout(fix, ["on_failure", "steps", index], found)
    acceptance = data.get("acceptance")
    if isinstance(acceptance, dict):
        for runner, checks in acceptance.items():
            for index, check in enumerate(checks if isinstance(checks, list) else []):
                _timeout(check, ["acceptance", runner, index], found)
    return found
