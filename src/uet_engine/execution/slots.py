"""Worktree slots made pristine for the next workstream: reused, not checked out again, and proven clean.

Why a module of its own: ``isolation`` is git's plumbing for a run (the base commit, the worktrees it makes,
staging, patches); making a slot that an earlier workstream (or an earlier run, or a command nothing
confined) used equal to a fresh worktree of a commit is one job, with its own rules, kept here.

Worktrees are *slots* (``.runs/worktrees/slot-<n>``, one per workstream running at the same time), kept
across runs: checking a whole tree out is most of git's cost in a large repository, resetting a slot
rewrites only what differs, and a slot its last workstream left unchanged costs one ``git status``
(``slot_check``: nothing to do, a clean, a reset, or a new worktree) and one ``lstat`` per folder (git never
lists an empty folder: the folders' stamps tell). A slot carried over from an earlier run, and every slot
when nothing confines the commands, is checked before its reuse: it must be this repository's worktree,
and index entries marked assume-unchanged or skip-worktree (marks survive ``reset --hard``) are unmarked;
a slot that fails any of that is removed and checked out afresh. No sparse or partial checkout: a step may
read any file of the repository, so every slot holds the whole tree.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

from uet_engine.execution import isolation

_LOCK = threading.Lock()  # guards _FOLDERS and _COMMON (further down): slots are prepared on several threads


def hidden_entries(cwd: Path) -> list[str]:
    """Index entries marked assume-unchanged or skip-worktree (``git update-index``), sorted: ``git add -A``
    leaves their changes out, so a step that marks a file can change it, pass its checks with the change,
    and land a patch without it. One read of the index, no file stat'ed."""
    marks = _marks(cwd, check=True) or {}
    found = {path for paths in marks.values() for path in paths}
    return sorted(path.decode("utf-8", errors="surrogateescape") for path in found)


def _marks(cwd: Path, *, check: bool = False) -> dict[str, list[bytes]] | None:
    """The marked index entries (one ``ls-files -v``), by the ``update-index`` option that unmarks them: an
    assume-unchanged entry's tag is in lower case, a skip-worktree one's is ``S`` (``s``: both). None when git
    fails."""
    tags = isolation.git(cwd, "ls-files", "-v", "-z", check=check)
    if tags.returncode != 0:
        return None
    entries = [entry for entry in tags.stdout.split(b"\0") if entry]
    return {
        "--no-assume-unchanged": [entry[2:] for entry in entries if entry[:1].islower()],
        "--no-skip-worktree": [entry[2:] for entry in entries if entry[:1] in b"Ss"],
    }


# What a reused slot needs to become a fresh worktree of its commit again (``slot_check``), least first.
SlotStep = Literal["nothing", "clean", "reset", "replace"]
_STEPS: tuple[SlotStep, ...] = get_args(SlotStep)
# Slot -> the commit it was made pristine at, that tree's folders (and the top one, "") and their ``_stamps`` then.
_FOLDERS: dict[Path, tuple[str, tuple[str, ...], tuple[tuple[int, int], ...]]] = {}
_COMMON: dict[Path, Path] = {}  # repository top folder -> its common git folder (``_same_repository``)


def prepare(
    root: Path, path: Path, commit: str, *, check: bool = False, tree: str | None = None, at: str | None = None
) -> str:
    """Make the slot ``path`` a pristine worktree of ``commit``, the same as a fresh ``worktree add``; returns its
    tree id (``tree``, when the caller knows it already: one git call fewer).

    A worktree already at ``path`` is reused: ``reset --hard`` rewrites only the files that differ and
    ``clean -ffdx`` removes every untracked and ignored file. When the caller last left the slot at ``commit``
    (``at``), one ``git status`` (``slot_check``) says which of those is needed, usually neither: in a large
    repository each costs a walk. ``check``: the slot may hold what no engine command put there (a slot carried
    over from an earlier run, or one whose last workstream nothing confined): it must be this repository's
    worktree, and index entries marked assume-unchanged or skip-worktree (a mark survives ``reset --hard``) are
    unmarked first. A worktree that fails any of this is replaced.
    """
    with _LOCK:
        stamps = _FOLDERS.pop(path, None)
    fresh = True
    if isolation.pointer_intact(root, path):
        fresh = not _reuse(root, path, commit, check=check, at=at, stamps=stamps)
        if fresh:
            isolation.remove_worktree(root, path)
    if fresh:
        if os.path.lexists(path):  # not a worktree git knows (a half-removed one, or something else): clear it
            shutil.rmtree(path, ignore_errors=True)
            isolation.prune_worktrees(root)
        isolation.add_worktree(root, path, commit)
    tree = tree if tree is not None else isolation.tree_of(path, commit)
    _stamp_folders(path, commit, tree)
    return tree


def _reuse(
    root: Path,
    path: Path,
    commit: str,
    *,
    check: bool,
    at: str | None,
    stamps: tuple[str, tuple[str, ...], tuple[tuple[int, int], ...]] | None,
) -> bool:
    """Make the worktree at ``path`` pristine at ``commit`` in place (see ``prepare``); False: replace it."""
    if check:
        marks = _marks(path) if _same_repository(root, path) else None
        if marks is None:
            return False
        for option, paths in marks.items():  # one option a call: update-index applies only the first one given
            if not paths:
                continue
            listed = b"".join(entry + b"\0" for entry in paths)
            if isolation.git(path, "update-index", option, "-z", "--stdin", input=listed, check=False).returncode:
                return False
    step: SlotStep = slot_check(path, commit) if at == commit else "reset"
    if step in ("nothing", "clean"):
        step = max(step, _folders_step(path, commit, stamps), key=_STEPS.index)
    if step == "replace":
        return False
    if step == "reset" and isolation.git(path, "reset", "--hard", "--quiet", commit, check=False).returncode != 0:
        return False
    return step == "nothing" or isolation.git(path, "clean", "-ffdxq", check=False).returncode == 0


