"""What changed outside a workstream's worktree: the after-step checks that stand in when nothing confines it.

Why: without a sandbox a step can write anywhere the engine can. It cannot be stopped, but much of what
matters can be seen cheaply after each step, before the engine runs git again in that worktree:

- the **user's working tree**: ``git status`` of the repository (the engine's folders left out), each
  dirty path with its size and modification time, compared with what it was (the engine updates its
  expectation itself when it applies a patch);
- **git's own files**, which decide what git runs: the repository's ``config`` (``core.fsmonitor``,
  ``core.hooksPath``, filters), ``hooks/``, ``info/`` (attributes, exclude), ``objects/info/alternates``,
  and the worktree's administrative files and ``.git`` pointer, fingerprinted by content;
- the **record files** (checked by the run's writer, which alone writes them).

Paths outside the repository (an absolute ``/tmp/x``) cannot be seen this way: only a sandbox stops those.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import NamedTuple

from uet_engine import clock

# Files and folders of a git directory whose change would make git run something, or hide something.
GIT_WATCHED = ("config", "config.worktree", "hooks", "info", "objects/info/alternates", "commondir", "gitdir")
# Files below those that git's own housekeeping rewrites and that make git run or hide nothing: ``info/refs``
# (the dumb-HTTP list of refs that ``git repack``, run by an automatic ``git gc`` in the background, rewrites).
GIT_HOUSEKEEPING = ("info/refs",)


class Stamp(NamedTuple):
    """How a dirty path of the working tree looks: git's two status letters, its size and mtime (None: gone)."""

    status: str
    size: int | None
    mtime_ns: int | None


def parse_status(raw: bytes, root: Path) -> dict[str, Stamp]:
    """``git status --porcelain=v1 -z`` output as path -> Stamp (renames: the new path)."""
    found: dict[str, Stamp] = {}
    fields = raw.decode("utf-8", errors="surrogateescape").split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if status[0] in "RC":
            i += 1  # the old path follows
        found[path] = stamp(root, path, status)
    return found


def stamp(root: Path, path: str, status: str) -> Stamp:
    try:
        info = os.lstat(root / path)
    except OSError:
        return Stamp(status, None, None)
    return Stamp(status, info.st_size, info.st_mtime_ns)


def tree_changes(before: Mapping[str, Stamp], after: Mapping[str, Stamp]) -> list[str]:
    """Each path of the working tree whose status or stamp differs, with how, sorted."""
    changed = []
    for path in sorted(set(before) | set(after)):
        old, new = before.get(path), after.get(path)
        if old == new:
            continue
        if old is None:
            what = "deleted from" if new is not None and "D" in new.status else "changed in"
            what = "added to" if new is not None and new.status == "??" else what
        elif new is None:
            what = "restored in"
        else:
            what = "changed in"
        changed.append(f"{path} ({what} the working tree)")
    return changed


# What ``fingerprint`` may remember between calls: path -> (its stamp, ``clock.file_stamp``; its digest).
Known = dict[str, tuple[tuple[int, int, int, int], str]]


def _digest(path: str, info: os.stat_result, known: Known | None) -> str:
    """A file's content digest (a link's target), from ``known`` when ``info`` (its lstat, taken before any read:
    a write after it changes the stamp) shows it unchanged since it was last read."""
    stamp = clock.file_stamp(info)
    if known is not None and stamp is not None:
        remembered = known.get(path)
        if remembered is not None and remembered[0] == stamp:
            return remembered[1]
    try:
        linked = stat.S_ISLNK(info.st_mode)
        digest = "link:" + os.readlink(path) if linked else hashlib.sha256(_read(path)).hexdigest()
    except OSError as exc:
        return f"unreadable:{exc.errno}"
    if known is not None and stamp is not None:
        known[path] = (stamp, digest)
    return digest


def _read(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def fingerprint(paths: Iterable[Path], known: Known | None = None, *, skip: Iterable[Path] = ()) -> dict[str, str]:
    """Content fingerprints of files, and of every entry below folders (but those in ``skip``), keyed by
    absolute path; a missing path maps to ``absent``. Links are not followed: a link's target is its content.

    ``known`` (kept by the caller between calls) spares reading a file again whose stamp (inode, size, mtime,
    ctime: ``clock.file_stamp``) is what it was before it was last read: no write leaves all four as they were,
    as a process cannot set the ctime. A file changed too recently to tell is read every time.

    Why plain strings and one ``lstat`` per entry: the after-step guard calls this after every command of a
    run without a sandbox, on ``.git/hooks`` and the like, so its cost is paid per command.
    """
    found: dict[str, str] = {}
    skipped = {os.fspath(path) for path in skip}
    for path in paths:
        top = os.fspath(path)
        try:
            info = os.lstat(top)
        except OSError:
            found[top] = "absent"
            continue
        if stat.S_ISDIR(info.st_mode):
            _fingerprint_folder(top, found, known, skipped)
            found.setdefault(top, "folder")
        else:
            found[top] = _digest(top, info, known)
    return found


def _fingerprint_folder(top: str, found: dict[str, str], known: Known | None, skipped: set[str]) -> None:
    """Every entry below ``top`` into ``found``: files and links by content, sub-folders walked (not links).

    With a stack of its own rather than recursion: a step may nest folders deeper than Python's call stack."""
    folders = [top]
    while folders:
        folder = folders.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as exc:
            found[folder] = f"unreadable:{exc.errno}"
            continue
        for entry in entries:
            if entry.path in skipped:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # gone meanwhile: the next call sees it absent
            if stat.S_ISDIR(info.st_mode):
                folders.append(entry.path)
            else:
                found[entry.path] = _digest(entry.path, info, known)


def fingerprint_changes(before: Mapping[str, str], after: Mapping[str, str], *, relative_to: Path) -> list[str]:
    """Each fingerprinted file added, removed or changed, named relative to ``relative_to`` where it lies below."""
    changed = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key, "absent"), after.get(key, "absent")
        if old == new:
            continue
        path = Path(key)
        shown = path.relative_to(relative_to).as_posix() if path.is_relative_to(relative_to) else str(path)
        what = "created" if old == "absent" else "deleted" if new == "absent" else "changed"
        changed.append(f"{shown} ({what})")
    return changed
