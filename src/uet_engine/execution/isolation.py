"""Isolation through git: each workstream in a pristine worktree, its changes brought back as a binary patch.

Why: workstreams that run at the same time must not see each other's half-done work, and a failed
workstream must leave nothing behind. So each runs in a detached worktree, and only its patch, captured
against the state it started from, ever reaches the user's tree.

What a workstream starts from costs time in its *direct* prerequisites only, never in all its
ancestors: every success becomes a commit (its end tree, whose parent is the commit it started from),
and a workstream starts from its direct prerequisites' commits: the run's base commit when it has none,
that commit when it has one, their merge (``git merge-tree --write-tree``, no worktree needed) when it
has several. Ancestors further up are already inside those commits. The commits are internal: they
live in the repository's object store, reachable from the slots' HEADs while a run goes on (the user's
tree still receives the successes' patches from ``.ledger/patches``, in dependency order).

Worktrees are *slots* (``.runs/worktrees/slot-<n>``), kept across runs; this module makes, finds and removes
them, and ``uet_engine.execution.slots`` makes a used one pristine for the next workstream.

What a step changed is found in one walk of the slot (``stage_changes``: ``git status``, HEAD against the
index against the files, untracked files one by one) and exactly those paths are staged, with no second
walk (``git add -A`` walks the whole tree again); a step that changed nothing costs that one walk and
writes nothing. The walks never use an untracked cache or a looser look at stat data, whatever a step
wrote into the worktree's config or index (``WALK_SAFETY``). What the walks cost is one ``lstat`` per tracked
file and one read per folder: in a large repository a workstream pays that twice (the slot's check before
it, the walk after its steps), the least that still sees everything a step, a check or a process they
left behind changed.

The base commit is the user's working tree as it is when the run starts: HEAD when the tree is clean,
else a commit made from HEAD plus the uncommitted and untracked (not ignored) files, kept alive by the
ref ``refs/uet/runs/<run_id>``. Uncommitted changes are therefore neither refused nor lost: the
workstreams build on them, and the patches apply cleanly on top of them at the end.

The engine's own folders ``.runs/`` and ``.ledger/`` are never part of a snapshot or a patch (git
pathspec excludes, so the user's ``.git/info/exclude`` is left alone); ``.gitignore``d files are never
captured either. Every path handed back is POSIX, as git writes it.

Every git command the engine runs ignores what a step could have planted to make git run something:
``core.fsmonitor`` is off, hooks are off (``core.hooksPath`` is the null device) and submodules are
never entered. In a worktree, git is pointed at the worktree's administrative folder explicitly
(``--git-dir``, recorded when the engine made the worktree), never through the worktree's ``.git`` file,
which a step can rewrite.

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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from uet_engine.errors import GitError, MergeConflict, NotAGitRepo

ENGINE_DIRS = (".runs", ".ledger")
# Pathspec for "everything but the engine's own folders". Written as a glob that names no path literally
# (".run[s]/**"): git add fails when an exclude pathspec names a path that is ignored ("The following paths are
# ignored…"), and the engine lists its folders in .git/info/exclude.
ALL_BUT_ENGINE = (".", *(f":(exclude,top,glob){name[:-1]}[{name[-1]}]/**" for name in ENGINE_DIRS))
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

# Configuration every engine git command runs with (see the module docstring); passed on to the git
# processes git itself starts, through GIT_CONFIG_PARAMETERS, and stronger than any config file.
_SAFE = ("-c", "core.fsmonitor=false", "-c", f"core.hooksPath={os.devnull}", "-c", "submodule.recurse=false")

# The administrative folder of each worktree the engine made: worktree path -> its git dir.
_ADMIN: dict[Path, Path] = {}
_ADMIN_LOCK = threading.Lock()
_TREE_DIRS: dict[str, frozenset[str]] = {}  # tree id -> its folders (``tree_dirs``)

# What a repository in the middle of an operation has in its git dir, and how a person finishes it.
UNFINISHED = (
    ("MERGE_HEAD", "a merge", "finish it with git commit, or abort it with git merge --abort"),
    ("rebase-merge", "a rebase", "finish it with git rebase --continue, or abort it with git rebase --abort"),
    ("rebase-apply", "a rebase or git am", "finish it with git rebase --continue (or git am --continue), or abort it"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "finish it with git cherry-pick --continue, or abort it with --abort"),
    ("REVERT_HEAD", "a revert", "finish it with git revert --continue, or abort it with git revert --abort"),
    ("BISECT_LOG", "a bisect", "end it with git bisect reset"),
)


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
            _argv(cwd, args),
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
    if check:
        _raise_for(args, done)
    return done


def _argv(cwd: Path, args: Sequence[str]) -> list[str]:
    """The command line of ``git ARGS`` in ``cwd``: the safe options, and the git dir of a slot the engine made."""
    with _ADMIN_LOCK:
        admin = _ADMIN.get(cwd)
    where = (f"--git-dir={admin}", f"--work-tree={cwd}") if admin is not None else ()
    return ["git", *_SAFE, *where, *args]


def _raise_for(args: Sequence[str], done: subprocess.CompletedProcess[bytes]) -> None:
    """GitError with the last line git wrote to stderr, when the command failed."""
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        reason = message[-1] if message else f"exit code {done.returncode}"
        raise GitError(f"git {args[0]} failed: {reason}")


class Started:
    """A git command started now and waited for later: what depends only on trees already written (a workstream's
    patch, its commit) is made while its acceptance checks run, off the chain of workstreams' critical path.

    ``result`` waits (its wait alone counts in ``GIT_TIME``: the time a caller spent on git); ``close`` ends a
    command nobody needs any more and reaps it. Its output goes to pipes read at the end, so a command writing more
    than a pipe holds simply waits for ``result``.
    """

    def __init__(self, cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> None:
        self.args = args
        start = time.perf_counter()
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                _argv(cwd, args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=None if env is None else {**os.environ, **env},
            )
        except FileNotFoundError as exc:
            raise GitError("git is not installed or not on PATH") from exc
        finally:
            self._spent = time.perf_counter() - start
        self._done: subprocess.CompletedProcess[bytes] | None = None

    def result(self) -> subprocess.CompletedProcess[bytes]:
        """The finished command (GitError when it failed)."""
        if self._done is None:
            assert self._process is not None, "closed before its result was read"
            start = time.perf_counter()
            try:
                out, err = self._process.communicate()
            finally:
                GIT_TIME.add(self._spent + time.perf_counter() - start)
            self._done = subprocess.CompletedProcess(self._process.args, self._process.returncode, out, err)
            self._process = None
        _raise_for(self.args, self._done)
        return self._done

    def close(self) -> None:
        """Ends the command if it still runs and reaps it; its result is lost."""
        if self._process is not None:
            with contextlib.suppress(OSError):
                self._process.kill()
            self._process.communicate()
            self._process = None


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
            # copy2 keeps the mtime too: git tells a racily clean entry by comparing it with the index's own mtime,
            # so a fresh mtime would hide a file changed in the same second as it was staged.
            shutil.copy2(index, temp_index)  # keeps git's stat cache: unchanged files are not re-read
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


def slot_path(root: Path, slot: int) -> Path:
    """Where the slot for the ``slot``-th workstream running at the same time lives (kept across runs)."""
    return root / WORKTREES / f"slot-{slot}"


# ``git worktree add`` reads every other worktree's administrative folder; one being made at the same time
# fails it ("failed to read .git/worktrees/slot-0/commondir"). So this process adds and removes one at a time.
_WORKTREE_ADMIN = threading.Lock()


def add_worktree(root: Path, path: Path, commit: str) -> None:
    """A detached worktree of ``commit`` at ``path``; its administrative folder is recorded (module docstring)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with _WORKTREE_ADMIN:
        git(root, "worktree", "add", "--detach", "--quiet", str(path), commit)
    admin = Path(_out(path, "rev-parse", "--path-format=absolute", "--absolute-git-dir"))
    with _ADMIN_LOCK:
        _ADMIN[path] = admin


