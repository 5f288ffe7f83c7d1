"""``.runs/errors.jsonl``: every ErrorEvent the engine records, one validated event per line, rotated by size.

Why beside the store's ``error_events`` table: the table is the record a run's saving invariant is
checked against; this file is for the people and tools that follow failures across runs (``uet errors``,
``tail -f``, a log shipper) without opening SQLite. The run's writer appends each event here right after
its row commits. Lines follow ``uet_engine.jsonl``'s rules: a crash loses at most the torn last line,
which readers report and skip. Once the file reaches ``ROTATE_BYTES`` it becomes ``errors.1.jsonl``
(then ``.2``, ``.3``; older ones are deleted), so the log never grows without bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from uet_contracts import ContractError, ErrorEvent, Problem
from uet_engine.jsonl import JsonlWriter, read_lines, rotated, torn_tail
from uet_engine.saving import codec

ERRORS_FILE: Final = Path(".runs") / "errors.jsonl"
ROTATE_BYTES: Final = 8 * 1024 * 1024
KEEP: Final = 3


def errors_path(repo: Path) -> Path:
    """Where a repository's error log lives."""
    return Path(repo) / ERRORS_FILE


class ErrorLog(JsonlWriter):
    """Appends ErrorEvents to ``<repo>/.runs/errors.jsonl`` (fsynced, rotated by size)."""

    def __init__(self, repo: Path, *, rotate_bytes: int = ROTATE_BYTES, keep: int = KEEP) -> None:
        super().__init__(errors_path(repo), rotate_bytes=rotate_bytes, keep=keep)


@dataclass
class Read:
    """What reading the error log found: the events, oldest first, and a line for each thing skipped."""

    events: list[ErrorEvent] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def read(repo: Path, *, keep: int = KEEP) -> Read:
    """Every event of the log and its rotated files, oldest first; torn tails and invalid lines are skipped.

    Each skip is named in ``problems`` (``FILE:LINE: why``, or ``FILE: torn last line (N bytes) skipped``)
    so a reader can say what it left out instead of failing on a log a crash cut short.
    """
    found = Read()
    current = errors_path(repo)
    for path in [*rotated(current, keep), current]:
        shown = path.relative_to(repo).as_posix() if path.is_relative_to(repo) else str(path)
        for number, text in read_lines(path):
            try:
                found.events.append(codec.decode(text, ErrorEvent))
            except ContractError as exc:  # the text is one line: place the problem on the file's line
                first = exc.errors[0]
                at = Problem(first.message, first.json_path, shown, number, first.column)
                found.problems.append(f"{at.format()}; line skipped")
        torn = torn_tail(path)
        if torn:
            found.problems.append(f"{shown}: torn last line ({torn} bytes) skipped")
    return found
