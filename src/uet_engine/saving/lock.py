"""One ``uet run`` per repository at a time: an OS-level exclusive lock on ``.runs/uet.lock``.

The lock is ``filelock``'s native one, taken without waiting: ``fcntl.flock`` on POSIX, ``LockFileEx``
on byte 0 of the file on Windows. It is the kernel's, so it dies with its process: a ``kill -9`` never
leaves a stale lock behind, and no pid-file guessing is needed. ``filelock``'s ``FileLock`` is not used:
where ``flock`` is missing it falls back to a marker file, which a killed process would leave behind;
``UnixFileLock`` with ``fallback_to_soft=False`` fails instead.

The file's text (``run_id pid``) only serves to name the holder in the refusal message. The holder
writes it once it holds the lock (``on_acquired``; ``filelock`` never truncates an existing lock file,
so a refused contender leaves it intact) and clears it before releasing; the file itself stays
(``preserve_lock_file``). Windows forbids other processes to read a locked range, so there the text
starts after the locked byte 0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from filelock import BaseFileLock

from uet_engine.errors import LockHeld

LOCK_FILE = Path(".runs") / "uet.lock"
# Where the holder's text starts: past the byte Windows locks, which no other process may read.
_TEXT_OFFSET = 1 if sys.platform == "win32" else 0


def read_holder(path: Path) -> tuple[str | None, int | None]:
    """(run id, pid) written in a lock file, or Nones where the text is missing or unreadable."""
    try:
        with path.open("rb") as handle:
            handle.seek(_TEXT_OFFSET)
            text = handle.read().decode("utf-8", errors="replace").split()
    except OSError:
        return None, None
    run_id = text[0] if text else None
    pid = int(text[1]) if len(text) > 1 and text[1].isdigit() else None
    return run_id, pid


def _native_lock(path: Path, on_acquired: Callable[[int], None]) -> BaseFileLock:
    """The kernel lock on ``path``, never a marker file; taken without waiting, released by ``release()``.

    filelock is imported here rather than at the top: commands and dry runs that never take the lock
    do not pay its import (about 10 ms).
    """
    from filelock import UnixFileLock, WindowsFileLock

    native = WindowsFileLock if sys.platform == "win32" else UnixFileLock
    return native(
        path,
        mode=0o644,
        blocking=False,
        thread_local=False,
        fallback_to_soft=False,
        preserve_lock_file=True,
        on_acquired=on_acquired,
    )


class RunLock:
    """Context manager holding ``<repo>/.runs/uet.lock`` for one run; ``LockHeld`` at once if taken."""

    def __init__(self, repo: Path, run_id: str) -> None:
        self.repo = Path(repo)
        self.run_id = run_id
        self.path = self.repo / LOCK_FILE
        self._fd: int | None = None
        self._lock: BaseFileLock | None = None

    def _write_holder(self, fd: int) -> None:
        os.ftruncate(fd, 0)
        os.lseek(fd, _TEXT_OFFSET, os.SEEK_SET)
        os.write(fd, f"{self.run_id} {os.getpid()}\n".encode())
        self._fd = fd

    def acquire(self) -> RunLock:
        """Takes the lock without waiting and writes ``run_id pid`` into the lock file."""
        if self._fd is not None:
            return self
        from filelock import Timeout

        if self._lock is None:
            self._lock = _native_lock(self.path, self._write_holder)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise LockHeld(self.repo, *read_holder(self.path)) from None
        return self

    def release(self) -> None:
        """Clears the holder text and releases the lock (the end of the process would release it too)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            assert self._lock is not None  # set by the acquire() that set self._fd
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
