"""load / loads / validate / to_dict / schema: the public functions of ``uet_contracts``.

Loading is parse (strict YAML or JSON) → validate against the canonical schema (formats checked) →
structure into the generated dataclass. Any failure raises ``ContractError`` naming file, line,
column and JSON path; nothing is returned half-checked.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any, TypeVar

from uet_contracts import conversion, parsing, validation
from uet_contracts.contracts import contract_for
from uet_contracts.errors import ContractError, Problem
from uet_contracts.parsing import Format

T = TypeVar("T")

# Opening without blocking: a FIFO swapped in after the check must not hang the reader (POSIX only).
_NONBLOCK = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)

_SUFFIX_FORMATS: dict[str, Format] = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}


def format_of(path: str | os.PathLike[str]) -> Format:
    """The format a file is read in, from its suffix; ``ContractError`` for any other suffix."""
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIX_FORMATS[suffix]
    except KeyError:
        raise ContractError(
            [
                Problem(
                    f"unsupported file type {suffix or '(no suffix)'!r}: use .yaml, .yml or .json",
                    file=str(path),
                )
            ]
        ) from None


def contract_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Every file below ``folder`` that holds a contract by its suffix (.yaml, .yml, .json), sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in _SUFFIX_FORMATS and p.is_file())


_KINDS = (
    (stat.S_ISDIR, "a directory, not a contract file"),
    (stat.S_ISFIFO, "a FIFO (named pipe), not a regular file: only regular files are read"),
    (stat.S_ISSOCK, "a socket, not a regular file: only regular files are read"),
    (stat.S_ISCHR, "a character device, not a regular file: only regular files are read"),
    (stat.S_ISBLK, "a block device, not a regular file: only regular files are read"),
)


def _not_regular(mode: int) -> str | None:
    """What a file of this mode is, when it is not a regular file."""
    for test, what in _KINDS:
        if test(mode):
            return f"is {what}"
    return None if stat.S_ISREG(mode) else "is not a regular file: only regular files are read"


def read_text(path: str | os.PathLike[str]) -> str:
    """The decoded text of a contract file, refusing unreadable, oversized or non-UTF-8 files.

    Only regular files are read: a FIFO, socket or device is refused by name before it is opened (a FIFO
    would block), and the file is opened without blocking and checked again, so a file swapped in between
    is caught too. Reading stops at the size cap. A file that cannot be read at all raises a
    ``ContractError`` with ``unreadable`` set.
    """
    name = str(path)

    def refuse(message: str) -> ContractError:
        return ContractError([Problem(message, file=name)], unreadable=True)

    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind is not None:
            raise refuse(kind)
        fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
        try:
            info = os.fstat(fd)
            kind = _not_regular(info.st_mode)
            if kind is not None:
                raise refuse(kind)
            if info.st_size > parsing.MAX_BYTES:
                raise parsing.oversized(info.st_size, name)
            chunks: list[bytes] = []
            size = 0
            while size <= parsing.MAX_BYTES and (chunk := os.read(fd, parsing.MAX_BYTES + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise refuse(f"cannot read file: {exc.strerror or exc}") from None
    return parsing.decode(b"".join(chunks), name)


def check_text(text: str, cls: type, format: Format = "yaml", file: str | None = None) -> tuple[Any, list[Problem]]:
    """(parsed data, problems) for text claimed to hold a ``cls``; never raises for bad input."""
    contract = contract_for(cls)
    try:
        data = parsing.parse(text, format, file)
    except ContractError as exc:
        return None, exc.errors
    return data, validation.problems(data, contract, text=text, format=format, file=file)


def check_file(path: str | os.PathLike[str], cls: type) -> list[Problem]:
    """Every problem of one file against ``cls``'s contract; [] when valid. Never raises for bad input."""
    try:
        text = read_text(path)
        fmt = format_of(path)
    except ContractError as exc:
        return exc.errors
    return check_text(text, cls, fmt, str(path))[1]


def loads(text: str, cls: type[T], format: Format = "yaml", *, file: str | None = None) -> T:
    """A ``cls`` instance from YAML or JSON text."""
    data, found = check_text(text, cls, format, file)
    if found:
        raise ContractError(found)
    return conversion.structure(data, cls)


def load(path: str | os.PathLike[str], cls: type[T]) -> T:
    """A ``cls`` instance from a file: YAML (``.yaml``/``.yml``) or JSON (``.json``) by suffix."""
    return loads(read_text(path), cls, format_of(path), file=str(path))


def check(data: Any, cls: type) -> None:
    """Raises ``ContractError`` unless plain data satisfies ``cls``'s schema; builds no instance.

    For writers that already hold the instance (``to_dict`` then ``check``): the engine's stores
    validate every row this way, so structuring it back would be wasted work on a hot path.
    """
    found = validation.problems(data, contract_for(cls))
    if found:
        raise ContractError(found)


def validate(data: Any, cls: type[T]) -> T:
    """Checks plain data (e.g. from ``json.load``) against ``cls``'s schema and returns the instance."""
    check(data, cls)
    return conversion.structure(data, cls)


def to_dict(instance: Any) -> dict[str, Any]:
    """Plain JSON data for a contract instance; optional fields that are unset are left out."""
    contract_for(type(instance))
    return conversion.unstructure(instance)


def to_json(instance: Any) -> str:
    """Compact JSON text of a contract instance (one line: fit for JSONL and database columns)."""
    return json.dumps(to_dict(instance), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def schema(cls: type) -> dict[str, Any]:
    """The canonical JSON Schema of a contract type, as a fresh dict the caller may change."""
    contract = contract_for(cls)
    return copy.deepcopy(json.loads(validation.canonical_schema_text(contract.file)))
