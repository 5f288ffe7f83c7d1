"""Which writes a sandbox blocked, read from what the command printed.

A sandbox refuses a write with an error the command reports in its own words: ``Read-only file system``
(bubblewrap's read-only mounts), ``Permission denied`` (Landlock) or ``Operation not permitted``
(Seatbelt). The path is recovered from the usual shapes of those messages (sh, coreutils, Python):

    sh: 1: cannot create ../../../escaped.txt: Read-only file system
    touch: cannot touch '/etc/x': Read-only file system
    PermissionError: [Errno 13] Permission denied: '/home/me/x'

A path is reported only when the sandbox does not let the command write it (``Confinement.may_write``):
a ``Permission denied`` about something the step could write anyway is not the sandbox's doing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

_WHY = r"(?P<why>Read-only file system|Permission denied|Operation not permitted)"
_PATTERNS = (
    re.compile(rf"{_WHY}: '(?P<path>[^'\n]+)'"),
    re.compile(rf"['‘\"](?P<path>[^'’\"\n]+)['’\"]: {_WHY}"),
    re.compile(rf"(?:^|[\s:])(?P<path>[^\s:'\"]+): {_WHY}", re.MULTILINE),
)
EROFS = "Read-only file system"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def blocked_writes(text: str, cwd: Path, may_write: Callable[[Path], bool]) -> tuple[list[Path], bool]:
    """(paths whose write was refused and that the sandbox does not let the command write, whether a read-only
    filesystem was reported at all). Paths are absolute and normalised (``..`` resolved lexically, relative
    ones against ``cwd``), in order of appearance."""
    found: list[Path] = []
    for line in text.splitlines():
        if "Read-only file system" not in line and "Permission denied" not in line and "not permitted" not in line:
            continue
        for pattern in _PATTERNS:
            match = pattern.search(line)
            if match is None:
                continue
            path = Path(os.path.normpath(cwd / match.group("path")))
            if not may_write(path) and path not in found:
                found.append(path)
            break
    return found, EROFS in text


def describe(path: Path, root: Path, worktree: Path) -> str:
    """A blocked path as a person reads it: worktree-relative inside the worktree (a read-only path),
    repository-relative elsewhere in the repository, absolute outside it."""
    if _inside(path, worktree):
        return f"{path.relative_to(worktree).as_posix()} (read-only)"
    if _inside(path, root):
        rel = path.relative_to(root).as_posix()
        return f"{rel} (in the repository, outside the worktree)" if rel else str(root)
    return str(path)
