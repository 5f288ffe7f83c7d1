"""Isolation through git: each workstream in a pristine worktree, its changes brought back as a binary patch.

Why: workstreams that run at the same time must not see each other's half-done work, and a failed
workstream must leave nothing behind. So each runs in a detached worktree of the run's *base commit*
with the patches of its succeeded prerequisites applied, and only its patch, captured against that
state, ever reaches the user's tree. A run keeps one worktree per workstream it runs at the same time
(``.runs/worktrees/<run_id>/slot-<n>``) and resets it between workstreams (see ``prepare``).

The base commit is the user's working tree as it is when the run starts: HEAD when the tree is clean,
else a commit made from HEAD plus the uncommitted and untracked (not ignored) files, kept alive by the
ref ``refs/uet/runs/<run_id>``. Uncommitted changes are therefore neither refused nor lost: the
workstreams build on them, and the patches apply cleanly on top of them at the end.

The engine's own folders ``.runs/`` and ``.ledger/`` are never part of a snapshot or a patch (git
pathspec excludes, so the user's ``.git/info/exclude`` is left alone); ``.gitignore``d files are never
captured either. Every path handed back is POSIX, as git writes it.

Time spent in git is accumulated in ``GIT_TIME`` (calls and seconds) so the benchmark can split the
engine's overhead into git and everything else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uet_engine.errors import GitError, NotAGitRepo

ENGINE_DIRS = (".runs", ".ledger")
# Pathspec for "everything but the engine's own folders".
ALL_BUT_ENGINE = (".", *(f":(exclude,top){name}" for name in ENGINE_DIRS))
WORKTREES = Path(".runs") / "worktrees"
BASE_REF = "refs/uet/runs/"

# Commits the engine makes (the base snapshot) must not depend on the user's git identity.
_IDENTITY = {
    "GIT_AUTHOR_NAME": "uet",
    "GIT_AUTHOR_EMAIL": "uet@localhost",
    "GIT_COMMITTER_NAME": "uet",
    "GIT_COMMITTER_EMAIL": "uet@localhost",
}
# Options that keep diff output a plain, appliable patch whatever the user's configuration says.
_DIFF = (
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-relative",
    "--src-prefix=a/",
    "--dst-prefix=b/",
)

CHANGE_KINDS = {"A": "added", "M": "modified", "D": "deleted", "T": "modified", "R": "renamed", "C": "added"}


@dataclass
class GitTime:
    """Wall-clock seconds and number of git commands, summed over every thread."""

    seconds: float = 0.0
    calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, seconds: float) -> None:
        with self._lock:
            self.seconds += seconds
            self.calls += 1


GIT_TIME = GitTime()


def git(
    cwd: Path, *args: str, input: bytes | None = None, env: Mapping[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git ARGS`` in ``cwd``; raise GitError (with git's message) when it fails and ``check`` is set."""
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            env=None if env is None else {**os.environ, **env},
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed or not on PATH") from exc
    finally:
        GIT_TIME.add(time.perf_counter() - start)
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = message[-1] if message else f"exit code {done.returncode}"
        raise GitError(f"git {args[0]} failed: {reason}")
    return done


_IGNORED_HEADER = "The following paths are ignored by one of your .gitignore files:"


def add_all(cwd: Path, env: Mapping[str, str] | None = None) -> None:
    """``git add -A`` of everything but the engine's folders (``.gitignore`` respected).

    git refuses an exclude pathspec that names an ignored folder which exists (``.runs/`` in a
    ``.gitignore``, as ``uet init`` writes it); such a folder is then left out of the pathspec, as
    ``.gitignore`` already keeps it from being added.
    """
    done = git(cwd, "add", "-A", "--", *ALL_BUT_ENGINE, env=env, check=False)
    if done.returncode == 0:
        return
    text = done.stderr.decode("utf-8", errors="replace")
    if _IGNORED_HEADER not in text:
        git(cwd, "add", "-A", "--", *ALL_BUT_ENGINE, env=env)  # raises GitError with git's message
        return
    listed = text.split(_IGNORED_HEADER, 1)[1].split("hint:", 1)[0].split()
    kept = [spec for spec, name in zip(ALL_BUT_ENGINE[1:], ENGINE_DIRS, strict=True) if name not in listed]
    git(cwd, "add", "-A", "--", ".", *kept, env=env)


