"""The input of one conversion, with a record of every field the converter used.

Why: "nothing is lost silently" must hold by construction, not by care in each converter. A converter
reads fields through ``Source.take`` (which marks them used); afterwards ``leftovers`` walks the whole
input and sends every field it did not use to ``extensions`` or to the dropped list, as the mapping table
says (an unknown field is kept and reported as such).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from uet_engine.planning.importing.mapping import SourceFormat, has_rules_below, rule_for
from uet_engine.planning.importing.report import FileReport, Note

_INDEX = re.compile(r"\[\d+\]")


def normalised(path: str) -> str:
    """The table form of a concrete path: ``steps[2].id`` → ``steps[].id``."""
    return _INDEX.sub("[]", path)


def one_line(value: Any, limit: int = 120) -> str:
    """A value as a short single line, for report notes and the spec's header comment."""
    text = value if isinstance(value, str) else repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Source:
    """A parsed input file (a mapping) and the paths of the fields a converter took from it."""

    def __init__(self, data: dict[str, Any], fmt: SourceFormat, report: FileReport) -> None:
        self.data = data
        self.format = fmt
        self.report = report
        self.used: set[str] = set()
        self._kept: dict[str, Any] = {}

    def get(self, path: str) -> Any:
        """The value at a concrete dotted path (``a.b``, ``steps[0].id``), None when any part is missing."""
        node: Any = self.data
        for part in _parts(path):
            if isinstance(part, int):
                node = node[part] if isinstance(node, list) and part < len(node) else None
            else:
                node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                return None
        return node

    def take(self, path: str) -> Any:
        """``get``, marking the path used (its whole value: nothing under it is kept apart)."""
        value = self.get(path)
        if value is not None:
            self.used.add(path)
        return value

    def items(self, path: str) -> Iterator[tuple[str, Any]]:
        """``(concrete path, item)`` for each item of the list at ``path`` (none when it is not a list)."""
        value = self.get(path)
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield f"{path}[{index}]", item

    def drop(self, path: str, why: str) -> None:
        """Mark a field used and report it dropped (a mapped field whose value could not be used)."""
        self.used.add(path)
        self.report.dropped.append(Note(path, why))

    def keep(self, path: str, value: Any, why: str) -> None:
        """Mark a field used and keep its value in extensions (a part of a mapped field that has no place)."""
        self.used.add(path)
        self._kept[path] = value
        self.report.kept.append(Note(path, why))

    def leftovers(self) -> dict[str, Any]:
        """Every field not used, as the table says: the extensions map to write (kept fields by path);
        dropped ones go to the report."""
        extensions: dict[str, Any] = dict(self._kept)
        self._walk(self.data, "", extensions)
        return extensions

    def _walk(self, node: Any, prefix: str, extensions: dict[str, Any]) -> None:
        children: list[tuple[str, Any]]
        if isinstance(node, dict):
            children = [(f"{prefix}.{key}" if prefix else str(key), value) for key, value in node.items()]
        else:
            children = [(f"{prefix}[{index}]", value) for index, value in enumerate(node)]
        for path, value in children:
            if path in self.used:
                continue
            table_path = normalised(path)
            rule = rule_for(self.format, table_path)
            if rule is not None and rule.fate == "dropped":
                self.report.dropped.append(Note(path, rule.note))
            elif rule is not None:
                extensions[path] = value
                why = f"not used here: {rule.note or 'no value to map'}" if rule.fate == "mapped" else rule.note
                self.report.kept.append(Note(path, why))
            elif isinstance(value, dict | list) and has_rules_below(self.format, table_path):
                if value:
                    self._walk(value, path, extensions)
                else:
                    extensions[path] = value
                    self.report.kept.append(Note(path, "empty"))
            else:
                extensions[path] = value
                self.report.kept.append(Note(path, "unknown field"))


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        name, *indices = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(index.rstrip("]")) for index in indices)
    return parts