def admin_dir(path: Path) -> Path | None:
    """The administrative git folder of a worktree the engine made, or None."""
    with _ADMIN_LOCK:
        return _ADMIN.get(path)


def _find_admin(root: Path, path: Path) -> Path | None:
    """The administrative folder of a slot carried over from an earlier run, found from the repository's side
    (``.git/worktrees/*/gitdir`` naming ``path/.git``), never through the slot's own ``.git`` file."""
    with contextlib.suppress(GitError, OSError):
        folder = common_dir(root) / "worktrees"
        wanted = (path / ".git").resolve()
        for admin in sorted(folder.iterdir()) if folder.is_dir() else []:
            gitdir = admin / "gitdir"
            if gitdir.is_file() and Path(gitdir.read_text(encoding="utf-8").strip()).resolve() == wanted:
                return admin.resolve()
    return None


def pointer_intact(root: Path, path: Path) -> bool:
    """Whether a worktree's ``.git`` file still names the administrative folder the engine knows for it (the
    one it recorded, or for a slot of an earlier run the one the repository names); that folder is recorded."""
    admin = admin_dir(path) or _find_admin(root, path)
    pointer = path / ".git"
    if admin is None or pointer.is_symlink() or not pointer.is_file():
        return False
    try:
        text = pointer.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return False
    intact = text == f"gitdir: {admin}" or Path(text.removeprefix("gitdir: ")).resolve() == admin.resolve()
    if intact:
        with _ADMIN_LOCK:
            _ADMIN[path] = admin
    return intact


