"""Fingerprints that group repeats of one failure across attempts, workstreams' runs and days.

Why: "the same error keeps coming back" is what a fix loop's circuit breaker and pattern automation's
anti-patterns both look for, and two occurrences of one failure never have the same text — line
numbers of a traceback shift, temporary paths and timestamps change, durations vary. So the fingerprint
hashes the error code, the workstream, the path and the message *normalised*: timestamps, temporary
paths, hex ids, durations and numbers are replaced by placeholders first. Different failures keep
different fingerprints because what remains — the words of the message, the code, the file — differs.

Every pattern here is a plain alternation or a bounded class repetition, so normalising is linear in
the message's length (no nested quantifiers to backtrack through).
"""

from __future__ import annotations

import hashlib
import json
import re

# Order matters: timestamps and paths contain numbers and hex digits, so they are replaced first.
_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (
        re.compile(
            r"(?:/tmp|/var/folders|/private/var|[A-Za-z]:\\Users\\[^\\\s]+\\AppData\\Local\\Temp)[^\s:'\"]*"
            r"|\S*\.runs[/\\]worktrees[/\\][^\s:'\"]*"
        ),
        "<tmp>",
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-f]{7,64}\b"), "<hex>"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|us|µs|ns|s|sec|secs|seconds|min|minutes|h)\b"), "<duration>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
)


def normalise(message: str) -> str:
    """``message`` with what varies between repeats of one failure replaced by placeholders."""
    for pattern, placeholder in _NORMALISERS:
        message = pattern.sub(placeholder, message)
    return message.strip()


def fingerprint(error_code: str, workstream_id: str, path: str | None, message: str) -> str:
    """The ``sha256:`` fingerprint of one failure (see the module docstring for what it ignores)."""
    parts = [error_code, workstream_id, path or "", normalise(message)]
    text = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(text).hexdigest()
