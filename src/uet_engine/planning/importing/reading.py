"""Reads one input file of ``uet import`` into plain data, or says where it cannot be read.

YAML goes through ``uet_contracts.parse``, the strict reader of contract files (duplicate keys, anchors,
a second document and YAML 1.1 surprises are refused with their line and column). JSON is read by the
same strict reader first (fast, and it locates duplicate keys and NaN); what it cannot parse is read
with json5, the JSON5 parser: a superset of JSON that allows the ``/* */`` and ``//`` comments (and
trailing commas) of the users' JSONC files. json5 is pure Python (about 10 ms for a workstream file),
hence only the second try. Placeholder pseudo-JSON (``<TBD>``, ``...``) fails both, with the line and
column json5 names.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import uet_contracts
from uet_contracts import ContractError, Problem

JSON_SUFFIXES = frozenset({".json", ".jsonc", ".json5"})
YAML_SUFFIXES = frozenset({".yaml", ".yml"})
SUFFIXES = JSON_SUFFIXES | YAML_SUFFIXES

_JSON5_WHERE = re.compile(r"^<string>:(?P<line>\d+) (?P<what>.*) at column (?P<column>\d+)$")


def read(path: Path) -> tuple[Any, list[Problem]]:
    """(the file's data, []) or (None, the problems that stop it from being read)."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        return None, [
            Problem(f"unsupported file type {suffix or '(no suffix)'!r}: use .yaml, .yml or .json", file=name)
        ]
    try:
        text = uet_contracts.read_text(path)
        if suffix in YAML_SUFFIXES:
            return uet_contracts.parse(text, "yaml", name), []
    except ContractError as exc:
        return None, exc.errors
    try:  # most files are plain JSON: the strict reader is fast and locates a duplicate key or NaN
        return uet_contracts.parse(text, "json", name), []
    except ContractError as strict:
        if not strict.errors[0].message.startswith("JSON syntax error"):
            return None, strict.errors
    return _json5(text, name)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use a number or null)")


def _json5(text: str, name: str) -> tuple[Any, list[Problem]]:
    import json5  # only the import command reads JSONC

    if not text.strip():
        return None, [Problem("file is empty: expected a JSON object", file=name)]
    try:
        return json5.loads(text, allow_duplicate_keys=False, parse_constant=_refuse_constant), []
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        where = _JSON5_WHERE.match(message)
        if where is None:
            return None, [Problem(f"JSON syntax error: {message}", file=name)]
        line, column = int(where["line"]), int(where["column"])
        return None, [Problem(f"JSON syntax error: {where['what']}", file=name, line=line, column=column)]
    except RecursionError:
        return None, [Problem("JSON nesting is too deep", file=name)]