def remove_worktree(root: Path, path: Path) -> None:
    """Remove a worktree and its administrative files, whatever state it is in."""
    with _ADMIN_LOCK:
        _ADMIN.pop(path, None)
    with _WORKTREE_ADMIN:
        if git(root, "worktree", "remove", "--force", "--force", str(path), check=False).returncode != 0:
            shutil.rmtree(path, ignore_errors=True)
            git(root, "worktree", "prune", check=False)


def _is_slot(path: Path, base: Path) -> bool:
    return path.parent == base and path.name.startswith("slot-") and path.name[5:].isdigit()


def clean_stale(root: Path, *, keep_slots: bool = True) -> list[Path]:
    """Remove every worktree under ``.runs/worktrees`` but the slots (call it holding the run lock).

    Returns what went. With ``keep_slots`` False the slots go too. Left-overs of engines that kept one
    folder of worktrees per run, and anything in that folder git does not know as a worktree, are removed.
    """
    base = root / WORKTREES
    listed = _out(root, "worktree", "list", "--porcelain").splitlines()
    removed: list[Path] = []
    registered: set[Path] = set()
    for entry in listed:
        if not entry.startswith("worktree "):
            continue
        path = Path(entry.removeprefix("worktree "))
        if path.is_relative_to(base) or _same_parent(path, base):
            inside = base / path.resolve().relative_to(base.resolve())
            if keep_slots and _is_slot(inside, base) and inside.is_dir():
                registered.add(inside)
                continue
            remove_worktree(root, inside)
            removed.append(inside)
    if base.exists():
        for child in sorted(base.iterdir()):
            if child in registered:
                continue
            if child not in removed:
                removed.append(child)
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        if not registered:
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


# What git may not use or skip in a walk of a slot, whatever a step wrote into the worktree's config or index:
# an untracked cache (a planted one could hide a file), or a looser look at each file's stat data.
WALK_SAFETY = (
    "-c",
    "core.untrackedCache=false",
    "-c",
    "core.ignoreStat=false",
    "-c",
    "core.checkStat=default",
    "-c",
    "core.trustctime=true",
)
_ENGINE_PREFIXES = tuple(f"{name}/".encode() for name in ENGINE_DIRS)


