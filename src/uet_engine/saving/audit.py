"""``.runs/audit.jsonl``: one AuditEvent per line, appended durably, readable after any crash.

Each line is written with a single ``write`` on an ``O_APPEND`` descriptor and fsynced, so a crash
can at worst leave the *last* line torn (no trailing newline). Readers ignore such a tail; the next
writer cuts it off before appending, so a torn line never glues onto the next record. The mechanics
are ``uet_engine.jsonl``'s, shared with the error log and with plugin authors. Each line carries the
SHA-256 of the line before it (``prev_sha256``): the log is a hash chain ``uet runs verify`` walks. A
write the system refuses (disk full, an immutable file) is ``RecordsUnwritable``, one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from uet_contracts import AuditEvent
from uet_engine.errors import RecordsUnwritable
from uet_engine.jsonl import JsonlWriter, encode, last_newline, read_lines, repair, sync
from uet_engine.saving import codec

__all__ = ["AUDIT_FILE", "AuditLog", "audit_path", "last_line", "line_hash", "read", "read_lines", "repair"]

AUDIT_FILE = Path(".runs") / "audit.jsonl"


def audit_path(repo: Path) -> Path:
    """Where a repository's audit log lives."""
    return Path(repo) / AUDIT_FILE


def line_hash(text: str) -> str:
    """The ``prev_sha256`` the line after this one carries: SHA-256 of its UTF-8 bytes, newline excluded."""
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def last_line(path: Path) -> str | None:
    """The last complete line of ``path`` (read backwards block by block); None for an empty or missing log or a
    torn last line (which ``repair`` cuts off before anything is appended)."""
    if not path.exists():
        return None
    with open(path, "rb") as handle:
        end = handle.seek(0, os.SEEK_END)
        if end == 0:
            return None
        handle.seek(end - 1)
        if handle.read(1) != b"\n":
            return None
        start = last_newline(handle, end - 1) + 1  # the line before the final newline starts after this one
        handle.seek(start)
        return handle.read(end - 1 - start).decode("utf-8", errors="replace")


def read(path: Path) -> Iterator[tuple[int, AuditEvent]]:
    """Every complete line of the log as an AuditEvent; ``ContractError`` naming the line for a bad one."""
    for number, text in read_lines(path):
        yield number, codec.decode(text, AuditEvent, where=f"{path}:{number}")


class AuditLog(JsonlWriter):
    """Appends validated AuditEvents to a repository's ``.runs/audit.jsonl``, one fsynced line each.

    ``durable=False`` (on ``append`` and ``extend``) is for lines that only need to be durable once a
    later line is: the engine fsyncs at the lines the saving invariant rests on (final states, run
    start and end) and saves the fsync in between. With ``sync_each`` off (a ``normal`` durability run) no
    line is fsynced as it is written (each is whole in the operating system's cache the moment ``write``
    returns, so a crash of the engine loses none); ``sync`` makes them all durable at once.
    """

    def __init__(self, repo: Path) -> None:
        super().__init__(audit_path(repo))
        self.sync_each = True
        self._after_write: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) after our last write
        self._head: str | None = None  # line_hash of the last line: the next line's prev_sha256

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        """An OS error on the log (disk full, read-only or immutable file) becomes ``RecordsUnwritable``."""
        try:
            yield
        except OSError as exc:
            raise RecordsUnwritable(f"{self.path}: cannot write the audit log: {exc.strerror or exc}") from None

    def _open(self) -> int:
        if self._fd is None:
            with self._faults():
                fd = super()._open()
                last = last_line(self.path)
                self._head = None if last is None else line_hash(last)
                return fd
        return self._fd

    def extend(self, instances: Iterable[Any], *, durable: bool = True) -> None:
        """Appends the events as ``JsonlWriter.extend`` does, each chained to the line before it."""
        events = list(instances)
        if not events:
            return
        with self._faults():
            self._open()
            head = self._head
            lines = []
            for event in events:
                text = encode(dataclasses.replace(event, prev_sha256=head))  # validated once, hashed as written
                lines.append(text)
                head = line_hash(text)
            self.write_lines(lines, durable=durable and self.sync_each)
            self._head = head
            assert self._fd is not None
            info = os.fstat(self._fd)
            self._after_write = (info.st_ino, info.st_size, info.st_mtime_ns)

    def sync(self) -> None:
        """Makes every line written so far durable (one fdatasync; nothing when nothing was written)."""
        if self._fd is not None:
            with self._faults():
                sync(self._fd)

    def tampered(self) -> str | None:
        """How the log changed since this writer's last line, when someone else changed it; None otherwise."""
        if self._after_write is None:
            return None
        shown = AUDIT_FILE.as_posix()
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return f"{shown} (deleted)"
        inode, size, mtime = self._after_write
        if info.st_ino != inode:
            return f"{shown} (replaced by another file)"
        if (info.st_size, info.st_mtime_ns) != (size, mtime):
            return f"{shown} (changed: {info.st_size} bytes, the engine wrote {size})"
        return None

    def __enter__(self) -> AuditLog:
        return self
