"""Contract instances ⇄ the JSON text the engine stores (SQLite ``record`` columns, JSONL lines).

Every write goes through ``encode``, which validates against the contract's schema first, so the
store and the audit log never hold a record their schema rejects. ``decode`` is the strict way back.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import uet_contracts

T = TypeVar("T")

# One encoder for every write: json.dumps with options builds a new JSONEncoder per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def encode(instance: Any) -> str:
    """Compact, key-sorted JSON of a contract instance after it passed its schema (``ContractError`` if not)."""
    return checked(instance)[1]


def checked(instance: Any) -> tuple[dict[str, Any], str]:
    """The instance's JSON data and ``encode``'s text of it, after it passed its schema."""
    data = uet_contracts.to_dict(instance)
    uet_contracts.check(data, type(instance))
    return data, _ENCODER.encode(data)


def compact(value: Any) -> str:
    """Plain JSON data as the records write it: compact, keys sorted (for columns beside a record)."""
    return _ENCODER.encode(value)


def decode(text: str, cls: type[T], *, where: str | None = None) -> T:
    """A ``cls`` instance from stored JSON text, validated; ``ContractError`` naming ``where`` otherwise."""
    return uet_contracts.loads(text, cls, "json", file=where)