@dataclass(frozen=True)
class Walk:
    """What one ``git status`` of a worktree found against its HEAD: the paths to stage, and whether staging
    exactly those paths does what ``git add -A`` would (``plain``)."""

    head: str  # the HEAD commit the worktree is at
    paths: tuple[bytes, ...]  # tracked paths that differ (staged or not) and untracked files, as git wrote them
    plain: bool  # False: an entry only ``git add -A`` handles (a nested repository, a submodule, a conflict, …)


def walk(cwd: Path) -> Walk:
    """One walk of a worktree (``git status --porcelain=v2``: HEAD against the index against the files, and the
    untracked files one by one; ``.gitignore``d files are left out, as ``git add -A`` leaves them)."""
    out = git(
        cwd,
        *WALK_SAFETY,
        "status",
        "--porcelain=v2",
        "-z",
        "--branch",
        "--untracked-files=all",
        "--ignored=no",
        "--ignore-submodules=dirty",  # a submodule's commit, read without running git inside it
        "--no-renames",
    ).stdout
    head, paths, plain = "", [], True
    fields = iter(out.split(b"\0"))
    for entry in fields:
        kind = entry[:2]
        if entry.startswith(b"# branch.oid "):
            head = entry[13:].decode("ascii", errors="replace")
        elif kind == b"1 ":
            parts = entry.split(b" ", 8)
            plain = plain and parts[2] == b"N..." and not parts[8].startswith(_ENGINE_PREFIXES)
            paths.append(parts[8])
        elif kind == b"? ":
            path = entry[2:]
            if not path.startswith(_ENGINE_PREFIXES):  # ``git add -A`` leaves those out (``ALL_BUT_ENGINE``)
                plain = plain and not path.endswith(b"/")  # a folder: a nested repository
                paths.append(path)
        elif entry and not entry.startswith(b"#"):  # a rename (its old path follows), a conflict
            plain = False
            if kind == b"2 ":
                next(fields, None)
    return Walk(head, tuple(paths), plain)


def stage_changes(cwd: Path, head: str, head_tree: str) -> str:
    """What ``stage_all`` does, for a worktree at commit ``head`` (whose tree is ``head_tree``), in one walk.

    ``walk`` lists what differs; exactly those paths are staged (``git update-index --add --remove
    --replace``: a new file is added, a missing one removed, a file that became a folder or the reverse
    replaced), with no second walk, and nothing at all is written when nothing differs (the tree is
    ``head_tree``). When the worktree is not at ``head`` any more (a step committed) or an entry is one
    only ``git add -A`` handles, ``stage_all`` runs instead. Returns the tree id.
    """
    staged = _stage_walked(cwd, head)
    if staged is None:
        return stage_all(cwd)
    return _out(cwd, "write-tree") if staged else head_tree


def stage_and_diff(cwd: Path, head: str, head_tree: str, old_tree: str) -> tuple[str, Entries]:
    """``stage_changes``, and ``diff_entries`` from ``old_tree`` (the tree staged before) to what it staged.

    Where exactly the walked paths are staged, the diff is read from the index (``diff-index --cached``) while
    ``write-tree`` writes the tree from the same index, side by side: one git process's time fewer per step.
    """
    staged = _stage_walked(cwd, head)
    if not staged:
        tree = stage_all(cwd) if staged is None else head_tree
        return tree, diff_entries(cwd, old_tree, tree)
    writing = Started(cwd, "write-tree")
    try:
        raw = git(cwd, "diff-index", "--cached", *_RAW[1:], old_tree).stdout
    finally:
        tree = writing.result().stdout.decode("utf-8").strip()
    return tree, _entries(cwd, raw) if tree != old_tree else {}


