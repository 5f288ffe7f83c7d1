"""Plain JSON data ⇄ generated dataclasses, with cattrs.

Data reaches ``structure`` only after it passed its schema, so the converter's job is shape, not
checking. Two things need care: RFC 3339 timestamps (``datetime`` in the models) and optional fields,
which are written back only when set, so ``to_dict(load(x))`` has exactly the keys of ``x``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, TypeVar

import cattrs
from cattrs.gen import make_dict_unstructure_fn, override
from cattrs.strategies import configure_union_passthrough

T = TypeVar("T")


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 date-time (already format-checked) as an aware datetime."""
    return datetime.fromisoformat(text.upper().replace(" ", "T"))


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 with 'Z' for UTC; fractions only when present."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=True)
    configure_union_passthrough(str | int | float | bool | None, converter)
    converter.register_structure_hook(datetime, lambda value, _: parse_timestamp(value))
    converter.register_unstructure_hook(datetime, format_timestamp)
    converter.register_structure_hook(float, lambda value, _: value)

    def unstructure_factory(cls: type) -> Any:
        omitted = {
            field.name: override(omit_if_default=True) for field in dataclasses.fields(cls) if field.default is None
        }
        return make_dict_unstructure_fn(cls, converter, **omitted)  # type: ignore[arg-type]

    converter.register_unstructure_hook_factory(dataclasses.is_dataclass, unstructure_factory)
    return converter


CONVERTER = _make_converter()


def structure(data: Any, cls: type[T]) -> T:
    return CONVERTER.structure(data, cls)


def unstructure(instance: Any) -> dict[str, Any]:
    result: dict[str, Any] = CONVERTER.unstructure(instance)
    return result
