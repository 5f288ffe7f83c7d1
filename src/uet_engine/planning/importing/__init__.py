"""``uet import``'s planning half: the users' existing plans → PhaseSpec data and a report per file.

Two formats are read (``mapping`` has every field's fate): template-V3 phase plans (``v3``) and legacy
workstream JSON (``legacy``). A batch is converted in three passes, because a file's dependencies name
other files of the batch:

1. every file is read (``reading``), its format recognised (``detect``) and its ids derived (the
   phase ids of the whole batch, and of the specs already in the output folder, make up the set);
2. each file is converted; dependencies on phases of the set become ``depends_on``, the others
   ``external_depends_on``; the legacy ``dependencies.blocks`` are turned around into the blocked
   workstreams' ``depends_on``;
3. the fields no converter used go to ``extensions`` (or the dropped list), and each spec is checked
   against the PhaseSpec schema: what is written always validates.

Nothing here writes a file: the command line renders ``render.spec_yaml`` and writes it atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import uet_contracts
from uet_contracts import ContractError, PhaseSpec
from uet_engine.planning.importing import legacy, v3
from uet_engine.planning.importing.common import Known
from uet_engine.planning.importing.detect import detect
from uet_engine.planning.importing.mapping import SourceFormat
from uet_engine.planning.importing.reading import read
from uet_engine.planning.importing.report import FileReport, Note
from uet_engine.planning.importing.source import Source

FromFormat = Literal["auto", "v3", "legacy"]

__all__ = ["FileReport", "FromFormat", "import_files"]


@dataclass
class _Entry:
    report: FileReport
    data: dict[str, Any]
    format: SourceFormat
    phase: str
    workstream: str
    source: Source | None = None
    blocks: tuple[str, ...] = ()


def import_files(paths: Sequence[Path], source_format: FromFormat, existing: Mapping[str, str]) -> list[FileReport]:
    """One report per input file, in the order given; ``existing`` maps the phase ids already in the output
    folder to their files (they count as part of the set)."""
    reports: list[FileReport] = []
    entries: list[_Entry] = []
    for path in paths:
        report = FileReport(source=path.as_posix())
        reports.append(report)
        entry = _identify(path, source_format, report)
        if entry is not None:
            entries.append(entry)
    entries = _unique(entries)
    known = Known(
        phases=set(existing) | {e.phase for e in entries},
        by_workstream={e.workstream: e.phase for e in entries},
    )
    for entry in entries:
        entry.source = Source(entry.data, entry.format, entry.report)
        if entry.format == "v3":
            entry.report.spec = v3.convert(entry.source, known, entry.phase, entry.workstream)
        else:
            spec, blocks = legacy.convert(entry.source, known, entry.phase, entry.workstream)
            entry.report.spec, entry.blocks = spec, tuple(blocks)
    _turn_blocks_around(entries)
    for entry in entries:
        _finish(entry)
    return reports


def _identify(path: Path, source_format: FromFormat, report: FileReport) -> _Entry | None:
    data, problems = read(path)
    if problems:
        report.problems.extend(problems)
        return None
    fmt = detect(data) if source_format == "auto" else source_format
    if not isinstance(data, dict):
        report.fail(f"expected a mapping at the top level, got {type(data).__name__}", line=1, column=1)
        return None
    if fmt is None:
        report.fail(_not_recognised(data), line=1, column=1)
        return None
    report.format = fmt
    if fmt == "v3":
        data = v3.reshape(data, report)
    ids = v3.identity(data, report) if fmt == "v3" else legacy.identity(data, report)
    if ids is None:
        return None
    report.phase_id, report.workstream_id = ids
    return _Entry(report, data, fmt, *ids)


def _not_recognised(data: dict[str, Any]) -> str:
    for contract in uet_contracts.CONTRACTS:
        required = set(uet_contracts.schema(contract.type).get("required", ()))
        if required and required <= set(data):
            return f"already a {contract.type.__name__} (nothing to convert: uet plan reads it as it is)"
    return (
        "neither a template-V3 phase plan (phase_identity, dag_and_dependencies, …) nor a legacy workstream "
        "(id ws-…, files_scope, tasks, …); pass --from v3 or --from legacy if it is one"
    )


def _unique(entries: list[_Entry]) -> list[_Entry]:
    """The entries whose phase and workstream ids no earlier entry has; the others fail, naming the first."""
    phases: dict[str, FileReport] = {}
    workstreams: dict[str, FileReport] = {}
    kept = []
    for entry in entries:
        first = phases.get(entry.phase) or workstreams.get(entry.workstream)
        if first is not None:
            what = f"phase {entry.phase}" if entry.phase in phases else f"workstream {entry.workstream}"
            entry.report.fail(f"{what} is also what {first.source} becomes; give one of them another id")
            continue
        phases[entry.phase] = workstreams[entry.workstream] = entry.report
        kept.append(entry)
    return kept


def _turn_blocks_around(entries: list[_Entry]) -> None:
    """``A.dependencies.blocks: [B]`` means B depends on A: add A to B's depends_on."""
    by_phase = {e.phase: e for e in entries}
    for entry in entries:
        for blocked in entry.blocks:
            other = by_phase.get(blocked)
            if other is None or other.report.spec is None:
                continue
            depends = other.report.spec.setdefault("depends_on", [])
            if entry.phase not in depends:
                depends.append(entry.phase)
                note = f"{entry.phase} (it names {other.workstream} in dependencies.blocks, {entry.report.source})"
                other.report.derived.append(Note("depends_on", note))


@cache
def _field_order() -> tuple[str, ...]:
    """PhaseSpec's fields in the schema's order (the order the written YAML follows)."""
    return tuple(uet_contracts.schema(PhaseSpec)["properties"])


def _finish(entry: _Entry) -> None:
    """Extensions from the leftovers, fields in schema order, and the schema's verdict."""
    report, source = entry.report, entry.source
    assert report.spec is not None and source is not None
    extensions = source.leftovers()
    if extensions:
        report.spec["extensions"] = extensions
    report.spec = {key: report.spec[key] for key in _field_order() if key in report.spec}
    try:
        uet_contracts.check(report.spec, PhaseSpec)
    except ContractError as exc:
        for problem in exc.errors:
            report.fail(f"the converted spec is not valid: {problem.message}", problem.json_path)