def _stage_walked(cwd: Path, head: str) -> bool | None:
    """One ``walk``, and exactly the paths it lists staged: True when some were, False when nothing differs, None
    when ``stage_all`` must do it (the worktree left ``head``, or an entry only ``git add -A`` handles)."""
    found = walk(cwd)
    if found.head != head or not found.plain:
        return None
    if not found.paths:
        return False
    listed = b"".join(path + b"\0" for path in found.paths)
    git(cwd, "update-index", "--add", "--remove", "--replace", "-z", "--stdin", input=listed)
    return True


def restore(cwd: Path, tree: str) -> None:
    """Put the worktree back to ``tree`` (the last staged state): before a retry of a step, before fix steps.

    Tracked files are reset and untracked, not ignored ones removed, so a failed try of a step or what an
    acceptance check left behind never becomes part of the patch. Ignored files (caches) stay.
    """
    git(cwd, "read-tree", "-u", "--reset", tree)
    git(cwd, "clean", "-ffdq", "--", *ALL_BUT_ENGINE)


def merge(cwd: Path, first: str, second: str) -> str:
    """A commit whose tree merges commits ``first`` and ``second`` (parents: both), made without a worktree.

    ``MergeConflict`` naming the paths when both change the same lines.
    """
    done = git(cwd, "merge-tree", "--write-tree", "--name-only", "-z", first, second, check=False)
    fields = done.stdout.decode("utf-8", errors="replace").split("\0")
    if done.returncode == 1:
        # Output: the tree, then the conflicted paths, then an empty field before the messages.
        paths = list(dict.fromkeys(fields[1 : fields.index("", 1) if "" in fields[1:] else None]))
        raise MergeConflict(
            f"the prerequisites' changes conflict ({first[:12]} and {second[:12]}): {', '.join(paths) or '?'}"
        )
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", errors="replace").strip().splitlines()
        raise GitError(f"git merge-tree failed: {message[-1] if message else f'exit code {done.returncode}'}")
    tree = fields[0].strip()
    return _out(cwd, "commit-tree", tree, "-p", first, "-p", second, "-m", "uet: prerequisites merged", env=_IDENTITY)


def start_commit(cwd: Path, base: str, parents: Sequence[str]) -> str:
    """The commit a workstream starts from: ``base`` without prerequisite commits, else their merge (in order)."""
    if not parents:
        return base
    commit = parents[0]
    for other in parents[1:]:
        commit = merge(cwd, commit, other)
    return commit


def commit_result(cwd: Path, tree: str, parent: str) -> str:
    """The commit of a workstream's end ``tree`` on top of the commit it started from (its dependants' start)."""
    return _out(cwd, *_COMMIT, tree, "-p", parent, env=_IDENTITY)


_COMMIT = ("commit-tree", "-m", "uet: workstream result")


def common_dir(root: Path) -> Path:
    """The repository's common git folder (the main repository's ``.git``, also seen from a worktree)."""
    return Path(_out(root, "rev-parse", "--path-format=absolute", "--git-common-dir"))


def prune_worktrees(root: Path) -> None:
    """``git worktree prune``: forget worktrees whose folder is gone (one at a time with adding and removing)."""
    with _WORKTREE_ADMIN:
        git(root, "worktree", "prune", check=False)


def changes_between(cwd: Path, old_tree: str, new_tree: str) -> dict[str, str]:
    """Paths that differ between two trees and how: added, modified, deleted or renamed.

    For a rename the new path is ``renamed`` and the old one ``deleted``: both count as touched.
    """
    return {path: kind for path, (kind, _mode, _target) in diff_entries(cwd, old_tree, new_tree).items()}


def diff_entries(cwd: Path, old_tree: str, new_tree: str) -> Entries:
    """Like ``changes_between``, each path with its change kind, its new git mode (empty when deleted) and, for a
    symbolic link, its target (read from the object store, never from the disk): one ``diff --raw``."""
    if old_tree == new_tree:
        return {}
    return _entries(cwd, git(cwd, *_RAW, old_tree, new_tree).stdout)


