"""The hash chains of the records: each run event (within its run) and each audit line names the SHA-256 of the
one before.

Why: schemas and the saving invariant check what records say, not whether one was quietly deleted,
duplicated, reordered or edited afterwards. A chain makes any such change break a link that ``uet runs
verify`` can name, as transparency logs do. The head of a chain (the newest record) is protected only by
its agreement with the other log: the store's ``run_finished`` event and the audit log's ``run.finished``
line each say how the run ended.

Stores and logs written by older engines carry no hashes: a chain may begin part-way, but once it has
begun every later record must carry its link.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import NamedTuple


class Link(NamedTuple):
    """One record of a chain: how it is named in a breach, its stored text, the hash it names (or None)."""

    label: str
    text: str
    prev: str | None


def prev_of(text: str) -> str | None:
    """The ``prev_sha256`` of a stored record's JSON text, as far as it can be read."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    value = data.get("prev_sha256") if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


def first_break(links: Iterable[Link], digest: Callable[[str], str], what: str) -> str | None:
    """The first broken link of a chain, as one line; None when every link holds."""
    previous: Link | None = None
    started = False
    for link in links:
        if previous is None:
            if link.prev is not None:
                return f"{link.label}: prev_sha256 names a predecessor, but it is the first {what} (those before went)"
        elif link.prev is not None or started:
            if link.prev is None:
                return f"{link.label}: no prev_sha256, although the chain began before it (this {what} was altered)"
            if link.prev != digest(previous.text):
                return (
                    f"{link.label}: prev_sha256 does not match {previous.label} "
                    "(a record before it was deleted, inserted, duplicated, reordered or altered)"
                )
        started = started or link.prev is not None
        previous = link
    return None
