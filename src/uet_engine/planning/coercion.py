"""Where structuring schema-valid data into a contract's dataclasses changes a value, so that plain data
can stand for the instance when nothing there would change.

``uet_contracts`` structures with cattrs: strings, booleans, floats, literals, ``Any`` and unions of
plain types pass through; dataclasses and lists keep their contents; optional fields are written back
only when set (a schema-valid contract has no ``null``). The one change left is an ``int`` field given a
float: JSON Schema counts ``3.0`` as an integer, and ``int(3.0)`` makes it ``3``, which canonical JSON
writes differently. ``int_fields`` maps, from a contract's type hints, every place an ``int`` field can
be; ``has_float_int`` finds whether a document has a float at one of them. Any other field type (a
timestamp, say) makes ``int_fields`` return None: then the plain data cannot stand for the instance.
"""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from functools import cache
from typing import Any, Literal, Union

ITEMS: typing.Final = "[]"
"""The key of a list's items in a field map."""

FieldMap = dict[str, "FieldMap | bool"]
"""Key (or ``ITEMS``) -> ``True`` for an ``int`` field there, or the map of what lies beneath."""

_PLAIN = (str, float, bool, type(None))


@cache
def int_fields(cls: type) -> FieldMap | None:
    """Where ``cls``'s data can hold an ``int`` field ({} for nowhere); None when a field's structuring is
    not modelled."""
    try:
        return _dataclass(cls, ())
    except TypeError:  # what the walk raises for a field type whose structuring it does not model
        return None


def has_float_int(data: Any, fields: FieldMap) -> bool:
    """Whether ``data`` (plain, schema-valid) has a float where ``fields`` says an ``int`` field is."""
    if isinstance(data, dict):
        for key, below in fields.items():
            value = data.get(key)
            if value is None:
                continue
            if isinstance(below, dict):
                if has_float_int(value, below):
                    return True
            elif isinstance(value, float):
                return True
        return False
    if isinstance(data, list):
        items = fields.get(ITEMS)
        if isinstance(items, dict):
            return any(has_float_int(item, items) for item in data)
    return False


def _dataclass(cls: type, seen: tuple[type, ...]) -> FieldMap:
    if cls in seen:
        raise TypeError(f"{cls.__name__} contains itself")
    hints = typing.get_type_hints(cls)
    found: FieldMap = {}
    for field in dataclasses.fields(cls):
        key = field.name[:-1] if field.name.endswith("_") and keyword.iskeyword(field.name[:-1]) else field.name
        below = _type(hints[field.name], (*seen, cls))
        if below:
            found[key] = below
    return found


def _type(hint: Any, seen: tuple[type, ...]) -> FieldMap | bool:
    """``True`` for ``int``, the map beneath a dataclass or list, ``False`` (or ``{}``) for nothing to watch."""
    origin = typing.get_origin(hint)
    if hint is int:
        return True
    if hint is Any or hint in _PLAIN or origin is Literal:
        return False
    if origin in (Union, types.UnionType):
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        if all(m in (int, *_PLAIN) for m in members):
            return len(members) == 1 and members[0] is int  # a union of plain types passes through
        merged: FieldMap = {}
        for member in members:
            if member is str:
                continue  # a plain string beside objects (an acceptance check): nothing beneath
            below = _type(member, seen)
            if below is True:
                raise TypeError(f"{hint} mixes int with other types")
            if below:
                merged = _merge(merged, below)  # watched when any member has it
        return merged
    if origin is list:
        below = _type(typing.get_args(hint)[0], seen)
        return {ITEMS: below} if below else False
    if origin is dict:
        key, value = typing.get_args(hint)
        if key is not str or _type(value, seen):
            raise TypeError(f"{hint}: values that structuring changes, under any key")
        return False
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass(hint, seen)
    raise TypeError(f"{hint}")


def _merge(a: FieldMap, b: FieldMap) -> FieldMap:
    merged = dict(a)
    for key, below in b.items():
        if key not in merged:
            merged[key] = below
        elif isinstance(merged[key], dict) and isinstance(below, dict):
            merged[key] = _merge(merged[key], below)  # type: ignore[arg-type]
        elif merged[key] != below:
            raise TypeError(f"{key!r} is an int in one member and an object in another")
    return merged
