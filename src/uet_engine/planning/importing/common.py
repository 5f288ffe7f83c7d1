"""What both converters share: the batch's known ids, path lists, dependencies, text fields, enums.

Each helper reads through ``Source`` (marking what it used) and writes its notes into the file's report,
so a converter is a list of "this field becomes that" lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args, get_origin, get_type_hints

from uet_contracts import PhaseSpec
from uet_engine.planning.importing import ids
from uet_engine.planning.importing.report import Note
from uet_engine.planning.importing.source import Source, one_line


@dataclass
class Known:
    """What the whole import knows before converting any file: the phases of the set (the inputs and the
    specs already in the output folder) and the phase of each workstream id."""

    phases: set[str] = field(default_factory=set)
    by_workstream: dict[str, str] = field(default_factory=dict)


def _enum(name: str) -> frozenset[str]:
    """The values of a PhaseSpec enum field, from its generated ``Literal`` (no copy of the schema's list)."""
    hint = get_type_hints(PhaseSpec)[name]
    literal = next((arg for arg in get_args(hint) if get_origin(arg) is Literal), hint)
    return frozenset(get_args(literal))


PHASE_TYPES = _enum("phase_type")
STATUSES = _enum("status")


def text(src: Source, path: str) -> str | None:
    """A non-empty string field (stripped), marked used; a value of another type is dropped."""
    value = src.take(path)
    if value is None:
        return None
    if isinstance(value, str | int | float) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    if value not in ("", [], {}):
        src.drop(path, f"expected text, got {one_line(value)}")
    return None


def path_list(src: Source, path: str) -> list[str]:
    """A list of repository paths (a single string counts as one), normalised; bad items dropped."""
    value = src.take(path)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        src.drop(path, f"expected a list of paths, got {one_line(value)}")
        return []
    found: list[str] = []
    for index, item in enumerate(items):
        where = path if isinstance(value, str) else f"{path}[{index}]"
        repo = ids.repo_path(item) if isinstance(item, str) else None
        if repo is None:
            src.report.dropped.append(Note(where, f"{one_line(item)} is not a path inside the repository"))
        elif repo not in found:
            found.append(repo)
    return found


def id_list(src: Source, path: str) -> list[str]:
    """A list of id strings (a single string counts as one); other items dropped."""
    value = src.take(path)
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        src.drop(path, f"expected a list of ids, got {one_line(value)}")
        return []
    found = []
    for index, item in enumerate(items):
        if isinstance(item, str) and item.strip():
            found.append(item.strip())
        else:
            src.report.dropped.append(Note(f"{path}[{index}]", f"{one_line(item)} is not an id"))
    return found


def resolve(ref: str, known: Known) -> str | None:
    """The phase id a dependency names: a phase id, or a workstream id of the set, or a derived one."""
    if ref.upper().startswith("PH"):
        return ids.phase_id(ref)
    ws = ids.workstream_id(ref)
    if ws is None:
        return None
    return known.by_workstream.get(ws) or ids.phase_id_for_workstream(ws)


def dependencies(src: Source, path: str, known: Known, spec: dict[str, Any], own: str) -> None:
    """``depends_on`` and ``external_depends_on`` from a list of phase or workstream ids."""
    for index, ref in enumerate(id_list(src, path)):
        phase = resolve(ref, known)
        if phase is None:
            src.report.dropped.append(Note(f"{path}[{index}]", f"{ref!r} names no phase"))
        elif phase == own:
            src.report.dropped.append(Note(f"{path}[{index}]", "the phase itself"))
        elif phase in known.phases:
            _add(spec, "depends_on", phase)
        else:
            _add(spec, "external_depends_on", phase)
            src.report.derived.append(Note("external_depends_on", f"{phase} (from {ref!r}): not in the imported set"))


def parallel(src: Source, path: str, known: Known, spec: dict[str, Any], own: str) -> None:
    """``may_run_parallel_with`` from ids; those outside the set are dropped."""
    for index, ref in enumerate(id_list(src, path)):
        phase = resolve(ref, known)
        if phase is not None and phase in known.phases and phase != own:
            _add(spec, "may_run_parallel_with", phase)
        else:
            src.report.dropped.append(Note(f"{path}[{index}]", f"{ref!r} is not a phase of the imported set"))


def _add(spec: dict[str, Any], key: str, value: str) -> None:
    items = spec.setdefault(key, [])
    if value not in items:
        items.append(value)


def choice(src: Source, path: str, values: frozenset[str], aliases: Mapping[str, str] | None = None) -> str | None:
    """An enum field: the value (or its alias) when the schema knows it; otherwise dropped."""
    raw = text(src, path)
    if raw is None:
        return None
    key = raw.lower().replace("-", "_").replace(" ", "_")
    value = (aliases or {}).get(key, key)
    if value in values:
        if value != raw:
            src.report.derived.append(Note(path.rsplit(".", 1)[-1], f"{value} (from {raw!r})"))
        return value
    src.drop(path, f"{raw!r} is not one of {', '.join(sorted(values))}")
    return None


def hours(src: Source, path: str) -> float | None:
    """An estimate in hours: a positive number, or a range ``A-B`` (its upper bound); 0 means none."""
    value = src.take(path)
    if value is None:
        return None
    number: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        pieces = value.replace("–", "-").replace("h", "").split("-")
        try:
            number = max(float(p) for p in pieces if p.strip())
        except ValueError:
            number = None
        if number is not None and len([p for p in pieces if p.strip()]) > 1:
            src.report.derived.append(Note("estimate_hours", f"{number:g} (the upper bound of {value!r})"))
    if number is None:
        src.drop(path, f"{one_line(value)} is not a number of hours")
        return None
    if number <= 0:
        src.report.defaulted.append(Note("estimate_hours", f"absent (the source's {value!r} is a placeholder)"))
        return None
    return int(number) if number.is_integer() else number
