"""Plain JSON data ⇄ generated dataclasses, with cattrs.

Data reaches ``structure`` only after it passed its schema, so the converter's job is shape, not
checking. Three things need care: RFC 3339 timestamps (``datetime`` in the models), optional fields,
which are written back only when set, so ``to_dict(load(x))`` has exactly the keys of ``x``, and
properties named after a Python keyword (``with``), which the generator writes as ``with_``: their key
in the data stays the schema's.

cattrs is imported when the first instance is built, not with the package: ``uet validate`` never
structures anything and should not pay for it at start-up (about 40 ms).
"""

from __future__ import annotations

import dataclasses
import keyword
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 date-time (already format-checked) as an aware datetime.

    RFC 3339 allows a leap second (``23:59:60``) that ``datetime`` cannot hold: it becomes the last
    microsecond of the second before, which keeps events in order instead of failing to load.
    """
    text = text.upper().replace(" ", "T")
    if text[17:19] == "60":
        return datetime.fromisoformat(f"{text[:17]}59{text[19:]}").replace(microsecond=999_999)
    return datetime.fromisoformat(text)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 with 'Z' for UTC; fractions only when present."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _renamed(cls: type) -> dict[str, str]:
    """Field name -> key in the data, for the fields the generator renamed (``with_`` for ``with``)."""
    return {
        field.name: field.name[:-1]
        for field in dataclasses.fields(cls)
        if field.name.endswith("_") and keyword.iskeyword(field.name[:-1])
    }


@cache
def converter() -> cattrs.Converter:
    """The one converter, built on first use."""
    import cattrs
    from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
    from cattrs.strategies import configure_union_passthrough

    conv = cattrs.Converter(forbid_extra_keys=True)
    configure_union_passthrough(str | int | float | bool | None, conv)
    conv.register_structure_hook(datetime, lambda value, _: parse_timestamp(value))
    conv.register_unstructure_hook(datetime, format_timestamp)
    conv.register_structure_hook(float, lambda value, _: value)

    def unstructure_factory(cls: type) -> Any:
        renamed = _renamed(cls)
        overrides = {
            field.name: override(omit_if_default=field.default is None, rename=renamed.get(field.name))
            for field in dataclasses.fields(cls)
            if field.default is None or field.name in renamed
        }
        return make_dict_unstructure_fn(cls, conv, **overrides)  # type: ignore[arg-type]

    def structure_factory(cls: type) -> Any:
        renames = {name: override(rename=key) for name, key in _renamed(cls).items()}
        return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True, **renames)  # type: ignore[arg-type]

    conv.register_unstructure_hook_factory(dataclasses.is_dataclass, unstructure_factory)
    conv.register_structure_hook_factory(
        lambda cls: isinstance(cls, type) and dataclasses.is_dataclass(cls) and bool(_renamed(cls)), structure_factory
    )
    return conv


def structure(data: Any, cls: type[T]) -> T:
    return converter().structure(data, cls)


def unstructure(instance: Any) -> dict[str, Any]:
    result: dict[str, Any] = converter().unstructure(instance)
    return result
