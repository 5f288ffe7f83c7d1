"""Turns the text of a contract file into plain JSON data, refusing what YAML and JSON let slip.

PyYAML alone keeps the last of duplicate keys, expands aliases without limit (billion laughs) and
follows YAML 1.1, where ``no`` is false and ``2026-11-23`` is a date. Contract files get a stricter
reading: duplicate keys, aliases, non-string keys, NaN and several documents are refused; only YAML
1.2 core scalars are resolved (``true``/``false``, numbers, ``null``); everything else stays a
string. Every refusal is a ``ContractError`` with the line and column of the offending spot.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, Literal, NoReturn

import yaml

from uet_contracts.errors import ContractError, Problem, json_path

MAX_BYTES = 1_000_000
"""Contract files larger than this are refused before parsing (a phase spec is a few kB)."""

Format = Literal["yaml", "json"]


class _PyParser(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer):
    """PyYAML's pure-Python parser: slower, but iterative and without libyaml's fixed nesting limit."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)


try:
    # Not ``from yaml import CParser``: the yaml package does not re-export it, and that import
    # silently fell back to the pure-Python parser (about 8x slower).
    from yaml.cyaml import CParser as _Parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _Parser = _PyParser  # type: ignore[misc, assignment]


_STR, _INT, _FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL, _NULL, _MERGE = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"
_SEQ, _MAP = "tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"
_DEFAULT_TAGS: dict[type, str] = {yaml.ScalarNode: _STR, yaml.SequenceNode: _SEQ, yaml.MappingNode: _MAP}


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema scalars only: no yes/no/on/off booleans, no dates, no sexagesimals."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        """``BaseResolver.resolve`` without path resolvers (contract files use none).

        libyaml's composer calls this once per node, so it is the hot path of reading a file.
        """
        if kind is yaml.ScalarNode and implicit[0]:
            for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                if regexp.match(value):
                    return str(tag)
        return _DEFAULT_TAGS[kind]


_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+.0123456789"),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
# Recognised only so that the constructor can refuse it by name (instead of reading a key '<<').
_CoreResolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"])

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences accepted. libyaml's composer recurses in C, so a file
of a few hundred thousand ``[`` would crash the process; contract files nest fewer than ten levels."""


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class StrictLoader(_Parser, _CoreResolver):
    """The parser for contract files: libyaml's where present, with the YAML 1.2 core resolver.

    It only composes nodes; ``_build`` turns them into data (PyYAML's constructor machinery is both
    slower and more permissive than contract files need).
    """

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _CoreResolver.__init__(self)


INT_MIN, INT_MAX = -(2**63), 2**63 - 1
"""Integers outside this range are refused: contract numbers fit in 64 bits (SQLite, JSON Schema tools)."""


class _BadNumber(ValueError):
    """A number a contract file may not hold; ``literal`` is its text as written."""

    def __init__(self, message: str, literal: str) -> None:
        super().__init__(message)
        self.literal = literal


def _shown(text: str) -> str:
    digits = sum(c.isdigit() for c in text)
    return text if len(text) <= 24 else f"{text[:12]}… ({digits:,} digits)"


def _int(text: str) -> int:
    """An integer literal, refused (``_BadNumber``) outside 64 bits without converting a huge one first."""
    body = text.lstrip("+-")
    value = None
    if len(body) <= 20:
        value = int(text, 0) if body.startswith(("0o", "0x")) else int(text)
    if value is None or not INT_MIN <= value <= INT_MAX:
        raise _BadNumber(
            f"integer {_shown(text)} is out of range: contract numbers must fit in 64 bits ({INT_MIN} to {INT_MAX})",
            text,
        )
    return value


def _float(text: str) -> float:
    """A decimal literal, refused (``_BadNumber``) when a 64-bit float cannot hold it (it would be infinite)."""
    value = float(text)
    if not math.isfinite(value):
        message = f"number {_shown(text)} is beyond the range of a 64-bit float (it would read as infinity)"
        raise _BadNumber(message, text)
    return value


_SCALARS: dict[str, Any] = {
    _STR: str,
    _INT: _int,
    _FLOAT: _float,
    _BOOL: lambda text: text.lower() == "true",
    _NULL: lambda text: None,
}


