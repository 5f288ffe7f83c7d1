"""``.runs/audit.jsonl``: one AuditEvent per line, appended durably, readable after any crash.

Each line is written with a single ``write`` on an ``O_APPEND`` descriptor and fsynced, so a crash
can at worst leave the *last* line torn (no trailing newline). Readers ignore such a tail; the next
writer cuts it off before appending, so a torn line never glues onto the next record. Each line carries
the SHA-256 of the line before it (``prev_sha256``): the log is a hash chain ``uet runs verify`` walks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType

from uet_contracts import AuditEvent
from uet_engine.errors import RecordsUnwritable
from uet_engine.saving import codec

AUDIT_FILE = Path(".runs") / "audit.jsonl"


def audit_path(repo: Path) -> Path:
    """Where a repository's audit log lives."""
    return Path(repo) / AUDIT_FILE


def repair(path: Path) -> int:
    """Cuts a torn last line (one without a newline) off ``path``; returns the bytes removed."""
    if not path.exists():
        return 0
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        # Walk back block by block to the last newline; the torn tail is at most one record long.
        end = size
        keep = 0
        while end > 0:
            start = max(0, end - 65536)
            handle.seek(start)
            block = handle.read(end - start)
            newline = block.rfind(b"\n")
            if newline >= 0:
                keep = start + newline + 1
                break
            end = start
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
        return size - keep


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
        pos = end - 1  # the final newline
        chunks: list[bytes] = []
        while pos > 0:
            start = max(0, pos - 65536)
            handle.seek(start)
            block = handle.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                chunks.append(block[cut + 1 :])
                break
            chunks.append(block)
            pos = start
        return b"".join(reversed(chunks)).decode("utf-8", errors="replace")


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


def read(path: Path) -> Iterator[tuple[int, AuditEvent]]:
    """Every complete line of the log as an AuditEvent; ``ContractError`` naming the line for a bad one."""
    for number, text in read_lines(path):
        yield number, codec.decode(text, AuditEvent, where=f"{path}:{number}")


# fdatasync flushes the bytes and the new size, all a reader needs, without the inode's times.
_sync = getattr(os, "fdatasync", os.fsync)


class AuditLog:
    """Appends validated AuditEvents to a repository's ``.runs/audit.jsonl``, one fsynced line each."""

    def __init__(self, repo: Path) -> None:
        self.path = audit_path(repo)
        self._fd: int | None = None
        self._after_write: tuple[int, int, int] | None = None  # (inode, size, mtime_ns) after our last write
        self._head: str | None = None  # line_hash of the last line: the next line's prev_sha256

    def _open(self) -> int:
        if self._fd is None:
            with self._faults():
                self.path.parent.mkdir(parents=True, exist_ok=True)
                repair(self.path)
                last = last_line(self.path)
                self._head = None if last is None else line_hash(last)
                self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self._fd

    @contextlib.contextmanager
    def _faults(self) -> Iterator[None]:
        """An OS error on the log (disk full, read-only or immutable file) becomes ``RecordsUnwritable``."""
        try:
            yield
        except OSError as exc:
            raise RecordsUnwritable(f"{self.path}: cannot write the audit log: {exc.strerror or exc}") from None

    def append(self, event: AuditEvent, *, durable: bool = True) -> None:
        """Validates ``event`` and appends it as one line; durably (write + fsync) unless told otherwise."""
        self.extend([event], durable=durable)

    def extend(self, events: Iterable[AuditEvent], *, durable: bool = True) -> None:
        """Validates every event first, then appends them all with one write and (when ``durable``) one fsync.

        ``durable=False`` is for lines that only need to be durable once a later line is: an fsync of
        this file also makes every earlier write to it durable, so the engine fsyncs at the lines the
        saving invariant rests on (final states, run start and end) and saves the fsync in between.
        """
        fd = self._open()
        lines = []
        head = self._head
        for event in events:
            text = codec.encode(dataclasses.replace(event, prev_sha256=head))
            lines.append(text + "\n")
            head = line_hash(text)
        data = "".join(lines).encode("utf-8")
        if not data:
            return
        view = memoryview(data)
        with self._faults():
            while view:
                written = os.write(fd, view)
                view = view[written:]
            if durable:
                _sync(fd)
        self._head = head
        info = os.fstat(fd)
        self._after_write = (info.st_ino, info.st_size, info.st_mtime_ns)

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

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
