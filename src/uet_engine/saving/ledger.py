"""The patch ledger's files: ``.ledger/patches/{workstream_id}-{run_id}.patch``, written atomically.

A patch is the saved result of a workstream, so it is written to a temporary file, fsynced and moved
into place with ``os.replace``: readers see the whole patch or none. The returned PatchLedgerEntry
(sha256, size, files) is what the store records and what ``verify`` checks the file against.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path

from uet_contracts import PatchLedgerEntry
from uet_engine import clock
from uet_engine.saving import atomic, codec

PATCH_DIR = ".ledger/patches"


def patch_id_for(workstream_id: str, run_id: str) -> str:
    """The PatchId of a workstream's patch in a run: ``PATCH-{workstream_id}-{run_id}``."""
    return f"PATCH-{workstream_id}-{run_id}"


def relative_path(workstream_id: str, run_id: str) -> str:
    """The repository-relative POSIX path of a workstream's patch file in a run."""
    return f"{PATCH_DIR}/{workstream_id}-{run_id}.patch"


def patch_path(repo: Path, entry: PatchLedgerEntry) -> Path:
    """The patch file an entry describes, inside ``repo``."""
    return Path(repo).joinpath(*entry.path.split("/"))


def sha256_of(data: bytes) -> str:
    """A Sha256 value (``sha256:`` + hex) of some bytes."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_patch(
    repo: Path,
    *,
    run_id: str,
    workstream_id: str,
    phase_id: str,
    patch: bytes,
    files: list[str],
    base_commit: str | None,
    created_at: datetime | None = None,
    durable: bool = True,
) -> PatchLedgerEntry:
    """Writes a workstream's patch file atomically and returns its ledger entry (not yet stored).

    ``durable``: fsynced before it is moved into place (power-loss safe); without it the file is as safe as
    the store's commits (it survives a crash of the engine) until ``sync_files`` makes it durable.
    """
    entry = PatchLedgerEntry(
        patch_id=patch_id_for(workstream_id, run_id),
        run_id=run_id,
        workstream_id=workstream_id,
        phase_id=phase_id,
        path=relative_path(workstream_id, run_id),
        sha256=sha256_of(patch),
        size_bytes=len(patch),
        files=sorted(set(files)),
        base_commit=base_commit,
        created_at=created_at or clock.utc_now(),
    )
    # Refuse a bad entry before the file exists, so no orphan patch is left behind.
    codec.encode(entry)
    target = patch_path(repo, entry)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_atomic(target, patch, sync=durable)
    return entry


def sync_files(repo: Path, entries: list[PatchLedgerEntry]) -> None:
    """Makes the patch files behind ``entries`` and their folder durable (the end of a ``normal`` run)."""
    for entry in entries:
        atomic.fsync_path(patch_path(repo, entry))
    if entries:
        atomic.fsync_path(patch_path(repo, entries[0]).parent)


Stamp = tuple[int, int, int, int]


def file_stamp(path: str | Path) -> Stamp | None:
    """A patch file's stamp (``clock.file_stamp``): None when it is gone or too recently changed to tell."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return clock.file_stamp(info)


def file_problems(repo: Path, entry: PatchLedgerEntry) -> list[str]:
    """What is wrong with the patch file behind ``entry``: missing, wrong size, wrong hash; [] when it matches."""
    path = patch_path(repo, entry)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [f"patch file {entry.path} is missing"]
    except OSError as exc:
        return [f"patch file {entry.path} cannot be read: {exc.strerror or exc}"]
    found = []
    if len(data) != entry.size_bytes:
        found.append(f"patch file {entry.path} has {len(data)} bytes, the ledger records {entry.size_bytes}")
    digest = sha256_of(data)
    if digest != entry.sha256:
        found.append(f"patch file {entry.path} has {digest}, the ledger records {entry.sha256}")
    return found
