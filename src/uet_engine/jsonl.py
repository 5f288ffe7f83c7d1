"""JSON Lines files of contract records that survive a crash: whole validated lines, a torn tail cut or skipped.

Why a domain module: the audit log (saving), the error log ``.runs/errors.jsonl`` (saving) and the files
plugin authors write (through ``uet_engine.detection.plugin_kit``) all need the same three promises, and
the layers contract lets both saving and detection import a module at the package root, never each other:

- every line is one contract instance, validated against its schema before it is written;
- each batch is written with one ``write`` on an ``O_APPEND`` descriptor and (when durable) fsynced, so a
  crash can at worst leave the *last* line torn (no trailing newline); the next writer cuts such a tail
  off before appending, so a torn line never glues onto the next record;
- readers see every complete line and can tell how many bytes of torn tail they skipped.

A writer may rotate by size: once the file holds ``rotate_bytes`` or more, it is renamed ``NAME.1.jsonl``
(older ones shift to ``.2``, ``.3``… and the oldest beyond ``keep`` is deleted) before the next append.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import uet_contracts

# One encoder for every write: json.dumps with options builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)
# fdatasync flushes the bytes and the new size, all a reader needs, without the inode's times.
sync = getattr(os, "fdatasync", os.fsync)


def encode(instance: Any) -> str:
    """Compact, key-sorted JSON of a contract instance after it passed its schema (``ContractError`` if not)."""
    return checked(instance)[1]


def checked(instance: Any) -> tuple[dict[str, Any], str]:
    """The instance's JSON data and ``encode``'s text of it, after it passed its schema."""
    data = uet_contracts.to_dict(instance)
    uet_contracts.check(data, type(instance))
    return data, _ENCODER.encode(data)


def compact(value: Any) -> str:
    """Plain JSON data as the records write it: compact, keys sorted (for columns beside a record)."""
    return _ENCODER.encode(value)


def repair(path: Path) -> int:
    """Cuts a torn last line (one without a newline) off ``path``; returns the bytes removed."""
    if not path.exists():
        return 0
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        keep = size - torn_bytes(handle, size)
        if keep == size:
            return 0
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
        return size - keep


def torn_bytes(handle: BinaryIO, size: int) -> int:
    """How many bytes at the end of an open binary file follow its last newline (0 for a whole file)."""
    return size - (last_newline(handle, size) + 1)


def last_newline(handle: BinaryIO, end: int) -> int:
    """The offset of the last newline before ``end`` in an open binary file, or -1 when there is none.

    Read backwards block by block: the line it ends is at most one record long, whatever the file's size.
    """
    while end > 0:
        start = max(0, end - 65536)
        handle.seek(start)
        block = handle.read(end - start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            return start + newline
        end = start
    return -1


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of every complete line; a torn last line is left out."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return
    lines = raw.split(b"\n")
    # The element after the last newline is "" for a whole file, or the torn tail: never a record.
    for number, line in enumerate(lines[:-1], start=1):
        yield number, line.decode("utf-8", errors="replace")


def torn_tail(path: Path) -> int:
    """The bytes of torn last line ``read_lines`` leaves out of ``path`` (0 when whole or missing)."""
    try:
        with open(path, "rb") as handle:
            return torn_bytes(handle, handle.seek(0, os.SEEK_END))
    except FileNotFoundError:
        return 0


def rotated(path: Path, keep: int) -> list[Path]:
    """``path``'s rotated files that exist, oldest first (``NAME.<keep>.jsonl`` … ``NAME.1.jsonl``)."""
    return [p for p in (_rotation(path, n) for n in range(keep, 0, -1)) if p.exists()]


def _rotation(path: Path, number: int) -> Path:
    return path.with_name(f"{path.stem}.{number}{path.suffix}")


class JsonlWriter:
    """Appends validated contract instances to one JSON Lines file; see the module docstring.

    ``rotate_bytes`` (None: never) and ``keep`` set the rotation. The descriptor stays open between
    appends; ``close`` it (or use ``with``) when done.
    """

    def __init__(self, path: Path, *, rotate_bytes: int | None = None, keep: int = 3) -> None:
        self.path = Path(path)
        self.rotate_bytes = rotate_bytes
        self.keep = keep
        self._fd: int | None = None

    def _open(self) -> int:
        if self._fd is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            repair(self.path)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    def _rotate_if_full(self) -> None:
        if self.rotate_bytes is None:
            return
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size < self.rotate_bytes:
            return
        self.close()
        _rotation(self.path, self.keep).unlink(missing_ok=True)
        for number in range(self.keep - 1, 0, -1):
            older = _rotation(self.path, number)
            if older.exists():
                os.replace(older, _rotation(self.path, number + 1))
        os.replace(self.path, _rotation(self.path, 1))

    def append(self, instance: Any, *, durable: bool = True) -> None:
        """Validates ``instance`` and appends it as one line; durably (write + fsync) unless told otherwise."""
        self.extend([instance], durable=durable)

    def extend(self, instances: Iterable[Any], *, durable: bool = True) -> None:
        """Validates every instance first, then appends them all with one write and (when ``durable``) one fsync.

        ``durable=False`` is for lines that only need to be durable once a later line is: an fsync of
        the file also makes every earlier write to it durable.
        """
        self.write_lines([encode(instance) for instance in instances], durable=durable)

    def write_lines(self, lines: list[str], *, durable: bool = True) -> None:
        """Appends lines already encoded (and so validated) by ``encode``, as ``extend`` does."""
        data = "".join(line + "\n" for line in lines).encode("utf-8")
        if not data:
            return
        self._rotate_if_full()
        fd = self._open()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            sync(fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
