"""The one exception every contract failure raises, and the problem records it carries.

A caller gets either a valid, typed instance or a ``ContractError`` whose ``errors`` name each problem
with its file, line, column (1-based, where the input had lines) and JSON path, so a person can go
straight to the spot. ``str(error)`` is the first problem as one line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input."""

    message: str
    json_path: str = "$"
    file: str | None = None
    line: int | None = None
    column: int | None = None

    def format(self) -> str:
        """``PATH:LINE:COL: JSON-PATH: message``, the line format of ``uet validate``."""
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        return f"{where}: {self.json_path}: {self.message}"


class ContractError(ValueError):
    """Input that does not satisfy its contract: unreadable, unparsable, or invalid.

    ``unreadable`` is true when the input could not be read at all (no permission, not a regular file, an
    I/O error): a usage problem (exit 2 at the command line) rather than a finding about its content.
    """

    def __init__(self, errors: list[Problem], *, unreadable: bool = False) -> None:
        if not errors:
            raise ValueError("ContractError needs at least one problem")
        self.errors = list(errors)
        self.unreadable = unreadable
        super().__init__(self.errors[0].format())

    def with_file(self, file: str) -> ContractError:
        """The same problems attributed to ``file`` (for errors raised before a file was known)."""
        problems = [Problem(p.message, p.json_path, p.file or file, p.line, p.column) for p in self.errors]
        return ContractError(problems, unreadable=self.unreadable)


def json_path(parts: Iterable[str | int]) -> str:
    """``$.a.b[0]`` from a sequence of keys and indices; keys that are not identifiers are quoted."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{part!r}]"
    return out