_RAW = ("diff", "--raw", "-z", "-M", *_DIFF)
Entries = dict[str, tuple[str, str, str | None]]  # path -> change kind, git mode, symlink target (diff_entries)


def _entries(cwd: Path, raw: bytes) -> Entries:
    """``diff_entries``'s answer from the raw output of a diff (``diff`` of two trees, ``diff-index --cached``)."""
    fields = raw.decode("utf-8", errors="surrogateescape").split("\0")
    found: dict[str, tuple[str, str, str | None]] = {}
    links: dict[str, str] = {}
    i = 0
    while i < len(fields) - 1:
        meta = fields[i].split()
        status = meta[4] if len(meta) > 4 else "M"
        mode, blob = (meta[1], meta[3]) if len(meta) > 4 else ("", "")
        if status[0] in "RC":
            old, new = fields[i + 1], fields[i + 2]
            if status[0] == "R":
                found[old] = ("deleted", "", None)
            path, kind = new, CHANGE_KINDS[status[0]]
            i += 3
        else:
            path, kind = fields[i + 1], CHANGE_KINDS.get(status[0], "modified")
            i += 2
        found[path] = (kind, "" if status[0] == "D" else mode, None)
        if mode == "120000" and status[0] != "D":
            links[path] = blob
    if links:
        batch = "".join(f"{blob}\n" for blob in links.values()).encode()
        out = git(cwd, "cat-file", "--batch", input=batch).stdout
        for path in links:
            header, _, out = out.partition(b"\n")
            size = int(header.split()[2]) if header.count(b" ") == 2 else 0
            found[path] = (found[path][0], "120000", out[:size].decode("utf-8", errors="surrogateescape"))
            out = out[size + 1 :]
    return found


def diff(cwd: Path, old_tree: str, new_tree: str) -> bytes:
    """The binary-safe patch turning ``old_tree`` into ``new_tree`` (empty when they are equal)."""
    if old_tree == new_tree:
        return b""
    return git(cwd, *_PATCH, old_tree, new_tree).stdout


_PATCH = ("diff", "--binary", "--full-index", "--no-renames", *_DIFF)


def result_started(cwd: Path, old_tree: str, new_tree: str, parent: str) -> tuple[Started, Started]:
    """``diff`` and ``commit_result`` of a workstream that changed something (``old_tree`` != ``new_tree``), both
    started now and read later (``Started.result``)."""
    patch = Started(cwd, *_PATCH, old_tree, new_tree)
    try:
        commit = Started(cwd, *_COMMIT, new_tree, "-p", parent, env=_IDENTITY)
    except BaseException:
        patch.close()
        raise
    return patch, commit


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


def tree_dirs(cwd: Path, tree: str) -> frozenset[str]:
    """Every folder of a tree, as repository paths (kept per tree id: the workstreams of a run share trees)."""
    with _ADMIN_LOCK:
        found = _TREE_DIRS.get(tree)
    if found is None:
        out = git(cwd, "ls-tree", "-r", "-d", "-z", "--name-only", tree).stdout
        found = frozenset(name for name in out.decode("utf-8", errors="surrogateescape").split("\0") if name)
        remember_tree_dirs(tree, found)
    return found


def remember_tree_dirs(tree: str, folders: frozenset[str]) -> None:
    """What ``tree_dirs`` will answer for ``tree`` from now on: a workstream that made the tree knows its folders
    (those it started with and those of what it changed), so its dependants, which start from it, need no
    ``ls-tree``. More folders than the tree has (one a step emptied) only cost a look each; fewer would not do."""
    with _ADMIN_LOCK:
        if len(_TREE_DIRS) > 64:
            _TREE_DIRS.clear()
        _TREE_DIRS[tree] = folders


