"""Property tests: instances generated from every contract's schema survive schema → dataclass → dict.

hypothesis-jsonschema's ``from_schema`` draws instances from the bundled (self-contained) schema of
each contract. The shared string definitions (ids, hashes, repository paths) are drawn by small
hand-written strategies instead: ``from_regex`` on their patterns (lookaheads, ``{0,199}``) costs about
10 ms a string and made one contract take minutes. Each hand-written value is still filtered through
the definition's own pattern, and every instance must pass the real schema. For each instance:

- ``validate`` accepts it and returns the contract type;
- ``to_dict`` gives it back unchanged (same keys, same values), timestamps compared as instants;
- reading its JSON text with ``loads`` gives an equal instance.

Why instants: RFC 3339 has many spellings of one moment (``t``/``T``, ``z``/``Z``/``+00:00``, any
number of fraction digits) and the writer picks one (``Z``, at most microseconds, which is all a
``datetime`` holds). Those are the same timestamp, so the test compares the moments they name.
"""

from __future__ import annotations

import copy
import json
import re
import string
from datetime import datetime
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

import uet_contracts
from tests.conftest import REPO_ROOT
from uet_contracts import CONTRACTS, Contract, parsing, rules

BUNDLED = REPO_ROOT / "generated" / "bundled"

Schema = dict[str, Any]


@cache
def bundled(contract: Contract) -> Schema:
    result: Schema = json.loads((BUNDLED / contract.file).read_text(encoding="utf-8"))
    return result


def _word(first: str, rest: str, most: int) -> st.SearchStrategy[str]:
    return st.builds(str.__add__, st.sampled_from(first), st.text(rest, max_size=most))


_ALNUM = string.ascii_letters + string.digits
_LOWER = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
_SEGMENT = st.text(
    st.characters(blacklist_characters="/\\\x00", blacklist_categories=("Cs",)), min_size=1, max_size=8
).filter(lambda segment: segment != "..")

# Strategies for the $defs whose patterns from_regex draws slowly; the keys are the $defs' names.
DEFINITIONS: dict[str, st.SearchStrategy[str]] = {
    "PhaseId": _word(_ALNUM, _ALNUM + "._-", 10).map("PH-".__add__),
    "WorkstreamId": _word(_LOWER, _LOWER + "-", 12).map("ws-".__add__),
    "RunId": st.text(_ALNUM + "_-", min_size=1, max_size=16).map("run-".__add__),
    "PatchId": _word(_ALNUM, _ALNUM + "._-", 16).map("PATCH-".__add__),
    "OperationKind": st.builds(
        "-".join,
        st.lists(_word(string.ascii_uppercase, string.ascii_uppercase + string.digits, 6), min_size=1, max_size=3),
    ),
    "Sha256": st.text(_HEX, min_size=64, max_size=64).map("sha256:".__add__),
    "GitCommit": st.sampled_from([40, 64]).flatmap(lambda n: st.text(_HEX, min_size=n, max_size=n)),
    "RepoPath": st.builds("/".join, st.lists(_SEGMENT, min_size=1, max_size=4)),
}


@cache
def instances(contract: Contract) -> st.SearchStrategy[Any]:
    """``from_schema`` over the bundle, with the definitions above as custom formats."""
    schema = copy.deepcopy(bundled(contract))
    formats = {}
    for name, definition in schema.get("$defs", {}).items():
        if name in DEFINITIONS:
            pattern = re.compile(definition["pattern"])
            formats[f"uet-{name}"] = DEFINITIONS[name].filter(pattern.search)
            schema["$defs"][name] = {"type": "string", "format": f"uet-{name}"}
    return from_schema(schema, custom_formats=formats)


def _instant(text: str) -> datetime:
    text = text.upper()
    if text[17:19] == "60":  # a leap second: what the loader keeps of it
        return datetime.fromisoformat(f"{text[:17]}59{text[19:]}").replace(microsecond=999_999)
    return datetime.fromisoformat(text)


def instants(value: Any, schema: Schema, defs: Schema) -> Any:
    """``value`` with each string the schema marks ``format: date-time`` replaced by the moment it names."""
    while "$ref" in schema:
        schema = {**defs[schema["$ref"].removeprefix("#/$defs/")], **{k: v for k, v in schema.items() if k != "$ref"}}
    if schema.get("format") == "date-time" and isinstance(value, str):
        return _instant(value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {key: instants(item, properties.get(key, {}), defs) for key, item in value.items()}
    if isinstance(value, list):
        return [instants(item, schema.get("items", {}), defs) for item in value]
    return value


def test_instants_sees_every_timestamp_spelling_as_one_moment() -> None:
    snapshot = bundled(uet_contracts.contract_named("run_record"))
    spellings = ["2026-11-25T10:15:00Z", "2026-11-25t11:15:00+01:00", "2026-11-25T10:15:00.0000001z"]
    moments = {instants({"created_at": s}, snapshot, snapshot["$defs"])["created_at"] for s in spellings}
    assert len(moments) == 1


def integers(value: Any) -> list[int]:
    """Every integer inside plain data."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in integers(item)]
    if isinstance(value, list):
        return [n for item in value for n in integers(item)]
    return [value] if isinstance(value, int) and not isinstance(value, bool) else []


def lawful(spec: dict[str, Any]) -> None:
    """Replace in place each value of ``spec`` that a phase-spec rule refuses: a path by ``lawful/N``
    (unique, so ``uniqueItems`` still holds), a time limit by one minute."""
    for count, (_message, path) in enumerate(rules.phase_spec_problems(spec)):
        owner: Any = spec
        for key in path[:-1]:
            owner = owner[key]
        owner[path[-1]] = 60 if path[-1] == "timeout_s" else f"lawful/{count}"
    assert rules.phase_spec_problems(spec) == []


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.kind)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_instances_round_trip(contract: Contract, data: st.DataObject) -> None:
    original = data.draw(instances(contract), label=contract.kind)
    # What the schema allows but loading refuses (each refusal has its own test in the bad-input corpus) is
    # replaced by a value the rules accept, rather than filtered out: random paths break a rule often.
    if contract.kind == "phase_spec":
        lawful(original)
    assume(all(parsing.INT_MIN <= n <= parsing.INT_MAX for n in integers(original)))
    schema = bundled(contract)

    instance = uet_contracts.validate(original, contract.type)
    assert type(instance) is contract.type

    written = uet_contracts.to_dict(instance)
    assert written.keys() == original.keys()
    assert instants(written, schema, schema.get("$defs", {})) == instants(original, schema, schema.get("$defs", {}))
    assert uet_contracts.to_dict(uet_contracts.validate(written, contract.type)) == written

    assert uet_contracts.loads(json.dumps(original), contract.type, "json") == instance
