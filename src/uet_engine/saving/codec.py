"""Contract instances ⇄ the JSON text the engine stores (SQLite ``record`` columns, JSONL lines).

Every write goes through ``encode`` (``uet_engine.jsonl``'s: one encoder for every record), which validates
against the contract's schema first, so the store and the JSONL logs never hold a record their schema
rejects. ``decode`` is the strict way back.
"""

from __future__ import annotations

from typing import TypeVar

import uet_contracts
from uet_engine.jsonl import checked, compact, encode

__all__ = ["checked", "compact", "decode", "encode"]

T = TypeVar("T")


def decode(text: str, cls: type[T], *, where: str | None = None) -> T:
    """A ``cls`` instance from stored JSON text, validated; ``ContractError`` naming ``where`` otherwise."""
    return uet_contracts.loads(text, cls, "json", file=where)
