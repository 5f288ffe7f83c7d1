"""The key that tells a workstream is up to date: what its result depends on, as far as the engine can see.

Why this key: a workstream's steps are commands, so the engine cannot know everything they read. What it
knows is the file scope (the files the spec says it creates, modifies or reads) and the prerequisites
(whose results it starts from). So the key of a success (``RunRecord.inputs_sha256``) is

    sha256("uet-inputs-v1" | scope digest | for each direct prerequisite, by workstream id: id, its key)

where the *scope digest* hashes every file of the tree the workstream *left* that matches one of its
``create``, ``modify`` or ``read_only`` patterns, as ``path`` and git blob id, in path order, less the
files a phase after it (a later topological level) claims in its own ``create`` or ``modify``: those
are that phase's to change, and its key covers them (``PH-02`` appending to a file ``PH-01A`` created
must not make ``PH-01A`` look changed). Taking the tree it left (not the one it started from) means one
comparison covers both halves of "nothing changed": its inputs are as they were, and its own patch is
still in the user's tree (every path a patch touches matches ``create`` or ``modify``, or the scope
check would have failed it). The prerequisites' keys make a change upstream reach every dependant, even
one that does not read the changed files.

A later run finds the same digest from the user's working tree (tracked and untracked, not ignored, as
the run's base snapshot sees it), hashing files the way git does, and compares. What the key does not
see: files a step reads outside its file scope, the environment, tools and time; files whose git blob
differs from their bytes (clean/smudge filters, end-of-line conversion) always look changed. ``uet run
--force`` runs everything whatever the keys say.
"""

from __future__ import annotations

import functools
import hashlib
import os
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from uet_contracts import PhaseSpec
from uet_engine.execution import isolation
from uet_engine.paths import PathIndex, compile_entries
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.saving import codec, ledger

KEY_VERSION = "uet-inputs-v1"
_WILDCARDS = "*?["


def is_glob(entry: str) -> bool:
    return any(char in entry for char in _WILDCARDS)


def literal_prefix(entry: str) -> str:
    """The characters of ``entry`` before its first wildcard: every path it matches starts with them."""
    entry = entry.rstrip()  # trailing white space is dropped, as git does (paths.py)
    cut = min((i for i in (entry.find(c) for c in _WILDCARDS) if i >= 0), default=len(entry))
    return entry[:cut]


def spec_sha256(spec: PhaseSpec) -> str:
    """SHA-256 of the spec's canonical JSON (the form the store writes: keys sorted, no whitespace)."""
    return ledger.sha256_of(codec.encode(spec).encode("utf-8"))


