"""The after-step watch on everything outside the worktrees, for runs whose commands nothing confines.

Why in execution: it runs git (through ``isolation``) and is shared by the pool threads that check after
each step and the writer that lands patches; the judging lives in ``uet_engine.detection.tamper``. The
writer calls ``expect`` after it applies a patch to the user's tree, under the same lock the checks
take, so the engine's own changes are never mistaken for a step's.

Why it is only made without a sandbox: every mechanism ``uet_engine.execution.sandbox`` uses leaves a
command no way to write outside its worktree and a private temporary folder (bubblewrap and Seatbelt
mount or deny the rest read-only, Landlock grants writes beneath those two folders only), so the user's
tree, ``.git/config`` and ``.git/hooks`` cannot change under a confined command and a ``git status`` of the
user's tree after every command would only cost time, growing with the repository.

What it costs, and why it stays correct: the one dear part is that ``git status`` of the user's tree (every
tracked file stat'ed, every folder read). Pool threads whose commands end at about the same time share
one: a check waits for a status that *began* after it was asked for (so it saw everything the asking
thread's command did) rather than starting one of its own, and starts one only when none is running
(so from three pool threads up: with two, one runs and the other can only wait for the next).
The engine's own writes (a patch it applies) re-stamp only the paths the patch names (one ``git status``
limited to them), and a workstream that changed nothing costs no status at all there.

The statuses read a private copy of the user's index (``PrivateIndex``), never the user's own, which git
may rewrite: there it keeps the files' stat data fresh and an untracked cache (each folder's stamp and what
it held), so a status reads again only the folders whose stamp changed instead of every folder of the
tree; a new, renamed or deleted file changes its folder's stamp, and a changed untracked file is stamped
by the guard itself. What git reports is the same as from the user's index, as the entries are the same:
the copy is made again whenever the user's index changed (a step that stages a file in your tree is still
seen), and when the copy was rewritten by anyone but git under the guard.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

from uet_engine import clock
from uet_engine.detection import tamper
from uet_engine.execution import isolation

# Past this many paths a patch's re-stamp is one full status (a command line of paths has its limits).
MAX_LISTED_PATHS = 1000
GUARD_INDEX = Path(".runs") / "guard-index"  # the private copy of the user's index (``PrivateIndex``)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


class PrivateIndex:
    """A copy of the user's index, ``.runs/guard-index`` (removed with the guard; a run killed before that leaves
    it for the next run to overwrite, as only one run at a time holds the repository), for ``git status`` to
    rewrite (see the module docstring). Use it holding the guard's lock."""

    def __init__(self, user_index: Path, path: Path) -> None:
        self.user_index = user_index
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._finalizer = weakref.finalize(self, _remove, path)
        self._user: tuple[int, int, int, int] | None = None  # the user's index when it was copied (None: racy)
        self._left: tuple[int, int, int, int] | None = None  # the copy as git last left it
        self.copies = 0  # how often it was copied (tests count them)

    def current(self) -> Path | None:
        """The private index, copied afresh when the user's index changed since (or was too recently written to
        tell: ``clock.file_stamp``) or the copy is not as git left it; None when the user has no index."""
        try:
            user = clock.file_stamp(os.stat(self.user_index))
        except FileNotFoundError:
            return None
        if user is None or user != self._user or self._left is None or _stamp(self.path) != self._left:
            shutil.copy2(self.user_index, self.path)  # keeps the mtime: git's racy-entry check depends on it
            self._user = user
            self.copies += 1
        return self.path

    def used(self) -> None:
        """Call after each git command that read (and may have rewritten) the copy."""
        self._left = _stamp(self.path)

    def close(self) -> None:
        self._finalizer()


class Guard:
    """Fingerprints of the user's tree and of git's own files, taken at the start of a run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        git_dir, common = isolation.git_dirs(root)
        self._git_root = common.parent if common.name == ".git" else common
        self._watched = sorted({*(git_dir / n for n in tamper.GIT_WATCHED), *(common / n for n in tamper.GIT_WATCHED)})
        self._skipped = [folder / n for folder in {git_dir, common} for n in tamper.GIT_HOUSEKEEPING]
        self._known: tamper.Known = {}  # files read before, by stamp: a check reads only what changed
        self._lock = threading.Lock()  # held while the user's tree is read, or written by the engine
        self._shared = threading.Condition()  # guards the shared status below
        self._begun = 0  # statuses of the user's tree begun so far (one at a time, so they end in this order)
        self._ended = 0  # the number of the last one that ended with a result
        self._running = False
        self._last: list[str] = []  # what the last one found changed
        self.statuses = 0  # statuses of the user's tree run (tests count them)
        self.index = PrivateIndex(git_dir / "index", root / GUARD_INDEX)
        self._git = tamper.fingerprint(self._watched, self._known, skip=self._skipped)
        self._tree = self._status()
        self._slots: dict[Path, dict[str, str]] = {}

    def _status(self, paths: Iterable[str] = ()) -> dict[str, tamper.Stamp]:
        self.statuses += 1
        index = self.index.current()
        try:
            raw = isolation.working_tree_status(self.root, paths, index=index)
        finally:
            self.index.used()
        return tamper.parse_status(raw, self.root)

    @staticmethod
    def _slot_files(worktree: Path) -> list[Path]:
        admin = isolation.admin_dir(worktree)
        files = [worktree / ".git"]
        if admin is not None:
            files += [admin / "commondir", admin / "gitdir", admin / "config.worktree"]
        return files

    def watch_slot(self, worktree: Path) -> None:
        """Fingerprint a worktree's ``.git`` pointer and administrative files (call once the engine prepared it)."""
        with self._lock:
            self._slots[worktree] = tamper.fingerprint(self._slot_files(worktree), self._known)

    def check(self, worktree: Path | None = None) -> list[str]:
        """What changed outside the worktrees since the start (or the engine's last ``expect``), one item each."""
        changed = self._tree_changes()
        with self._lock:
            changed += tamper.fingerprint_changes(
                self._git,
                tamper.fingerprint(self._watched, self._known, skip=self._skipped),
                relative_to=self._git_root,
            )
            if worktree is not None and worktree in self._slots:
                changed += tamper.fingerprint_changes(
                    self._slots[worktree],
                    tamper.fingerprint(self._slot_files(worktree), self._known),
                    relative_to=worktree,
                )
        return changed

    def _tree_changes(self) -> list[str]:
        """The user's tree against its expected state, from a status begun after this call (shared, see above)."""
        with self._shared:
            wanted = self._begun + 1  # the first status that can begin from now on
            while self._ended < wanted:
                if self._running:
                    self._shared.wait()
                    continue
                self._running = True
                self._begun += 1
                mine = self._begun
                found: list[str] | None = None
                self._shared.release()
                try:
                    with self._lock:
                        found = tamper.tree_changes(self._tree, self._status())
                finally:
                    self._shared.acquire()
                    self._running = False
                    if found is not None:
                        self._ended, self._last = mine, found
                    self._shared.notify_all()
            return list(self._last)

    @contextlib.contextmanager
    def engine_writes(self, paths: Iterable[str]) -> Iterator[None]:
        """The engine changes these paths of the user's tree itself (a patch it applies) inside the block: no check
        runs meanwhile, and afterwards the paths are taken as they are."""
        wanted = set(paths)
        with self._lock:
            try:
                yield
            finally:
                if wanted:
                    listed = sorted(wanted) if len(wanted) <= MAX_LISTED_PATHS else []
                    now = self._status(listed)
                    for path in wanted:
                        if path in now:
                            self._tree[path] = now[path]
                        else:
                            self._tree.pop(path, None)
