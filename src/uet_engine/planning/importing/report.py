"""The import report: per input file, what it became and what a person must still do.

Results are data (``FileReport``); the text summary, the ``--json`` report and the comment at the top
of each written spec are renderers over the same data, so they always say the same thing.

Outcomes:

- ``converted``: every field was mapped or kept, and the spec has steps and runnable acceptance checks;
- ``converted_with_losses``: a spec was written, but something was dropped or is left to fill in by hand
  (listed under ``dropped`` and ``to_do``);
- ``not_convertible``: no spec was written (the file cannot be parsed, is not one of the two formats,
  lacks the ids a spec needs, or clashes with another input); ``problems`` says why, located.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from uet_contracts import Problem
from uet_engine.planning.importing.mapping import FORMAT_NAMES, SourceFormat

Outcome = Literal["converted", "converted_with_losses", "not_convertible"]


@dataclass(frozen=True)
class Note:
    """One line of the report: a PhaseSpec field (or a source path) and what happened to it."""

    field: str
    detail: str


@dataclass
class FileReport:
    """Everything ``uet import`` learnt about one input file."""

    source: str
    format: SourceFormat | None = None
    phase_id: str | None = None
    workstream_id: str | None = None
    output: str | None = None
    derived: list[Note] = field(default_factory=list)
    defaulted: list[Note] = field(default_factory=list)
    kept: list[Note] = field(default_factory=list)
    dropped: list[Note] = field(default_factory=list)
    to_do: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    spec: dict[str, Any] | None = None  # the PhaseSpec data written (None when not convertible)

    @property
    def outcome(self) -> Outcome:
        if self.spec is None or self.problems:
            return "not_convertible"
        return "converted_with_losses" if self.dropped or self.to_do else "converted"

    def fail(self, message: str, json_path: str = "$", line: int | None = None, column: int | None = None) -> None:
        """Record why the file cannot be converted (no spec is written for it)."""
        self.problems.append(Problem(message, json_path, self.source, line, column))
        self.spec = None

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` form of this file's report (stable keys, lists in the order found)."""

        def notes(items: list[Note]) -> list[dict[str, str]]:
            return [{"field": n.field, "detail": n.detail} for n in items]

        return {
            "source": self.source,
            "format": self.format,
            "outcome": self.outcome,
            "output": self.output if self.outcome != "not_convertible" else None,
            "phase_id": self.phase_id,
            "workstream_id": self.workstream_id,
            "derived": notes(self.derived),
            "defaulted": notes(self.defaulted),
            "kept": notes(self.kept),
            "dropped": notes(self.dropped),
            "to_do": list(self.to_do),
            # the located-problem shape of every --json (uet_engine.cli.output.problem_json), and the text line
            "problems": [
                {
                    "filename": p.file,
                    "line": p.line,
                    "column": p.column if p.line is None else (p.column or 1),
                    "path": p.json_path,
                    "message": p.message,
                    "text": p.format(),
                }
                for p in self.problems
            ],
        }

    def header(self) -> str:
        """The comment block that opens the written spec: its source and every derived, defaulted, kept
        and dropped field, and what is left to do."""
        kind = FORMAT_NAMES[self.format] if self.format else "unknown format"
        lines = [f"Imported by `uet import` from {self.source} ({kind}).", "Review it; this comment may be deleted."]
        for title, items in (("Derived", self.derived), ("Defaulted", self.defaulted), ("Dropped", self.dropped)):
            if items:
                lines.append(f"{title}:")
                lines.extend(f"  {n.field}: {n.detail}" for n in items)
        if self.kept:
            lines.append("Kept unchanged in extensions:")
            lines.extend(f"  {n.field}" + (f" ({n.detail})" if n.detail else "") for n in self.kept)
        if self.to_do:
            lines.append("To fill in by hand:")
            lines.extend(f"  - {item}" for item in self.to_do)
        return "".join(f"# {line}".rstrip() + "\n" for line in lines)

    def summary_lines(self) -> list[str]:
        """The human report of this file: one headline, then the losses, to-dos and problems."""
        if self.outcome == "not_convertible":
            return [f"{self.source}: not convertible", *(f"  {p.format()}" for p in self.problems)]
        head = f"{self.source}: {self.outcome.replace('_', ' ')} -> {self.output}"
        lines = [head]
        lines.extend(f"  dropped {n.field}: {n.detail}" for n in self.dropped)
        lines.extend(f"  to do: {item}" for item in self.to_do)
        return lines


def totals(reports: list[FileReport]) -> dict[Outcome, int]:
    """How many files had each outcome (every outcome listed, zero included)."""
    counts: dict[Outcome, int] = {"converted": 0, "converted_with_losses": 0, "not_convertible": 0}
    for report in reports:
        counts[report.outcome] += 1
    return counts