def _out(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    return git(cwd, *args, env=env).stdout.decode("utf-8").strip()


def repo_root(path: Path) -> Path:
    """The top folder of the git repository holding ``path``, which must have at least one commit."""
    path = path.resolve()
    if not path.is_dir():
        raise NotAGitRepo(f"{path}: no such folder")
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        raise NotAGitRepo(
            f"{path} is not a git repository; uet run needs one with at least one commit: add --init, or run "
            "git init && git add -A && git commit -m 'initial commit'"
        )
    root = Path(done.stdout.decode("utf-8").strip())
    if git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode != 0:
        raise NotAGitRepo(
            f"{root} has no commit yet; uet run needs one to start from: git add -A && git commit -m 'initial commit'"
        )
    return root


def init_repo(path: Path) -> Path:
    """Make ``path`` (created if missing) the top of a git repository with a first commit, for ``--init``.

    A folder that already is the top of a repository with a commit is left as it is. A folder inside
    another repository gets a repository of its own, so a run never reaches into the enclosing one.
    The first commit holds what the folder already contains (nothing ignored, none of the engine's
    folders) and uses the engine's identity, so no git configuration is needed.
    """
    path = path.resolve()
    path.mkdir(parents=True, exist_ok=True)
    done = git(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0 or Path(done.stdout.decode("utf-8").strip()).resolve() != path:
        git(path, "init", "--quiet")
    if git(path, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False).returncode != 0:
        add_all(path)
        git(path, "commit", "--quiet", "--allow-empty", "-m", "initial commit (uet run --init)", env=_IDENTITY)
    return path


def head_commit(root: Path) -> str:
    return _out(root, "rev-parse", "--verify", "HEAD^{commit}")


def tree_of(root: Path, commit: str) -> str:
    return _out(root, "rev-parse", "--verify", f"{commit}^{{tree}}")


def snapshot_base(root: Path, run_id: str) -> str:
    """The commit the run starts from: HEAD, or HEAD plus the tree's uncommitted work (see the module doc)."""
    head = head_commit(root)
    index = Path(_out(root, "rev-parse", "--path-format=absolute", "--git-path", "index"))
    with tempfile.TemporaryDirectory(prefix="uet-index-") as tmp:
        temp_index = Path(tmp) / "index"
        env = {"GIT_INDEX_FILE": str(temp_index)}
        if index.exists():
            shutil.copyfile(index, temp_index)  # keeps git's stat cache: unchanged files are not re-read
        else:
            git(root, "read-tree", head, env=env)
        add_all(root, env=env)
        tree = _out(root, "write-tree", env=env)
    if tree == tree_of(root, head):
        return head
    message = f"uet: working tree at the start of {run_id}"
    commit = _out(root, "commit-tree", tree, "-p", head, "-m", message, env=_IDENTITY)
    git(root, "update-ref", BASE_REF + run_id, commit)
    return commit


def worktree_path(root: Path, run_id: str, slot: str) -> Path:
    """Where a run keeps one of its worktrees (one per concurrently running workstream)."""
    return root / WORKTREES / run_id / slot


def add_worktree(root: Path, path: Path, commit: str) -> None:
    """A detached worktree of ``commit`` at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree and its administrative files, whatever state it is in."""
    if git(root, "worktree", "remove", "--force", "--force", str(path), check=False).returncode != 0:
        shutil.rmtree(path, ignore_errors=True)
        git(root, "worktree", "prune", check=False)


def clean_stale(root: Path) -> list[Path]:
    """Remove every worktree under ``.runs/worktrees`` (call it holding the run lock); returns what went."""
    base = root / WORKTREES
    listed = _out(root, "worktree", "list", "--porcelain").splitlines()
    removed: list[Path] = []
    for entry in listed:
        if not entry.startswith("worktree "):
            continue
        path = Path(entry.removeprefix("worktree "))
        if path.is_relative_to(base) or _same_parent(path, base):
            remove_worktree(root, path)
            removed.append(path)
    if base.exists():
        removed.extend(p for p in base.glob("*/*") if p not in removed)
        shutil.rmtree(base, ignore_errors=True)
    git(root, "worktree", "prune")
    return removed


def _same_parent(path: Path, base: Path) -> bool:
    """Whether ``path`` lies under ``base`` once symlinks are resolved (e.g. /tmp vs /private/tmp)."""
    with contextlib.suppress(OSError):
        return path.resolve().is_relative_to(base.resolve())
    return False


def stage_all(cwd: Path) -> str:
    """Stage everything (respecting .gitignore, never the engine's folders) and return the tree id."""
    add_all(cwd)
    return _out(cwd, "write-tree")


def restore(cwd: Path, tree: str) -> None:
    """Put the worktree back to ``tree`` (the last staged state): before a retry of a step, before fix steps.

    Tracked files are reset and untracked, not ignored ones removed, so a failed try of a step or what an
    acceptance check left behind never becomes part of the patch. Ignored files (caches) stay.
    """
    git(cwd, "read-tree", "-u", "--reset", tree)
    git(cwd, "clean", "-ffdq", "--", *ALL_BUT_ENGINE)


def prepare(root: Path, path: Path, commit: str, patches: Sequence[Path]) -> str:
    """Make ``path`` a pristine worktree of ``commit`` plus ``patches`` in order; returns its tree id.

    A worktree left at ``path`` by an earlier workstream of the same run is reused: ``reset --hard``
    rewrites only the files that differ and ``clean -ffdx`` removes every untracked and ignored file, so
    the result is the same as a fresh ``worktree add`` at a fraction of the cost (checking out a whole
    tree is most of git's time per workstream). A worktree that cannot be reset is replaced.
    """
    fresh = True
    if (path / ".git").exists():
        reset = git(path, "reset", "--hard", "--quiet", commit, check=False)
        fresh = reset.returncode != 0 or git(path, "clean", "-ffdxq", check=False).returncode != 0
        if fresh:
            remove_worktree(root, path)
    if fresh:
        add_worktree(root, path, commit)
    applied = False
    for patch in patches:
        if patch.stat().st_size == 0:
            continue
        git(path, "apply", "--index", "--binary", "--whitespace=nowarn", str(patch))
        applied = True
    return _out(path, "write-tree") if applied else tree_of(path, commit)


def changes_between(cwd: Path, old_tree: str, new_tree: str) -> dict[str, str]:
    """Paths that differ between two trees and how: added, modified, deleted or renamed.

    For a rename the new path is ``renamed`` and the old one ``deleted``: both count as touched.
    """
    if old_tree == new_tree:
        return {}
    raw = git(cwd, "diff", "--name-status", "-z", "-M", *_DIFF, old_tree, new_tree).stdout.decode("utf-8")
    fields = raw.split("\0")
    changes: dict[str, str] = {}
    i = 0
    while i < len(fields) - 1:
        status = fields[i]
        if status[0] in "RC":
            old, new = fields[i + 1], fields[i + 2]
            if status[0] == "R":
                changes[old] = "deleted"
            changes[new] = CHANGE_KINDS[status[0]]
            i += 3
        else:
            changes[fields[i + 1]] = CHANGE_KINDS.get(status[0], "modified")
            i += 2
    return changes


def diff(cwd: Path, old_tree: str, new_tree: str) -> bytes:
    """The binary-safe patch turning ``old_tree`` into ``new_tree`` (empty when they are equal)."""
    if old_tree == new_tree:
        return b""
    return git(cwd, "diff", "--binary", "--full-index", "--no-renames", *_DIFF, old_tree, new_tree).stdout


def apply_to_tree(root: Path, patch: Path) -> None:
    """Apply a patch to the user's working tree (not the index), as the user's own edits would be."""
    if patch.stat().st_size:
        git(root, "apply", "--binary", "--whitespace=nowarn", str(patch))


def applies(cwd: Path, patch: Path) -> bool:
    """Whether ``patch`` would apply to the working tree of ``cwd`` right now (nothing is changed)."""
    if patch.stat().st_size == 0:
        return True
    return git(cwd, "apply", "--binary", "--check", str(patch), check=False).returncode == 0


def is_applied(cwd: Path, patch: Path) -> bool:
    """Whether the working tree already holds ``patch`` (it applies in reverse). An empty patch always is."""
    if patch.stat().st_size == 0:
        return True
    return git(cwd, "apply", "--binary", "--reverse", "--check", str(patch), check=False).returncode == 0
