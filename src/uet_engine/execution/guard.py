"""The after-step watch on everything outside the worktrees, for runs whose commands nothing confines.

Why in execution: it runs git (through ``isolation``) and is shared by the pool threads that check after
each step and the writer that lands patches; the judging lives in ``uet_engine.detection.tamper``. The
writer calls ``expect`` after it applies a patch to the user's tree, under the same lock the checks
take, so the engine's own changes are never mistaken for a step's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from uet_engine.detection import tamper
from uet_engine.execution import isolation

_PATHS_PER_STATUS = 500


class Guard:
    """Fingerprints of the user's tree and of git's own files, taken at the start of a run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        git_dir, common = isolation.git_dirs(root)
        self._git_root = common.parent if common.name == ".git" else common
        self._watched = sorted({*(git_dir / n for n in tamper.GIT_WATCHED), *(common / n for n in tamper.GIT_WATCHED)})
        self._lock = threading.Lock()
        self._known: tamper.Known = {}  # files read before, by stamp: a check reads only what changed
        self._git = tamper.fingerprint(self._watched, self._known)
        self._tree = self._status()
        self._slots: dict[Path, dict[str, str]] = {}

    def _status(self, paths: Sequence[str] = ()) -> dict[str, tamper.Stamp]:
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
        with self._lock:
            changed = tamper.tree_changes(self._tree, self._status())
            changed += tamper.fingerprint_changes(
                self._git, tamper.fingerprint(self._watched, self._known), relative_to=self._git_root
            )
            if worktree is not None and worktree in self._slots:
                changed += tamper.fingerprint_changes(
                    self._slots[worktree],
                    tamper.fingerprint(self._slot_files(worktree), self._known),
                    relative_to=worktree,
                )
        return changed

    @contextlib.contextmanager
    def engine_writes(self, paths: Iterable[str]) -> Iterator[None]:
        """The engine changes these paths of the user's tree itself (a patch it applies) inside the block: no check
        runs meanwhile, and afterwards the paths are taken as they are."""
        wanted = set(paths)
        with self._lock:
            try:
                yield
            finally:
                # Only the paths the patch touched can have changed: git status of those alone (nothing at all
                # for an empty patch), which is what a full status would say of them (the index is untouched);
                # a very long list is left to a full status, as it would not fit on a command line.
                now = self._status(sorted(wanted) if len(wanted) <= _PATHS_PER_STATUS else ()) if wanted else {}
                for path in wanted:
                    if path in now:
                        self._tree[path] = now[path]
                    else:
                        self._tree.pop(path, None)
