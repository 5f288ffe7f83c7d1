"""Ids and paths as PhaseSpec needs them, derived deterministically from what the users' files hold.

The rules (documented in the guide "Bring your existing plans"):

- a workstream id is lower-cased, every run of characters other than letters and digits becomes one
  ``-``, and ``ws-`` is put in front when it is not there: ``WS-INFRASTRUCTURE`` → ``ws-infrastructure``,
  ``Task Queue`` → ``ws-task-queue``. PhaseSpec's WorkstreamId stays lower-case: ids that differ only in
  case would name the same worktree and patch file on case-insensitive file systems.
- a legacy workstream's phase id is ``PH-`` and its workstream id without ``ws-``
  (``ws-task-queue`` → ``PH-task-queue``); when that is longer than a PhaseId allows (64 characters after
  ``PH-``), its first 55 characters, ``-`` and the first 8 hex digits of the SHA-256 of the workstream id.
- a V3 phase id is kept when valid; otherwise ``PH-`` and its letters, digits, ``.``, ``_`` and ``-``;
- a tool name is lower-cased with other characters replaced by ``-`` (``GitHub Copilot`` → ``github-copilot``);
- a path becomes a RepoPath: ``\\`` → ``/``, a leading ``./`` and doubled ``/`` removed; an absolute path, a
  drive letter, ``~`` or a ``..`` segment cannot be expressed and is refused (the caller drops it).
"""

from __future__ import annotations

import hashlib
import re

_PHASE_BODY = 64
_HASHED_PREFIX = 55


def workstream_id(raw: str) -> str | None:
    """The WorkstreamId for a source's id, None when nothing of it is usable."""
    slug = re.sub(r"[^a-z0-9]+", "-", raw.strip().lower()).strip("-")
    if slug.startswith("ws-"):
        slug = slug[3:]
    elif slug == "ws":
        slug = ""
    slug = slug[:128].strip("-")
    return f"ws-{slug}" if slug else None


def phase_id_for_workstream(ws_id: str) -> str:
    """The phase id of a legacy workstream (see the module docstring)."""
    body = ws_id[3:] if ws_id.startswith("ws-") else ws_id
    if len(body) > _PHASE_BODY:
        digest = hashlib.sha256(ws_id.encode("utf-8")).hexdigest()[:8]
        body = f"{body[:_HASHED_PREFIX].rstrip('-')}-{digest}"
    return f"PH-{body}"


def phase_id(raw: str) -> str | None:
    """A valid PhaseId for a V3 phase id (itself when valid), None when it has no usable character."""
    body = re.sub(r"^PH[^A-Za-z0-9]*", "", raw.strip(), flags=re.I)
    body = re.sub(r"[^A-Za-z0-9._-]+", "-", body)
    body = re.sub(r"^[^A-Za-z0-9]+", "", body)[:_PHASE_BODY]
    return f"PH-{body}" if body else None


def tool_id(raw: str) -> str | None:
    """A ToolProfileId for a tool name (lower-cased, other characters to ``-``), None when none can be made."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", raw.strip().lower())
    slug = re.sub(r"^[^a-z]+", "", slug).rstrip("-")[:64]
    return slug or None


def repo_path(raw: str) -> str | None:
    """The RepoPath form of a source path, None when it cannot be one (absolute, ``..``, empty)."""
    path = raw.strip().replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    path = re.sub(r"/{2,}", "/", path)
    if not path or path.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", path) or "\x00" in path:
        return None
    if any(segment == ".." for segment in path.split("/")):
        return None
    return path
