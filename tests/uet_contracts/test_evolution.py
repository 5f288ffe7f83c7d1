"""The schema-evolution classifier: one before/after pair per rule, the fail-closed cases, ``$ref``
resolution across files, and the frozen released schemas."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from uet_contracts.evolution import SchemaDiffError, Verdict, diff_dirs, diff_files, diff_paths, diff_schemas

RELEASED = REPO_ROOT / "schemas" / "released"
# The sha256 of each released version's SHA256SUMS. Changing a frozen file means changing this table too:
# a released version is never edited; a breaking change goes into a new major version folder instead.
FROZEN_MANIFESTS = {"v1.0.0": "693996bf1e3932006bee4b0588085c8f27b36dccb3e8f2761a9bb3540f68efb9"}

OBJ: dict[str, Any] = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    merged = json.loads(json.dumps(base))
    merged.update(changes)
    return {k: v for k, v in merged.items() if v is not None}


def prop(**schema: Any) -> dict[str, Any]:
    """An object with one optional property ``p`` of the given schema."""
    return {"type": "object", "properties": {"p": schema}}


CASES: list[tuple[str, Any, Any, list[str]]] = [
    # properties and required
    (
        "removed property",
        OBJ,
        with_(OBJ, properties={}, required=None),
        ['#/properties/a: breaking: property "a" removed'],
    ),
    (
        "added optional property",
        OBJ,
        with_(OBJ, properties={"a": {"type": "string"}, "b": {"type": "integer"}}),
        ['#/properties/b: compatible: optional property "b" added'],
    ),
    (
        "added required property",
        OBJ,
        with_(OBJ, properties={"a": {"type": "string"}, "b": {"type": "integer"}}, required=["a", "b"]),
        ['#/properties/b: breaking: required property "b" added'],
    ),
    (
        "newly required property",
        with_(OBJ, required=None),
        OBJ,
        ['#/properties/a: breaking: property "a" is now required'],
    ),
    (
        "required dropped",
        OBJ,
        with_(OBJ, required=[]),
        ['#/properties/a: compatible: property "a" is no longer required'],
    ),
    # type
    (
        "narrowed type",
        prop(type=["string", "null"]),
        prop(type="string"),
        ['#/properties/p/type: breaking: type narrowed from ["string","null"] to "string"'],
    ),
    (
        "widened type",
        prop(type="string"),
        prop(type=["string", "null"]),
        ['#/properties/p/type: compatible: type widened from "string" to ["string","null"]'],
    ),
    (
        "integer widened to number",
        prop(type="integer"),
        prop(type="number"),
        ['#/properties/p/type: compatible: type widened from "integer" to "number"'],
    ),
    (
        "number narrowed to integer",
        prop(type="number"),
        prop(type="integer"),
        ['#/properties/p/type: breaking: type narrowed from "number" to "integer"'],
    ),
    ("type added", prop(), prop(type="string"), ['#/properties/p/type: breaking: type added: "string"']),
    ("type removed", prop(type="string"), prop(), ['#/properties/p/type: compatible: type removed (was "string")']),
    # enum and const
    (
        "narrowed enum",
        prop(enum=["a", "b"]),
        prop(enum=["a"]),
        ['#/properties/p/enum: breaking: enum narrowed: removed "b"'],
    ),
    (
        "enum value replaced",
        prop(enum=["a", "b"]),
        prop(enum=["a", "c"]),
        ['#/properties/p/enum: breaking: enum narrowed: removed "b"; added "c"'],
    ),
    (
        "widened enum",
        prop(enum=["a"]),
        prop(enum=["a", "b"]),
        ['#/properties/p/enum: compatible: enum widened: added "b"'],
    ),
    ("enum reordered", prop(enum=["a", "b"]), prop(enum=["b", "a"]), []),
    (
        "enum added",
        prop(type="string"),
        prop(type="string", enum=["a"]),
        ['#/properties/p/enum: breaking: enum added: ["a"]'],
    ),
    ("enum removed", prop(enum=["a"]), prop(), ['#/properties/p/enum: compatible: enum removed (was ["a"])']),
    ("const added", prop(), prop(const=1), ["#/properties/p/const: breaking: const added: 1"]),
    ("const changed", prop(const=1), prop(const=2), ["#/properties/p/const: breaking: const changed from 1 to 2"]),
    # pattern and format
    ("pattern added", prop(), prop(pattern="^a"), ['#/properties/p/pattern: breaking: pattern added: "^a"']),
    (
        "pattern changed (even when looser)",
        prop(pattern="^ab"),
        prop(pattern="^a"),
        ['#/properties/p/pattern: breaking: pattern changed from "^ab" to "^a"'],
    ),
    ("pattern removed", prop(pattern="^a"), prop(), ['#/properties/p/pattern: compatible: pattern removed (was "^a")']),
    (
        "pattern widened by an alternative after it",
        prop(pattern="^a$"),
        prop(pattern="^a$|^b$"),
        ['#/properties/p/pattern: compatible: pattern widened: "^a$" kept as the first alternative'],
    ),
    (
        "pattern with an alternative before it",
        prop(pattern="^a$"),
        prop(pattern="^b$|^a$"),
        ['#/properties/p/pattern: breaking: pattern changed from "^a$" to "^b$|^a$"'],
    ),
    (
        "pattern whose '|' is not the outermost alternation",
        prop(pattern="^(a"),
        prop(pattern="^(a|b)$"),
        ['#/properties/p/pattern: breaking: pattern changed from "^(a" to "^(a|b)$"'],
    ),
    ("format added", prop(), prop(format="date-time"), ['#/properties/p/format: breaking: format added: "date-time"']),
    (
        "format removed",
        prop(format="date-time"),
        prop(),
        ['#/properties/p/format: compatible: format removed (was "date-time")'],
    ),
    # bounds
    ("minLength added", prop(), prop(minLength=1), ["#/properties/p/minLength: breaking: minLength added: 1"]),
    (
        "minLength tightened",
        prop(minLength=1),
        prop(minLength=2),
        ["#/properties/p/minLength: breaking: minLength tightened from 1 to 2"],
    ),
    (
        "minLength loosened",
        prop(minLength=2),
        prop(minLength=1),
        ["#/properties/p/minLength: compatible: minLength loosened from 2 to 1"],
    ),
    (
        "maxLength tightened",
        prop(maxLength=200),
        prop(maxLength=100),
        ["#/properties/p/maxLength: breaking: maxLength tightened from 200 to 100"],
    ),
    (
        "maxLength loosened",
        prop(maxLength=100),
        prop(maxLength=200),
        ["#/properties/p/maxLength: compatible: maxLength loosened from 100 to 200"],
    ),
    (
        "maxLength removed",
        prop(maxLength=9),
        prop(),
        ["#/properties/p/maxLength: compatible: maxLength removed (was 9)"],
    ),
    ("maximum added", prop(), prop(maximum=9), ["#/properties/p/maximum: breaking: maximum added: 9"]),
    (
        "minimum tightened",
        prop(minimum=0),
        prop(minimum=0.5),
        ["#/properties/p/minimum: breaking: minimum tightened from 0 to 0.5"],
    ),
    (
        "exclusiveMinimum loosened",
        prop(exclusiveMinimum=1),
        prop(exclusiveMinimum=0),
        ["#/properties/p/exclusiveMinimum: compatible: exclusiveMinimum loosened from 1 to 0"],
    ),
    (
        "minItems tightened",
        prop(minItems=1),
        prop(minItems=3),
        ["#/properties/p/minItems: breaking: minItems tightened from 1 to 3"],
    ),
    ("minItems added", prop(), prop(minItems=1), ["#/properties/p/minItems: breaking: minItems added: 1"]),
    (
        "maxItems loosened",
        prop(maxItems=1),
        prop(maxItems=3),
        ["#/properties/p/maxItems: compatible: maxItems loosened from 1 to 3"],
    ),
    (
        "uniqueItems added",
        prop(),
        prop(uniqueItems=True),
        ["#/properties/p/uniqueItems: breaking: uniqueItems added: true"],
    ),
    (
        "uniqueItems dropped",
        prop(uniqueItems=True),
        prop(uniqueItems=False),
        ["#/properties/p/uniqueItems: compatible: uniqueItems removed (was true)"],
    ),
    ("uniqueItems false is the default", prop(), prop(uniqueItems=False), []),
    (
        "multipleOf loosened",
        prop(multipleOf=4),
        prop(multipleOf=2),
        ["#/properties/p/multipleOf: compatible: multipleOf loosened from 4 to 2"],
    ),
    (
        "multipleOf changed",
        prop(multipleOf=2),
        prop(multipleOf=3),
        ["#/properties/p/multipleOf: breaking: multipleOf changed from 2 to 3"],
    ),
    # additionalProperties, items and boolean schemas
    (
        "additionalProperties closed",
        OBJ,
        with_(OBJ, additionalProperties=False),
        ["#/additionalProperties: breaking: additionalProperties closed (was true)"],
    ),
    (
        "additionalProperties opened",
        with_(OBJ, additionalProperties=False),
        OBJ,
        ["#/additionalProperties: compatible: additionalProperties opened (now true)"],
    ),
    (
        "additionalProperties opened to a schema",
        with_(OBJ, additionalProperties=False),
        with_(OBJ, additionalProperties={"type": "string"}),
        ['#/additionalProperties: compatible: additionalProperties opened (now {"type":"string"})'],
    ),
    (
        "additionalProperties constrained",
        OBJ,
        with_(OBJ, additionalProperties={"type": "string"}),
        ["#/additionalProperties: breaking: additionalProperties constrained by a schema (was true)"],
    ),
    (
        "additionalProperties schema narrowed",
        with_(OBJ, additionalProperties={"type": ["string", "integer"]}),
        with_(OBJ, additionalProperties={"type": "string"}),
        ['#/additionalProperties/type: breaking: type narrowed from ["string","integer"] to "string"'],
    ),
    (
        "items narrowed",
        prop(type="array", items={"type": "number"}),
        prop(type="array", items={"type": "integer"}),
        ['#/properties/p/items/type: breaking: type narrowed from "number" to "integer"'],
    ),
    (
        "property schema closed to false",
        prop(type="string"),
        {"type": "object", "properties": {"p": False}},
        ['#/properties/p: breaking: schema tightened from {"type":"string"} to false'],
    ),
    (
        "property schema opened to true",
        prop(type="string"),
        {"type": "object", "properties": {"p": True}},
        ['#/properties/p: compatible: schema loosened from {"type":"string"} to true'],
    ),
    # documentation only
    (
        "description changed",
        prop(type="string", description="old"),
        prop(type="string", description="new"),
        ["#/properties/p/description: compatible: description changed (docs only)"],
    ),
    (
        "title and examples added",
        prop(type="string"),
        prop(type="string", title="P", examples=["x"]),
        [
            "#/properties/p/examples: compatible: examples added (docs only)",
            "#/properties/p/title: compatible: title added (docs only)",
        ],
    ),
    # identity and definitions
    (
        "$id changed",
        {"$id": "https://x.dev/v1/a.json", "type": "object"},
        {"$id": "https://x.dev/v2/a.json", "type": "object"},
        ['#/$id: breaking: $id changed from "https://x.dev/v1/a.json" to "https://x.dev/v2/a.json"'],
    ),
    (
        "definition removed",
        {"$defs": {"A": {"type": "string"}, "B": {"type": "string"}}},
        {"$defs": {"A": {"type": "string"}}},
        ['#/$defs/B: breaking: definition "B" removed'],
    ),
    (
        "definition added",
        {"$defs": {"A": {"type": "string"}}},
        {"$defs": {"A": {"type": "string"}, "B": {"type": "string"}}},
        ['#/$defs/B: compatible: definition "B" added'],
    ),
    # combinators
    (
        "anyOf widened",
        prop(anyOf=[{"type": "string"}]),
        prop(anyOf=[{"type": "string"}, {"type": "null"}]),
        ["#/properties/p/anyOf: compatible: anyOf widened from 1 to 2 branches"],
    ),
    (
        "schema became the first anyOf branch",
        prop(type="string", description="d"),
        prop(anyOf=[{"type": "string"}, {"type": "integer"}], description="d"),
        ["#/properties/p/anyOf: compatible: schema became the first anyOf branch, 1 added beside it"],
    ),
    (
        "schema became the first anyOf branch, narrowed",
        prop(type="string"),
        prop(anyOf=[{"type": "string", "maxLength": 3}, {"type": "integer"}]),
        [
            "#/properties/p/anyOf: compatible: schema became the first anyOf branch, 1 added beside it",
            "#/properties/p/anyOf/0/maxLength: breaking: maxLength added: 3",
        ],
    ),
    (
        "schema became a later anyOf branch",
        prop(type="string"),
        prop(anyOf=[{"type": "integer"}, {"type": "string"}]),
        [
            "#/properties/p/anyOf: compatible: schema became the first anyOf branch, 1 added beside it",
            '#/properties/p/anyOf/0/type: breaking: type narrowed from "string" to "integer"',
        ],
    ),
    (
        "anyOf branch narrowed",
        prop(anyOf=[{"type": "string"}, {"type": "null"}]),
        prop(anyOf=[{"type": "string", "minLength": 1}, {"type": "null"}]),
        ["#/properties/p/anyOf/0/minLength: breaking: minLength added: 1"],
    ),
    # an inline schema moved into $defs, or a $ref written out: compared by what it resolves to
    (
        "inline schema replaced by a $ref",
        {"$defs": {"A": {"type": "string"}}, "properties": {"p": {"type": "string"}}},
        {"$defs": {"A": {"type": "string"}}, "properties": {"p": {"$ref": "#/$defs/A"}}},
        ['#/properties/p: compatible: inline schema replaced by $ref "#/$defs/A" (compared with what it resolves to)'],
    ),
    (
        "inline enum moved into a new definition, its docs staying at the use",
        prop(description="d", type="string", enum=["a", "b"]),
        {
            **prop(**{"$ref": "#/$defs/E", "description": "d"}),
            "$defs": {"E": {"title": "E", "description": "an E", "type": "string", "enum": ["a", "b"]}},
        },
        [
            '#/$defs/E: compatible: definition "E" added',
            '#/properties/p: compatible: inline schema replaced by $ref "#/$defs/E" '
            "(compared with what it resolves to)",
        ],
    ),
    (
        "inline enum replaced by a $ref to a narrower one",
        prop(type="string", enum=["a", "b"]),
        {**prop(**{"$ref": "#/$defs/E"}), "$defs": {"E": {"type": "string", "enum": ["a"]}}},
        [
            '#/$defs/E: compatible: definition "E" added',
            '#/properties/p: compatible: inline schema replaced by $ref "#/$defs/E" '
            "(compared with what it resolves to)",
            '#/properties/p/enum: breaking: enum narrowed: removed "b" (via #/$defs/E)',
        ],
    ),
    (
        "$ref replaced by its target written out",
        {**prop(**{"$ref": "#/$defs/E", "description": "d"}), "$defs": {"E": {"type": "string", "enum": ["a"]}}},
        {**prop(description="d", type="string", enum=["a", "b"]), "$defs": {"E": {"type": "string", "enum": ["a"]}}},
        [
            '#/properties/p: compatible: $ref "#/$defs/E" replaced by its target written out (compared with what it '
            "resolved to)",
            '#/properties/p/enum: compatible: enum widened: added "b" (via #/$defs/E)',
        ],
    ),
    (
        "inline schema replaced by a $ref inside oneOf",
        prop(oneOf=[{"type": "string"}, {"type": "integer"}]),
        {**prop(oneOf=[{"$ref": "#/$defs/S"}, {"type": "integer"}]), "$defs": {"S": {"type": "string"}}},
        [
            '#/$defs/S: compatible: definition "S" added',
            '#/properties/p/oneOf/0: compatible: inline schema replaced by $ref "#/$defs/S" (compared with what it '
            "resolves to)",
        ],
    ),
    # fail closed: nothing here can be classified
    (
        "if/then added",
        OBJ,
        with_(OBJ, **{"if": {"required": ["a"]}, "then": {"required": ["b"]}}),
        [
            '#/if: unclassified: keyword "if" added; no rule classifies it',
            '#/then: unclassified: keyword "then" added; no rule classifies it',
        ],
    ),
    (
        "changed $ref target",
        {"$defs": {"A": {"type": "string"}, "B": {"type": "string"}}, "properties": {"p": {"$ref": "#/$defs/A"}}},
        {"$defs": {"A": {"type": "string"}, "B": {"type": "string"}}, "properties": {"p": {"$ref": "#/$defs/B"}}},
        ['#/properties/p: unclassified: $ref target changed from "#/$defs/A" to "#/$defs/B"'],
    ),
    (
        "$ref added beside a constraint",
        {"$defs": {"A": {"type": "string"}}, "properties": {"p": {"type": "string"}}},
        {"$defs": {"A": {"type": "string"}}, "properties": {"p": {"$ref": "#/$defs/A", "type": "string"}}},
        [
            '#/properties/p: unclassified: $ref added: "#/$defs/A"; the keywords beside it (type) keep its target '
            "from being compared in its place",
        ],
    ),
    (
        "unresolvable $ref added",
        prop(type="string"),
        prop(**{"$ref": "other.json"}),
        [
            '#/properties/p: unclassified: $ref added: "other.json"; it cannot be resolved offline',
            '#/properties/p/type: compatible: type removed (was "string")',
        ],
    ),
    (
        "$ref added to a boolean schema",
        {"$defs": {"A": True}, "properties": {"p": {"type": "string"}}},
        {"$defs": {"A": True}, "properties": {"p": {"$ref": "#/$defs/A"}}},
        [
            '#/properties/p: unclassified: $ref added: "#/$defs/A"; its target is not an object schema: true',
            '#/properties/p/type: compatible: type removed (was "string")',
        ],
    ),
    (
        "unresolvable $ref",
        prop(**{"$ref": "other.json"}),
        prop(**{"$ref": "other.json"}),
        ['#/properties/p: unclassified: $ref "other.json" cannot be resolved offline'],
    ),
    (
        "loosened oneOf branch",
        prop(oneOf=[{"type": "string", "maxLength": 3}, {"type": "string", "minLength": 5}]),
        prop(oneOf=[{"type": "string", "maxLength": 9}, {"type": "string", "minLength": 5}]),
        [
            "#/properties/p/oneOf/0/maxLength: unclassified: maxLength loosened from 3 to 9; "
            'inside "oneOf" no rule classifies it'
        ],
    ),
    (
        "anyOf branch removed",
        prop(anyOf=[{"type": "string"}, {"type": "null"}]),
        prop(anyOf=[{"type": "string"}]),
        ["#/properties/p/anyOf: unclassified: anyOf changed from 2 to 1 branches"],
    ),
    (
        "allOf branch added",
        prop(allOf=[{"type": "string"}]),
        prop(allOf=[{"type": "string"}, {"minLength": 1}]),
        ["#/properties/p/allOf: unclassified: allOf changed from 1 to 2 branches"],
    ),
    (
        "not added",
        prop(),
        prop(**{"not": {"type": "null"}}),
        ['#/properties/p/not: unclassified: keyword "not" added; no rule classifies it'],
    ),
    (
        "tightened inside not",
        prop(**{"not": {"maxLength": 3}}),
        prop(**{"not": {"maxLength": 2}}),
        [
            "#/properties/p/not/maxLength: unclassified: maxLength tightened from 3 to 2; "
            'inside "not" no rule classifies it'
        ],
    ),
    (
        "default changed",
        prop(type="integer", default=1),
        prop(type="integer", default=2),
        ['#/properties/p/default: unclassified: changed from 1 to 2; inside "default" no rule classifies it'],
    ),
    (
        "$schema changed",
        {"$schema": "https://json-schema.org/draft/2020-12/schema"},
        {"$schema": "http://json-schema.org/draft-07/schema#"},
        [
            '#/$schema: unclassified: $schema (dialect) changed from "https://json-schema.org/draft/2020-12/schema" '
            'to "http://json-schema.org/draft-07/schema#"'
        ],
    ),
    (
        "unknown keyword",
        prop(type="string"),
        prop(type="string", contentMediaType="text/plain"),
        ['#/properties/p/contentMediaType: unclassified: keyword "contentMediaType" added; no rule classifies it'],
    ),
    ("no change", OBJ, json.loads(json.dumps(OBJ)), []),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_rule(old: Any, new: Any, expected: list[str]) -> None:
    assert [c.format() for c in diff_schemas(old, new, file="s.json")] == [f"s.json{line}" for line in expected]


def test_verdicts_breaking_property() -> None:
    """Unclassified counts as breaking: the check fails closed."""
    changes = diff_schemas(OBJ, with_(OBJ, **{"if": {}}), file="s.json")
    assert [(c.verdict, c.breaking) for c in changes] == [(Verdict.UNCLASSIFIED, True)]
    changes = diff_schemas(OBJ, with_(OBJ, required=[]), file="s.json")
    assert [(c.verdict, c.breaking) for c in changes] == [(Verdict.COMPATIBLE, False)]


def test_shared_definition_inside_an_unknown_keyword_is_still_compared() -> None:
    """An unchanged ``if`` whose ``$ref`` target changed is caught, not skipped as equal."""
    old = {"$defs": {"A": {"pattern": "^a"}}, "if": {"$ref": "#/$defs/A"}, "then": {}}
    new = {"$defs": {"A": {"pattern": "^b"}}, "if": {"$ref": "#/$defs/A"}, "then": {}}
    assert [c.format() for c in diff_schemas(old, new, file="s.json")] == [
        's.json#/$defs/A/pattern: breaking: pattern changed from "^a" to "^b"',
        's.json#/if/pattern: unclassified: pattern changed from "^a" to "^b" (via #/$defs/A); inside "if" no rule '
        "classifies it",
    ]


def test_recursive_schema_terminates() -> None:
    tree = {
        "$defs": {
            "Node": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
        },
        "$ref": "#/$defs/Node",
    }
    changed = json.loads(json.dumps(tree))
    changed["$defs"]["Node"]["properties"]["name"] = {"type": "string"}
    # The definition itself, its one recursive use inside it, and its use at the root; then the cycle stops.
    assert [c.format() for c in diff_schemas(tree, changed, file="t.json")] == [
        't.json#/$defs/Node/properties/kids/items/properties/name: compatible: optional property "name" added '
        "(via #/$defs/Node)",
        't.json#/$defs/Node/properties/name: compatible: optional property "name" added',
        't.json#/properties/name: compatible: optional property "name" added (via #/$defs/Node)',
    ]


def test_inline_schema_replaced_by_a_recursive_ref_terminates() -> None:
    """A recursive definition written out one level on one side: compared level by level, then the cycle stops."""
    node = {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/Node"}}}}
    old = json.loads(json.dumps({"$defs": {"Node": node}, "properties": {"root": node}}))
    new = json.loads(json.dumps({"$defs": {"Node": node}, "properties": {"root": {"$ref": "#/$defs/Node"}}}))
    assert [c.format() for c in diff_schemas(old, new, file="t.json")] == [
        't.json#/properties/root: compatible: inline schema replaced by $ref "#/$defs/Node" (compared with what it '
        "resolves to)",
    ]


def test_enum_moved_into_common_is_compatible(tmp_path: Path) -> None:
    """The refactor of the real schemas, across files: an inline enum becomes a shared definition."""
    old = contract_set(tmp_path / "old", "v1", "^PH-", {"required": ["kind"]})
    new = contract_set(tmp_path / "new", "v1", "^PH-", {"required": ["kind"]})
    inline = {"description": "k", "type": "string", "enum": ["a", "b"]}
    for folder, kind in ((old, inline), (new, {"$ref": "common.schema.json#/$defs/Kind", "description": "k"})):
        task = json.loads((folder / "task.schema.json").read_text(encoding="utf-8"))
        task["properties"]["kind"] = kind
        write(folder, "task.schema.json", task)
    common = json.loads((new / "common.schema.json").read_text(encoding="utf-8"))
    common["$defs"]["Kind"] = {"title": "Kind", "description": "a kind", "type": "string", "enum": ["a", "b"]}
    write(new, "common.schema.json", common)
    changes = diff_dirs(old, new)
    assert [c.format() for c in changes] == [
        'common.schema.json#/$defs/Kind: compatible: definition "Kind" added',
        "task.schema.json#/properties/kind: compatible: inline schema replaced by "
        '$ref "common.schema.json#/$defs/Kind" (compared with what it resolves to)',
    ]
    assert not any(c.breaking for c in changes)


def write(folder: Path, name: str, schema: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    return path


def contract_set(root: Path, version: str, phase_pattern: str, extra: dict[str, Any] | None = None) -> Path:
    """A two-file schema set like the real one: a contract whose property refers into common.schema.json."""
    base = f"https://example.dev/schemas/{version}/"
    folder = root / version
    write(
        folder,
        "common.schema.json",
        {"$id": base + "common.schema.json", "$defs": {"PhaseId": {"type": "string", "pattern": phase_pattern}}},
    )
    write(
        folder,
        "task.schema.json",
        {
            "$id": base + "task.schema.json",
            "type": "object",
            "properties": {"phase_id": {"$ref": "common.schema.json#/$defs/PhaseId", "description": "d"}},
            **(extra or {}),
        },
    )
    return folder


def test_change_in_common_is_attributed_to_the_contracts_that_use_it(tmp_path: Path) -> None:
    old = contract_set(tmp_path / "old", "v1", "^PH-")
    new = contract_set(tmp_path / "new", "v1", "^PH-[0-9]")
    assert [c.format() for c in diff_dirs(old, new)] == [
        'common.schema.json#/$defs/PhaseId/pattern: breaking: pattern changed from "^PH-" to "^PH-[0-9]"',
        'task.schema.json#/properties/phase_id/pattern: breaking: pattern changed from "^PH-" to "^PH-[0-9]" '
        "(via common.schema.json#/$defs/PhaseId)",
    ]
    # A single file resolves its refs against the files beside it.
    assert [c.format() for c in diff_files(old / "task.schema.json", new / "task.schema.json")] == [
        'task.schema.json#/properties/phase_id/pattern: breaking: pattern changed from "^PH-" to "^PH-[0-9]" '
        "(via common.schema.json#/$defs/PhaseId)",
    ]


def test_new_major_version_changes_every_id(tmp_path: Path) -> None:
    old = contract_set(tmp_path, "v1", "^PH-")
    new = contract_set(tmp_path, "v2", "^PH-")
    assert [c.format() for c in diff_dirs(old, new)] == [
        'common.schema.json#/$id: breaking: $id changed from "https://example.dev/schemas/v1/common.schema.json" '
        'to "https://example.dev/schemas/v2/common.schema.json"',
        'task.schema.json#/$id: breaking: $id changed from "https://example.dev/schemas/v1/task.schema.json" '
        'to "https://example.dev/schemas/v2/task.schema.json"',
    ]


def test_folders_pair_files_by_name(tmp_path: Path) -> None:
    old = contract_set(tmp_path / "old", "v1", "^PH-")
    new = contract_set(tmp_path / "new", "v1", "^PH-")
    (new / "task.schema.json").rename(new / "job.schema.json")
    assert [c.format() for c in diff_dirs(old, new)] == [
        "job.schema.json#: compatible: schema file added",
        "task.schema.json#: breaking: schema file removed",
    ]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("missing", "ok/a.json", "{t}/missing: no such file or folder"),
        ("ok/a.json", "ok", "{t}/ok/a.json and {t}/ok: give two schema files or two folders of schema files"),
        (
            "bad/bad.json",
            "ok/a.json",
            "{t}/bad/bad.json:2:1: invalid JSON: Expecting property name enclosed in double quotes",
        ),
        ("list/list.json", "ok/a.json", "{t}/list/list.json: not a JSON Schema (an object or a boolean)"),
        ("empty", "ok", "{t}/empty: no .json schema files in this folder"),
    ],
    ids=["missing", "file-vs-folder", "invalid-json", "not-a-schema", "empty-folder"],
)
def test_inputs_that_cannot_be_compared(tmp_path: Path, old: str, new: str, message: str) -> None:
    write(tmp_path / "ok", "a.json", {"type": "object"})
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "bad.json").write_text("{\n'a': 1}", encoding="utf-8")
    (tmp_path / "list").mkdir()
    (tmp_path / "list" / "list.json").write_text("[]", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SchemaDiffError) as caught:
        diff_paths(tmp_path / old, tmp_path / new)
    assert str(caught.value) == message.format(t=tmp_path)


# -- released versions are frozen ----------------------------------------------------------------------------------


def test_released_versions_are_listed_here() -> None:
    assert sorted(p.name for p in RELEASED.iterdir()) == sorted(FROZEN_MANIFESTS)


@pytest.mark.parametrize("version", sorted(FROZEN_MANIFESTS))
def test_released_version_is_frozen(version: str) -> None:
    """Every file of a released version matches its SHA256SUMS, which itself matches the hash pinned above."""
    folder = RELEASED / version
    sums = folder / "SHA256SUMS"
    assert hashlib.sha256(sums.read_bytes()).hexdigest() == FROZEN_MANIFESTS[version]
    listed = {}
    for line in sums.read_text(encoding="utf-8").splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    assert sorted(p.name for p in folder.iterdir() if p.name != "SHA256SUMS") == sorted(listed)
    assert {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in listed} == listed


def test_current_v1_is_compatible_with_the_released_v1() -> None:
    """What ``nox -s compat`` enforces: schemas/v1 may only change compatibly after v1.0.0."""
    breaking = [c.format() for c in diff_dirs(RELEASED / "v1.0.0", REPO_ROOT / "schemas" / "v1") if c.breaking]
    assert breaking == []
