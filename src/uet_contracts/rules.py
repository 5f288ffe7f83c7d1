"""Rules a phase spec follows beyond its JSON Schema: checks the released schema cannot add without breaking.

Tightening a released schema (a narrower ``pattern``, a ``maximum``) is a breaking change (see
``uet_contracts.evolution``), yet some values it accepts are mistakes that only show up later, at run
time. They are refused here, at validation, with the same located one-line problems as schema errors:

- a ``file_scope`` entry with a ``.`` segment (``.``, ``./x``, ``x/./y``) is a valid path that matches
  nothing, since entries name paths below the root: it is refused with the entry to write instead;
- an entry of ``create``, ``modify`` or ``read_only`` inside ``.runs/``, ``.ledger/`` (the engine's own
  records) or any ``.git`` folder names something no workstream may ever touch (``forbidden_paths``
  may list them: that only says what the engine enforces anyway);
- an entry with a character class whose range runs backwards (``src/[z-a].py``) can never be matched and
  would only fail when a run checks its scope: it is refused with the range to write instead;
- a ``timeout_s`` over ``MAX_TIMEOUT_S`` (7 days) on a pre-flight check, step, acceptance check or fix step:
  ``1e308`` would otherwise disable the limit silently.
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Final

MAX_TIMEOUT_S: Final = 7 * 24 * 3600
"""The longest time limit a step or acceptance check may have, in seconds."""

RESERVED_FOLDERS: Final = (".runs", ".ledger")
_SCOPE_LISTS: Final = ("create", "modify", "read_only", "forbidden_paths")
_NO_WRITE_LISTS: Final = ("create", "modify", "read_only")

Found = list[tuple[str, list[str | int]]]


def _classes(segment: str) -> list[str]:
    """The bracket expressions of one path segment (``[a-z]``, ``[!0-9]``), as gitignore-style globs read
    them: a ``]`` right after the opening ``[`` (or ``[!``) belongs to the class, a ``[`` never closed is
    literal, and no class reaches over a ``/``."""
    found = []
    at = segment.find("[")
    while at != -1:
        end = at + 1
        if end < len(segment) and segment[end] in "!^":
            end += 1
        if end < len(segment) and segment[end] == "]":
            end += 1
        end = segment.find("]", end)
        if end == -1:
            break
        found.append(segment[at : end + 1])
        at = segment.find("[", end + 1)
    return found


def _backwards_range(entry: str) -> str | None:
    """The first range of ``entry``'s character classes that runs backwards (``z-a``), or None.

    A class reads as a regular-expression set once a leading ``!`` or ``^`` becomes the set's negation, as
    the scope matcher builds it; the set that does not compile names the range."""
    for segment in entry.split("/"):
        for bracket in _classes(segment):
            body = bracket[1:-1]
            regex = "[^" + body[1:] + "]" if body[:1] in ("!", "^") else bracket
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", FutureWarning)  # "possible nested set": not an error
                    re.compile(regex)
            except re.error as exc:
                return exc.msg.removeprefix("bad character range ")
    return None


def scope_entry_problem(entry: str, field: str) -> str | None:
    """Why one ``file_scope`` entry of list ``field`` is refused, or None."""
    backwards = _backwards_range(entry)
    if backwards is not None:
        return (
            f"{entry!r} has the character range {backwards!r}, which runs backwards and matches nothing: "
            f"write {backwards[::-1] if len(backwards) == 3 else 'the lower end first'}"
        )
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