def _build(node: yaml.Node, path: list[str | int], seen: dict[int, list[str | int]]) -> Any:
    """Plain data from a composed node, refusing aliases, merge keys, duplicate and non-string keys, tags.

    libyaml hands back the anchored node itself wherever an alias points at it, so a node met twice is
    an alias (reported where its anchor is). Nesting is bounded by ``_refuse_deep`` before composing.
    """
    if id(node) in seen:
        line, col = _mark(node)
        message = "YAML aliases/anchors are not allowed in contract files (write the value out)"
        raise _Refused(message, line, col, seen[id(node)])
    seen[id(node)] = path
    if isinstance(node, yaml.ScalarNode):
        convert = _SCALARS.get(node.tag)
        if convert is not None:
            try:
                return convert(node.value)
            except _BadNumber as exc:
                _refuse(str(exc), node, path)
    elif isinstance(node, yaml.MappingNode) and node.tag == _MAP:
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            part = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
            if key_node.tag == _MERGE:
                _refuse("YAML merge keys ('<<') are not allowed in contract files", key_node, [*path, part])
            key = _build(key_node, [*path, part], seen)
            if not isinstance(key, str):
                _refuse(f"mapping keys must be strings, got {type(key).__name__} {key!r}", key_node, [*path, part])
            if key in mapping:
                _refuse(f"duplicate key {key!r} (each key may appear once)", key_node, [*path, key])
            mapping[key] = _build(value_node, [*path, key], seen)
        return mapping
    elif isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
        return [_build(child, [*path, index], seen) for index, child in enumerate(node.value)]
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    _refuse(f"YAML tag {tag} is not allowed in contract files (write a plain value)", node, path)


def _refuse(message: str, node: yaml.Node, path: list[str | int]) -> NoReturn:
    raise _Refused(message, *_mark(node), path)