@dataclass(frozen=True)
class KeyScope:
    """The files of a workstream's key: those ``include`` matches and ``exclude`` does not."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


def key_scopes(phase_set: PhaseSet) -> dict[str, KeyScope]:
    """Each phase's KeyScope: its file scope, less what a phase of a later level claims (module doc).

    Only entries that overlap (``paths.PathIndex``: equal, or one a glob matching the other) are looked
    at, so the cost follows the overlaps, not the number of phase pairs.
    """
    level = {phase: i for i, names in enumerate(phase_set.topo_levels) for phase in names}
    owners: dict[str, set[str]] = {}
    for phase, spec in phase_set.specs.items():
        for entry in (*spec.file_scope.create, *spec.file_scope.modify):
            owners.setdefault(entry, set()).add(phase)
    index = PathIndex(owners)
    scopes = {}
    for phase, spec in phase_set.specs.items():
        scope = spec.file_scope
        include = sorted({*scope.create, *scope.modify, *scope.read_only})
        exclude = set()
        for entry in include:
            for claimed in [entry, *index.overlapping(entry)]:
                if any(level[other] > level[phase] for other in owners.get(claimed, ())):
                    exclude.add(claimed)
        scopes[phase] = KeyScope(tuple(include), tuple(sorted(exclude)))
    return scopes


def folders_of(patterns: Iterable[str]) -> list[str]:
    """The folders (POSIX, "" for the top) that can hold a match of ``patterns``: what git needs to list."""
    found = set()
    for pattern in patterns:
        prefix = literal_prefix(pattern.lstrip("/"))
        found.add(prefix.rsplit("/", 1)[0] if "/" in prefix else "")
    return [""] if "" in found else sorted(found)


def matching(paths: Sequence[str], patterns: Sequence[str], exclude: Sequence[str] = ()) -> list[str]:
    """The paths of ``paths`` (sorted) that one of ``patterns`` matches and none of ``exclude``, in order.

    Only the paths that start with a pattern's literal prefix are tested, so a spec naming a few files
    costs a few lookups in a large repository, not a pass over every file.
    """
    if not patterns:
        return []
    spec = compile_entries(patterns)
    found: set[str] = set()
    for pattern in patterns:
        prefix = literal_prefix(pattern.lstrip("/"))
        for i in range(bisect_left(paths, prefix), len(paths)):
            path = paths[i]
            if not path.startswith(prefix):
                break
            if path not in found and spec.match_file(path):
                found.add(path)
    if exclude and found:
        left_out = compile_entries(exclude)
        found = {path for path in found if not left_out.match_file(path)}
    return sorted(found)


def scope_digest(blobs: Mapping[str, str], scope: KeyScope) -> str:
    """The digest of the files of ``blobs`` (path → git blob id) that ``scope`` holds."""
    digest = hashlib.sha256()
    for path in matching(sorted(blobs), scope.include, scope.exclude):
        digest.update(f"{path}\0{blobs[path]}\n".encode())
    return "sha256:" + digest.hexdigest()


def key(scope: str, prerequisites: Mapping[str, str | None]) -> str:
    """A success's key from its scope digest and its direct prerequisites' keys (workstream id → key)."""
    digest = hashlib.sha256(f"{KEY_VERSION}\n{scope}\n".encode())
    for workstream_id in sorted(prerequisites):
        digest.update(f"{workstream_id} {prerequisites[workstream_id] or '-'}\n".encode())
    return "sha256:" + digest.hexdigest()


# -- where the blobs come from -------------------------------------------------------------------------
#
# A pattern that names one file (no wildcard, not a folder) is hashed straight from the disk, on both
# sides (the slot right after the steps, the user's tree at the next run): no git call. Folders and
# globs need a listing: the tree the steps left (``ls-tree``), the user's tracked and untracked files
# (``ls-files``, not ignored). The same rule on both sides makes the same digest of the same files.


def blobs_after_steps(slot: Path, tree: str, patterns: Sequence[str]) -> dict[str, str]:
    """Path → blob id of the files ``patterns`` match in a slot whose steps left ``tree`` (staged and on disk)."""
    direct, listed = _direct(slot, patterns)
    return {**tree_blobs(slot, tree, listed), **direct}


def worktree_blobs(root: Path, patterns: Sequence[str]) -> dict[str, str]:
    """Path → blob id of the user's files that ``patterns`` match, as a slot's ``blobs_after_steps`` would say."""
    direct, listed = _direct(root, patterns)
    return {**_listed_worktree(root, listed), **direct}


def tree_blobs(cwd: Path, tree: str, patterns: Sequence[str]) -> dict[str, str]:
    """Path → blob id of the files of ``tree`` that ``patterns`` match (no git call for no patterns)."""
    if not patterns:
        return {}
    folders = [f for f in folders_of(patterns) if f]
    raw = isolation.git(cwd, "ls-tree", "-r", "-z", "--full-tree", tree, "--", *folders).stdout.decode("utf-8")
    blobs = {}
    for entry in raw.split("\0"):
        if entry:
            meta, path = entry.split("\t", 1)
            blobs[path] = meta.split()[2]
    return {path: blobs[path] for path in matching(sorted(blobs), patterns)}


def _listed_worktree(root: Path, patterns: Sequence[str]) -> dict[str, str]:
    """The user's files (tracked and untracked, not ignored) that ``patterns`` match, hashed as git does.

    Only the files in the folders the patterns name are listed and read. A tracked file that is missing
    is left out, as a deletion.
    """
    if not patterns:
        return {}
    folders = [f for f in folders_of(patterns) if f] or ["."]
    listed = isolation.git(
        root,
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        *folders,
        *isolation.ALL_BUT_ENGINE[1:],
    ).stdout.decode("utf-8")
    paths = sorted(set(p for p in listed.split("\0") if p))
    algorithm = object_format(root)
    blobs = {}
    for path in matching(paths, patterns):
        data = _read(root / path)
        if data is not None:
            blobs[path] = blob_id(data, algorithm)
    return blobs


def _direct(root: Path, patterns: Sequence[str]) -> tuple[dict[str, str], list[str]]:
    """The blobs of the patterns that name one file (read from disk), and the patterns that need a listing."""
    direct: dict[str, str] = {}
    listed: list[str] = []
    for pattern in patterns:
        name = pattern.lstrip("/")
        path = root / name
        if is_glob(name) or name.endswith("/") or (path.is_dir() and not path.is_symlink()):
            listed.append(pattern)
            continue
        data = _read(path)
        if data is not None:
            direct[name] = blob_id(data, object_format(root))
    return direct, listed


def blob_id(data: bytes, algorithm: str) -> str:
    """The id git gives a blob of ``data``."""
    return hashlib.new(algorithm, b"blob %d\0" % len(data) + data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        if path.is_symlink():
            return os.readlink(path).encode()
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


@functools.lru_cache(maxsize=256)
def object_format(root: Path) -> str:
    """The hash git names objects with in this repository (sha1, or sha256); asked once per folder."""
    found = isolation.git(root, "rev-parse", "--show-object-format", check=False).stdout.decode().strip()
    return found or "sha1"
