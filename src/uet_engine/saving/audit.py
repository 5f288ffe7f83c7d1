"""``.runs/audit.jsonl``: one AuditEvent per line, appended durably, readable after any crash.

Each line is written with a single ``write`` on an ``O_APPEND`` descriptor and fsynced, so a crash
can at worst leave the *last* line torn (no trailing newline). Readers ignore such a tail; the next
writer cuts it off before appending, so a torn line never glues onto the next record. The mechanics
are ``uet_engine.jsonl``'s, shared with the error log and with plugin authors.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from uet_contracts import AuditEvent
from uet_engine.jsonl import JsonlWriter, read_lines, repair
from uet_engine.saving import codec

__all__ = ["AUDIT_FILE", "AuditLog", "audit_path", "read", "read_lines", "repair"]

AUDIT_FILE = Path(".runs") / "audit.jsonl"


def audit_path(repo: Path) -> Path:
    """Where a repository's audit log lives."""
    return Path(repo) / AUDIT_FILE


def read(path: Path) -> Iterator[tuple[int, AuditEvent]]:
    """Every complete line of the log as an AuditEvent; ``ContractError`` naming the line for a bad one."""
    for number, text in read_lines(path):
        yield number, codec.decode(text, AuditEvent, where=f"{path}:{number}")


class AuditLog(JsonlWriter):
    """Appends validated AuditEvents to a repository's ``.runs/audit.jsonl``, one fsynced line each.

    ``durable=False`` (on ``append`` and ``extend``) is for lines that only need to be durable once a
    later line is: the engine fsyncs at the lines the saving invariant rests on (final states, run
    start and end) and saves the fsync in between.
    """

    def __init__(self, repo: Path) -> None:
        super().__init__(audit_path(repo))

    def __enter__(self) -> AuditLog:
        return self