class _Refused(Exception):
    """A refusal found while reading, with its position and (where known) its JSON path."""

    def __init__(self, message: str, line: int | None, column: int | None, path: list[str | int] | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column
        self.path: list[str | int] = path or []


def oversized(size: int, file: str | None = None) -> ContractError:
    """The refusal of a file of ``size`` bytes, over ``MAX_BYTES``."""
    return ContractError(
        [Problem(f"file is {size:,} bytes, over the {MAX_BYTES:,}-byte limit for contract files", file=file)]
    )


def decode(raw: bytes, file: str | None = None) -> str:
    """UTF-8 text of a file (a BOM is allowed), refusing oversized or undecodable input."""
    if len(raw) > MAX_BYTES:
        raise oversized(len(raw), file)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ContractError(
            [
                Problem(
                    f"not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)",
                    file=file,
                    line=line,
                    column=column,
                )
            ]
        ) from None


def _yaml_problem(exc: yaml.YAMLError, text: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    if context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        context += f" that starts at line {context_mark.line + 1}, column {context_mark.column + 1}"
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Problem(message)
    lines = text.splitlines()
    at = lines[mark.line][mark.column : mark.column + 1] if mark.line < len(lines) else ""
    if at == "\t" or "\\t" in message:
        message += "; indent with spaces, not tabs"
    return Problem(message, line=mark.line + 1, column=mark.column + 1)


def _nodes(root: yaml.Node) -> Iterator[tuple[yaml.Node, list[str | int]]]:
    """Every node under ``root`` (mapping keys included) with its JSON path, in document order, once each."""
    seen: set[int] = set()
    stack: list[tuple[yaml.Node, list[str | int]]] = [(root, [])]
    while stack:
        node, path = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node, path
        children: list[tuple[yaml.Node, list[str | int]]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                part = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                children += [(key_node, [*path, part]), (value_node, [*path, part])]
        elif isinstance(node, yaml.SequenceNode):
            children = [(child, [*path, index]) for index, child in enumerate(node.value)]
        stack.extend(reversed(children))


def _refuse_deep(text: str) -> None:
    """Refuses nesting deeper than ``MAX_DEPTH`` before libyaml composes (and recurses into) it.

    Every level of nesting needs its own ``[``, ``{``, ``-``, ``:`` or ``?``, so a file with fewer
    of those than the limit is let through without the (slower) event scan.
    """
    if sum(text.count(c) for c in "[{-:?") <= MAX_DEPTH:
        return
    try:
        _scan_depth(_Parser, text)
    except yaml.YAMLError as exc:
        # Newer libyaml stops at its own nesting limit while scanning ahead, before our count
        # reaches MAX_DEPTH; the pure-Python scanner has no such limit and finds the exact spot.
        if "nesting depth" not in str(exc):
            raise
        _scan_depth(_PyParser, text)


def _scan_depth(parser_class: type, text: str) -> None:
    parser = parser_class(text)
    try:
        depth = 0
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    raise _Refused(
                        f"nesting deeper than {MAX_DEPTH} levels (contract files nest a few levels)",
                        mark.line + 1 if mark else None,
                        mark.column + 1 if mark else None,
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    finally:
        parser.dispose()


def _read_yaml(text: str) -> Any:
    """Plain data from one YAML document; raises ``_Refused`` or ``yaml.YAMLError``."""
    _refuse_deep(text)
    loader = StrictLoader(text)
    try:
        if not loader.check_node():
            raise _Refused("file is empty: expected a mapping of contract fields", None, None)
        root = loader.get_node()
        if loader.check_node():
            extra = loader.get_node()
            line, col = _mark(extra) if extra is not None else (None, None)
            raise _Refused("more than one YAML document in the file (one contract per file)", line, col)
        return _build(root, [], {}) if root is not None else None
    finally:
        loader.dispose()


def parse_yaml(text: str, file: str | None = None) -> Any:
    """One YAML document as plain data, read strictly (see the module docstring)."""
    try:
        return _read_yaml(text)
    except _Refused as exc:
        raise ContractError([Problem(exc.message, json_path(exc.path), file, exc.line, exc.column)]) from None
    except yaml.YAMLError as exc:
        problem = _yaml_problem(exc, text)
        raise ContractError([Problem(problem.message, file=file, line=problem.line, column=problem.column)]) from None
    except RecursionError:  # pragma: no cover - _refuse_deep keeps nesting far below the limit
        raise ContractError([Problem("YAML nesting is too deep", file=file)]) from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use a number or null)")


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} (each key may appear once)")
        out[key] = value
    return out


# A \uD800-\uDFFF escape: JSON can spell a lone surrogate, which is not a character (and cannot be stored
# as UTF-8); the data is searched for one only when the text holds such an escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
# A high surrogate escape not followed by a low one, or a low one not preceded by a high one: where to point.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
)


def parse_json(text: str, file: str | None = None) -> Any:
    """One JSON document; NaN/Infinity, duplicate keys, numbers out of range and lone surrogates are refused."""
    try:
        data = json.loads(
            text,
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_pairs,
            parse_int=_int,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise ContractError(
            [Problem(f"JSON syntax error: {exc.msg}", file=file, line=exc.lineno, column=exc.colno)]
        ) from None
    except _BadNumber as exc:
        raise ContractError([_json_refusal(text, str(exc), file, exc.literal)]) from None
    except ValueError as exc:
        raise ContractError([_json_refusal(text, str(exc), file)]) from None
    except RecursionError:
        raise ContractError([Problem("JSON nesting is too deep", file=file)]) from None
    if _SURROGATE_ESCAPE.search(text):
        where = _lone_surrogate(data)
        if where is not None:
            path, shown = where
            line = column = None
            lone = _LONE_SURROGATE.search(text)
            if lone is not None:
                line = text.count("\n", 0, lone.start()) + 1
                column = lone.start() - (text.rfind("\n", 0, lone.start()) + 1) + 1
            message = f"{shown} holds a lone surrogate escape (\\ud800-\\udfff), which is not a character"
            raise ContractError([Problem(message, json_path(path), file, line, column)])
    return data


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _lone_surrogate(data: Any) -> tuple[list[str | int], str] | None:
    """The JSON path of the first string (key or value) holding a lone surrogate, and what it is."""
    stack: list[tuple[Any, list[str | int]]] = [(data, [])]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _has_lone_surrogate(value):
                return path, "the string"
        elif isinstance(value, dict):
            for key, child in value.items():
                if _has_lone_surrogate(key):
                    return path, f"the key at {json_path(path)}"
                stack.append((child, [*path, key]))
        elif isinstance(value, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(value))
    return None


_JSON_CONSTANTS = ("NaN", "Infinity", "-Infinity")


def _json_refusal(text: str, message: str, file: str | None, literal: str | None = None) -> Problem:
    """Where in ``text`` a duplicate key, NaN/Infinity or a number out of range is: the json module does not say.

    JSON is YAML's flow style, so the strict YAML reader finds the same duplicate key with its
    position and path; a constant (or the ``literal`` of a refused number) is the first plain
    (unquoted) scalar of that text.
    """
    wanted = (literal,) if literal is not None else _JSON_CONSTANTS
    where = Problem(message, file=file)
    try:
        if message.startswith("duplicate key"):
            _read_yaml(text)
        else:
            _refuse_deep(text)
            loader = StrictLoader(text)
            try:
                root = loader.get_single_node()
            finally:
                loader.dispose()
            for node, path in _nodes(root) if root is not None else ():
                if isinstance(node, yaml.ScalarNode) and not node.style and node.value in wanted:
                    return Problem(message, json_path(path), file, *_mark(node))
    except _Refused as exc:
        if exc.message == message:
            return Problem(message, json_path(exc.path), file, exc.line, exc.column)
    except (yaml.YAMLError, RecursionError):
        pass
    return where


def parse(text: str, format: Format, file: str | None = None) -> Any:
    """Plain data from text in the given format."""
    if format == "json":
        return parse_json(text, file)
    if format != "yaml":
        raise ValueError(f"unknown format {format!r}: use 'yaml' or 'json'")
    return parse_yaml(text, file)


def _compose(text: str) -> yaml.Node | None:
    try:
        _refuse_deep(text)
        loader = StrictLoader(text)
    except (_Refused, yaml.YAMLError):
        return None
    try:
        node: yaml.Node | None = loader.get_single_node()
        return node
    except yaml.YAMLError:
        return None
    finally:
        loader.dispose()


class Locator:
    """Positions of nodes in one text, the document composed once and each mapping's keys indexed once.

    Locating every problem of a file costs time linear in the file and in the number of problems, where
    composing per problem (and scanning a mapping's keys per lookup) grew with their product.
    """

    def __init__(self, text: str) -> None:
        self.root = _compose(text)
        self._keys: dict[int, dict[str, tuple[yaml.Node, yaml.Node]]] = {}

    def _index(self, node: yaml.MappingNode) -> dict[str, tuple[yaml.Node, yaml.Node]]:
        found = self._keys.get(id(node))
        if found is None:
            found = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    found.setdefault(key_node.value, (key_node, value_node))
            self._keys[id(node)] = found
        return found

    def _walk(self, path: list[str | int]) -> tuple[yaml.Node, bool]:
        """The node at ``path``, or the deepest one that exists; and whether the whole path existed."""
        assert self.root is not None
        node = self.root
        for part in path:
            child = None
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                pair = self._index(node).get(part)
                child = pair[1] if pair is not None else None
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                child = node.value[part]
            if child is None:
                return node, False
            node = child
        return node, True

    def at(self, path: list[str | int], key: str | None = None) -> tuple[int | None, int | None]:
        """Line and column (1-based) of the node at ``path`` (see ``locate``)."""
        if self.root is None:
            return None, None
        node, complete = self._walk(path)
        if key is not None and complete and isinstance(node, yaml.MappingNode):
            pair = self._index(node).get(key)
            if pair is not None:
                return _mark(pair[0])
        return _mark(node)


def locate(text: str, path: list[str | int], key: str | None = None) -> tuple[int | None, int | None]:
    """Line and column (1-based) of the node at a JSON path, as far down the path as exists.

    With ``key``, the position of that key inside the mapping at ``path`` (for unknown fields).
    Used only after a validation failure, so composing the document again costs only on the error
    path. JSON is composed by the YAML parser too (JSON is YAML's flow style). For many problems of
    one text, use one ``Locator``.
    """
    return Locator(text).at(path, key)