def slot_check(path: Path, commit: str) -> SlotStep:
    """What the worktree at ``path`` needs to equal a fresh worktree of ``commit``, from one ``git status``
    (the walks' safety options, ``_WALK``) that lists HEAD, staged and unstaged changes, and untracked and
    ignored files (an ignored folder as one entry, never walked; the engine's folders are ignored through
    ``.git/info/exclude``, so they are listed too):

    - ``nothing``: it lists nothing at all (folders with no file in them are never listed: ``prepare`` tells
      those from the folders' stamps);
    - ``clean``: only untracked or ignored files and folders (``clean -ffdx`` removes them, nested repositories
      included);
    - ``reset``: HEAD is not ``commit``, a tracked file differs, or git could not look at everything (it warned);
    - ``replace``: a submodule is checked out at another commit or changed (neither reset nor clean undoes that).

    Index entries marked assume-unchanged or skip-worktree are never listed: unmark them first (``check``).
    """
    done = isolation.git(
        path,
        *isolation.WALK_SAFETY,
        "status",
        "--porcelain=v2",
        "-z",
        "--branch",
        "--untracked-files=all",
        "--ignored=matching",
        "--ignore-submodules=dirty",  # a submodule's commit, read without running git inside it
        "--no-renames",
        check=False,
    )
    if done.returncode != 0:
        return "reset"
    step = 0 if f"# branch.oid {commit}".encode() in done.stdout.split(b"\0") else 2
    fields = iter(done.stdout.split(b"\0"))
    for entry in fields:
        kind = entry[:2]
        if kind in (b"? ", b"! "):
            step = max(step, 1)
        elif kind in (b"1 ", b"2 ", b"u "):
            step = max(step, 3 if entry[5:6] == b"S" else 2)  # "1 XY S...": a submodule
            if kind == b"2 ":
                next(fields, None)  # a rename's old path (not asked for, but harmless)
    if done.stderr:  # e.g. "could not open directory": what it did not read may hold anything
        step = max(step, 2)
    return _STEPS[step]


def _same_repository(root: Path, path: Path) -> bool:
    """Whether the worktree's administrative folder (recorded by ``_pointer_intact``) belongs to ``root``'s
    repository: its ``commondir`` file names the repository's common folder. No git call (but the first)."""
    admin = isolation.admin_dir(path)
    if admin is None:
        return False
    try:
        named = (admin / "commondir").read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    with _LOCK:
        common = _COMMON.get(root)
    if common is None:
        common = isolation.common_dir(root).resolve()
        with _LOCK:
            _COMMON[root] = common
    return bool(named) and (admin / named).resolve() == common


def _folders_step(
    path: Path, commit: str, stamps: tuple[str, tuple[str, ...], tuple[tuple[int, int], ...]] | None
) -> SlotStep:
    """What the folders' stamps say a slot at ``commit`` whose ``git status`` is clean needs: ``nothing`` when no
    folder gained or lost an entry since it was made pristine; ``clean`` when one did (perhaps an empty folder,
    which git never lists) or the stamps are unknown; ``replace`` when such a folder holds a ``.git``: a
    submodule checked out at its own commit, which status does not list and clean leaves."""
    if stamps is None or stamps[0] != commit:
        return "clean"
    now = _stamps(path, stamps[1])
    if now is None:
        return "clean"
    changed = [name for name, old, new in zip(stamps[1], stamps[2], now, strict=True) if old != new]
    if any(name and os.path.lexists(path / name / ".git") for name in changed):
        return "replace"
    return "clean" if changed else "nothing"


def _stamps(path: Path, folders: Iterable[str]) -> tuple[tuple[int, int], ...] | None:
    """The (inode, ctime) of each of the worktree's ``folders``; None when one is missing. A folder's ctime moves
    whenever an entry is made, removed or renamed in it, and no command can set it back."""
    try:
        return tuple((found.st_ino, found.st_ctime_ns) for found in (os.lstat(path / name) for name in folders))
    except OSError:
        return None


def _stamp_folders(path: Path, commit: str, tree: str) -> None:
    """Remember the stamps of a slot just made pristine at ``commit``, whose next ``slot_check`` cannot see an
    empty folder made in it: the top folder and every folder of ``tree``.

    A stamp is only trusted when the filesystem's clock (the ctime of a file touched in the slot's administrative
    folder) has already gone past it, else a change within the same tick would leave it as it was. Nothing is
    waited for (this is on every workstream's path): a folder the set-up changed in this very tick means nothing
    is remembered, and the next reuse cleans. One ``lstat`` per folder, no file read. A folder the tree's list names
    and the slot lacks is left out: the list may name more than the tree has (``remember_tree_dirs``), and a folder
    made there later changes its parent's stamp.
    """
    admin = isolation.admin_dir(path)
    if admin is None:
        return
    present = []
    for name in ("", *sorted(isolation.tree_dirs(path, tree))):
        try:
            info = os.lstat(path / name)
        except FileNotFoundError:
            continue
        except OSError:
            return
        present.append((name, (info.st_ino, info.st_ctime_ns)))
    folders = tuple(name for name, _stamp in present)
    stamps = tuple(stamp for _name, stamp in present)
    clock = admin / "uet-clock"
    try:
        clock.touch()
        if clock.stat().st_ctime_ns <= max(ctime for _inode, ctime in stamps):
            return
    except OSError:
        return
    with _LOCK:
        _FOLDERS[path] = (commit, folders, stamps)
