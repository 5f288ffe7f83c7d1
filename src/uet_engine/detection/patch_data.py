"""Patches are data, not trust: what a workstream's changes may never contain, whatever its file scope says.

The file-scope check (``uet_engine.detection.scope``) looks at paths. A path that is allowed can still
carry something the user's tree must never receive, so each changed entry is also judged by its git
mode and, for a symbolic link, by where it points:

- a symbolic link whose target is absolute, leaves the repository (``../..``), or points into ``.git``,
  ``.runs`` or ``.ledger``: applied to the user's tree it would let later writes through it land outside
  the repository or in git's own files;
- a gitlink (mode 160000, a submodule or nested repository): its contents are another repository's, and
  git runs commands inside it;
- anything under a ``.git`` folder at any depth, or under the engine's own ``.runs/`` and ``.ledger/``.

``reserved_paths`` finds, on disk, what git would silently leave out of the patch (a nested ``.git``,
files under ``.runs/`` or ``.ledger/`` of the worktree), so such writes are refused by name instead of
vanishing. Every finding is a reason, worded to follow "PATH: KIND, but …".
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final, NamedTuple

ENGINE_FOLDERS: Final = (".runs", ".ledger")
SYMLINK_MODE: Final = "120000"
GITLINK_MODE: Final = "160000"


class Entry(NamedTuple):
    """A changed entry as git records it: its mode (``100644``, ``120000``, …; empty when deleted) and, for a
    symbolic link, its target."""

    mode: str
    target: str | None = None


def reserved_reason(path: str) -> str | None:
    """Why a repository path can never be part of a patch (inside ``.git``, ``.runs`` or ``.ledger``), or None."""
    parts = path.split("/")
    if parts[0] in ENGINE_FOLDERS:
        return f"it is inside {parts[0]}/, the engine's own records"
    if any(part.casefold() == ".git" for part in parts):
        return "it is inside a git directory (.git), which no patch may touch"
    return None


def symlink_reason(path: str, target: str) -> str | None:
    """Why a symbolic link at ``path`` pointing at ``target`` is refused, or None when it stays in the repository."""
    if target.startswith(("/", "\\")) or (len(target) > 1 and target[1] == ":"):
        return f"it is a symbolic link to the absolute path {target!r}, outside the repository"
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target.replace("\\", "/")))
    if resolved == ".." or resolved.startswith("../"):
        return f"it is a symbolic link to {target!r}, which leaves the repository"
    inner = reserved_reason(resolved) if resolved != "." else None
    if inner is not None:
        return f"it is a symbolic link to {target!r}, and {inner.removeprefix('it is ')}"
    return None


def entry_problems(entries: Mapping[str, Entry]) -> dict[str, str]:
    """Each changed entry that may not be applied, mapped to why, in path order."""
    found: dict[str, str] = {}
    for path in sorted(entries):
        entry = entries[path]
        reason = reserved_reason(path)
        if reason is None and entry.mode == GITLINK_MODE:
            reason = "it is a gitlink (a submodule or nested repository), which a patch may not carry"
        if reason is None and entry.mode == SYMLINK_MODE:
            reason = symlink_reason(path, entry.target or "")
        if reason is not None:
            found[path] = reason
    return found


def reserved_paths(worktree: Path, known_dirs: Iterable[str], since_ns: int) -> list[str]:
    """Entries on disk that git would leave out of the patch without a word: a ``.git`` below the top, anything
    in the worktree's ``.runs/`` or ``.ledger/``. Sorted repository paths.

    ``known_dirs`` are the folders the worktree had (its tree's folders); only those changed since
    ``since_ns`` (mtime or ctime) are listed, and any folder not known is new and walked whole, so the cost follows
    what the step touched, not the size of the repository.
    """
    found: set[str] = set()
    for name in ENGINE_FOLDERS:
        if os.path.lexists(worktree / name):
            found.update(_walk(worktree, name))
    known = {"", *known_dirs}
    top = os.fspath(worktree)
    for folder in known:  # one lstat per folder, on plain strings: this runs after every step (the result is sorted)
        absolute = os.path.join(top, folder) if folder else top
        try:
            info = os.lstat(absolute)
            # The ctime too: a step can set a folder's mtime back (os.utime), never its ctime (POSIX; on Windows
            # st_ctime is the creation time, and the mtime is what moves).
            if stat.S_ISLNK(info.st_mode) or max(info.st_mtime_ns, info.st_ctime_ns) < since_ns:
                continue
            entries = list(os.scandir(absolute))
        except OSError:
            continue
        for entry in entries:
            rel = f"{folder}/{entry.name}" if folder else entry.name
            if rel in ENGINE_FOLDERS or (not folder and entry.name == ".git"):
                continue
            if entry.name.casefold() == ".git":
                found.update(_walk(worktree, rel))
            elif entry.is_dir(follow_symlinks=False) and rel not in known:
                found.update(p for p in _walk(worktree, rel) if reserved_reason(p) is not None)
    return sorted(found)


def _walk(worktree: Path, rel: str) -> list[str]:
    """``rel`` and every path below it (not following links), as repository paths."""
    top = worktree / rel
    if not top.is_dir() or top.is_symlink():
        return [rel]
    out: list[str] = []
    for folder, dirs, files in os.walk(top, followlinks=False):
        base = Path(folder).relative_to(worktree).as_posix()
        out += [f"{base}/{name}" for name in files]
        out += [f"{base}/{name}" for name in dirs if (Path(folder) / name).is_symlink()]
        if not dirs and not files:
            out.append(base + "/")
    return out or [rel + "/"]