# A status through a private copy of the index (``working_tree_status``): git may keep its untracked cache
# there (the mode it was made for must be the one asked: ``-uall``), and never splits it into the git folder.
_PRIVATE_INDEX = (
    "-c",
    "core.untrackedCache=true",
    "-c",
    "status.showUntrackedFiles=all",
    "-c",
    "core.splitIndex=false",
)


def working_tree_status(root: Path, paths: Iterable[str] = (), *, index: Path | None = None) -> bytes:
    """``git status`` of the user's tree (porcelain, NUL-separated, untracked files listed one by one), the
    engine's folders left out; the user's index is never rewritten.

    ``paths`` (repository paths) limit it to those paths, each taken literally; none: the whole tree. Renames
    are not looked for (``--no-renames``): a staged rename is its deletion and its addition, which compare
    just as well, and the search for them costs time in every call.

    ``index``: a private copy of the user's index (its entries the same) that git may rewrite: git keeps its
    stat data fresh there and, for the whole tree, its untracked cache (only the folders whose stamp changed
    are read again), which git uses only without a pathspec: the engine's folders are then dropped from the
    output instead (``.git/info/exclude`` keeps git from walking them). The output is the same either way.
    Without it, ``--no-optional-locks`` keeps git from rewriting the user's index.
    """
    listed = [f":(top,literal){path}" for path in paths]
    if index is None:
        options: tuple[str, ...] = ("--no-optional-locks",)
        env = None
    else:
        options, env = _PRIVATE_INDEX, {"GIT_INDEX_FILE": str(index)}
    whole = index is not None and not listed  # no pathspec: the untracked cache is used
    pathspec = () if whole else ("--", *(listed or ALL_BUT_ENGINE[:1]), *ALL_BUT_ENGINE[1:])
    status = ("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=all", "--no-renames")
    out = git(root, *options, *status, *pathspec, env=env).stdout
    return _without_engine_dirs(out) if whole else out


def _without_engine_dirs(status: bytes) -> bytes:
    """Porcelain v1 ``-z`` status output (no renames) without the entries in the engine's folders."""
    prefixes = tuple(f"{name}/".encode() for name in ENGINE_DIRS)
    kept = [entry for entry in status.split(b"\0") if entry and not entry[3:].startswith(prefixes)]
    return b"".join(entry + b"\0" for entry in kept)


def git_dirs(root: Path) -> tuple[Path, Path]:
    """The repository's git folder and its common folder (the same unless ``root`` is itself a worktree)."""
    out = _out(root, "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir").splitlines()
    return Path(out[0]), Path(out[-1])


def unfinished_operation(root: Path) -> str | None:
    """Why the repository cannot be run on now: a merge, rebase, cherry-pick, revert or bisect under way, or
    unmerged paths; None when it is at rest."""
    git_dir, common = git_dirs(root)
    for name, what, how in UNFINISHED:
        if (git_dir / name).exists() or (common / name).exists():
            return f"{root} is in the middle of {what}; {how}, then run again"
    unmerged = git(root, "ls-files", "--unmerged", "-z").stdout
    if unmerged:
        first = unmerged.split(b"\t", 1)[-1].split(b"\0", 1)[0].decode("utf-8", errors="replace")
        return f"{root} has unmerged paths (e.g. {first}); resolve them and git add them, then run again"
    return None


def exclude_engine_folders(root: Path) -> bool:
    """Keep ``.runs/`` and ``.ledger/`` out of ``git add -A`` through ``.git/info/exclude`` (no tracked file is
    touched); whether a line was added."""
    exclude = git_dirs(root)[1] / "info" / "exclude"
    try:
        text = exclude.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    present = {line.strip() for line in text.splitlines()}
    missing = [f"/{name}/" for name in ENGINE_DIRS if f"/{name}/" not in present and f"/{name}" not in present]
    if not missing:
        return False
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# uet: the engine's records (uet run)", *missing]
    sep = "" if not text or text.endswith("\n") else "\n"
    exclude.write_text(text + sep + "\n".join(lines) + "\n", encoding="utf-8")
    return True
