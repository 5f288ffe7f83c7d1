"""Everything a hook or error plugin author needs, from one public module (the original pipeline design's
``error_shared``: types, time, hashing, JSON Lines, environment and security helpers).

Why one module: a plugin package should depend on one import that stays put while the engine's own
modules move. Everything here is re-exported from where it lives, so it is the same object the engine
uses — the fingerprint a plugin computes is the one ``uet errors`` groups by, and a JSONL file written
with ``JsonlWriter`` follows the same crash rules as ``.runs/errors.jsonl``.

- contract types: ``ErrorEvent``, ``ErrorCategory``, ``ErrorType``, ``ExecutionRequest``, ``ExecutionResult``,
  ``RunRecord``; ``to_dict`` and ``validate`` to go to and from plain data;
- writing a plugin: ``ErrorPlugin`` (the protocol), ``finding`` (an ErrorEvent of the failed task from one
  finding), ``output_of`` (stdout then stderr), ``repo_path`` (a printed path as a repository path, or None);
- writing a hook: ``Hook`` (the protocol) and ``BaseHook`` (no-op methods to override);
- time: ``utc_now`` (aware UTC, as every record's timestamps);
- hashing: ``fingerprint`` and ``normalise`` (what groups repeats of one failure);
- JSON Lines: ``JsonlWriter`` (validated lines, fsynced, rotated by size), ``read_lines`` and ``torn_tail``;
- environment and security: ``Redactor`` (mask secret values; ``Redactor.for_environment(os.environ)``),
  ``is_secret_name`` and ``cap`` (head and tail of long output).

Why the JSONL writer is reachable from here although detection may not import saving (the layers
contract): it lives in ``uet_engine.jsonl``, a domain module below both stages, which the audit log and
the error log (saving) build on too.
"""

from __future__ import annotations

from uet_contracts import (
    ErrorCategory,
    ErrorEvent,
    ErrorType,
    ExecutionRequest,
    ExecutionResult,
    RunRecord,
    to_dict,
    validate,
)
from uet_engine.clock import utc_now
from uet_engine.detection.fingerprints import fingerprint, normalise
from uet_engine.detection.hooks import BaseHook, Hook
from uet_engine.detection.plugins.base import ErrorPlugin, finding, output_of, repo_path
from uet_engine.detection.redact import Redactor, cap, is_secret_name
from uet_engine.jsonl import JsonlWriter, read_lines, torn_tail

__all__ = [
    "BaseHook",
    "ErrorCategory",
    "ErrorEvent",
    "ErrorPlugin",
    "ErrorType",
    "ExecutionRequest",
    "ExecutionResult",
    "Hook",
    "JsonlWriter",
    "Redactor",
    "RunRecord",
    "cap",
    "finding",
    "fingerprint",
    "is_secret_name",
    "normalise",
    "output_of",
    "read_lines",
    "repo_path",
    "to_dict",
    "torn_tail",
    "utc_now",
    "validate",
]
