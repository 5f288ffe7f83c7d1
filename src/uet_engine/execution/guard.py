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
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from uet_engine.detection import tamper
from uet_engine.execution import isolation

# Past this many paths a patch's re-stamp is one full status (a command line of paths has its limits).
MAX_LISTED_PATHS = 1000


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
        self._git = tamper.fingerprint(self._watched, self._known, skip=self._skipped)
        self._tree = self._status()
        self._slots: dict[Path, dict[str, str]] = {}

    def _status(self, paths: Iterable[str] = ()) -> dict[str, tamper.Stamp]:
        self.statuses += 1
        return tamper.parse_status(isolation.working_tree_status(self.root, paths), self.root)

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
