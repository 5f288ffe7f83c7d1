"""Atomic file writes: a reader sees the old file or the whole new one, never a half-written file.

The engine's outputs (snapshots, patches, reports) are written to a temporary file in the target's own
folder and moved over the target with ``os.replace``, which is atomic on POSIX and Windows when both
names are on the same file system. A failure at any point leaves the target as it was and removes the
temporary file, so a failed command never leaves half-written state behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread is started.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def write_atomic(
    path: str | os.PathLike[str], data: str | bytes, *, encoding: str = "utf-8", sync: bool = True
) -> None:
    """Writes ``data`` to ``path`` atomically (text is encoded with ``encoding``).

    ``sync`` (the default) fsyncs the data before the rename, so the new file survives a power loss once
    this returns; without it the rename is still atomic for every reader and against a crash of the
    process (the bytes are in the operating system's cache), and ``fsync_path`` makes it durable later.

    The new file keeps the permission bits of the file it replaces, or gets the usual ``0o666 & ~umask``
    when it is new (``tempfile`` alone would leave it readable by the owner only). ``OSError`` is raised
    unchanged when the folder is missing or not writable; the target is untouched then.
    """
    target = Path(path)
    raw = data.encode(encoding) if isinstance(data, str) else data
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = 0o666 & ~_UMASK
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a folder by name (a folder's fsync makes the names created in it durable; Windows cannot
    open a folder, and its renames are durable with the file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except (IsADirectoryError, PermissionError):
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
