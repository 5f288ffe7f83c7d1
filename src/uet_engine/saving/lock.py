"""One ``uet run`` per repository at a time: an OS-level exclusive lock on ``.runs/uet.lock``.

The lock is the kernel's (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), so it dies with its
process: a ``kill -9`` never leaves a stale lock behind, and no pid-file guessing is needed. The file's
text (``run_id pid``) only serves to name the holder in the refusal message.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import TracebackType

from uet_engine.errors import LockHeld

LOCK_FILE = Path(".runs") / "uet.lock"
# Windows locks byte ranges and forbids reading a locked range: lock a byte past the holder's text.
_WINDOWS_LOCK_OFFSET = 1 << 20


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import msvcrt

        os.lseek(fd, _WINDOWS_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    fcntl.flock(fd, fcntl.LOCK_UN)


def read_holder(path: Path) -> tuple[str | None, int | None]:
    """(run id, pid) written in a lock file, or Nones where the text is missing or unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None, None
    run_id = text[0] if text else None
    pid = int(text[1]) if len(text) > 1 and text[1].isdigit() else None
    return run_id, pid


class RunLock:
    """Context manager holding ``<repo>/.runs/uet.lock`` for one run; ``LockHeld`` at once if taken."""

    def __init__(self, repo: Path, run_id: str) -> None:
        self.repo = Path(repo)
        self.run_id = run_id
        self.path = self.repo / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        """Takes the lock without waiting and writes ``run_id pid`` into the lock file."""
        if self._fd is not None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise LockHeld(self.repo, *read_holder(self.path))
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"{self.run_id} {os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        """Clears the holder text and releases the lock (closing the descriptor would release it too)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
            _unlock(fd)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.release()
