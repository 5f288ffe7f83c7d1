"""codegen's ``$ref`` resolution: a referencing registry of one version's files, offline, by ``$id``."""

from __future__ import annotations

import pytest

from codegen.bundle import load_schemas
from codegen.refs import References
from tests.conftest import REPO_ROOT

COMMON = {
    "$id": "https://example.invalid/v9/common.schema.json",
    "title": "Common",
    "$defs": {"Code": {"type": "string"}, "Codes": {"type": "array", "items": {"$ref": "#/$defs/Code"}}},
}
THING = {
    "$id": "https://example.invalid/v9/thing.schema.json",
    "title": "Thing",
    "type": "object",
    "properties": {"code": {"$ref": "common.schema.json#/$defs/Code"}},
}
REFS = References({"common.schema.json": COMMON, "thing.schema.json": THING})


def test_a_relative_ref_resolves_against_the_referring_files_id() -> None:
    target = REFS.target("common.schema.json#/$defs/Code", "thing.schema.json")
    assert (target.file, target.name, target.label) == ("common.schema.json", "Code", "Code")
    assert target.node is COMMON["$defs"]["Code"]


def test_a_local_ref_stays_in_its_file_and_a_whole_file_ref_is_labelled_by_its_title() -> None:
    assert REFS.target("#/$defs/Code", "common.schema.json").file == "common.schema.json"
    whole = REFS.target("thing.schema.json", "common.schema.json")
    assert (whole.file, whole.name, whole.label, whole.node) == ("thing.schema.json", "", "Thing", THING)


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("missing.schema.json#/$defs/Code", "names a file that is not a schema of this version"),
        ("https://example.org/elsewhere.json", "names a file that is not a schema of this version"),
        ("../v1/common.schema.json", "names a file that is not a schema of this version"),
        ("common.schema.json#/$defs/Nope", "points at nothing in its file"),
        ("common.schema.json#nope", "points at nothing in its file"),
        ("#/properties/code", "must point at a whole file or at one of its $defs"),
    ],
)
def test_a_ref_to_anything_else_is_refused_by_name_without_fetching(ref: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        REFS.target(ref, "thing.schema.json")
    assert str(caught.value) == f"thing.schema.json: $ref {ref!r} {message}"


def test_every_ref_of_the_v1_schemas_lands_on_a_file_or_definition_of_v1() -> None:
    schemas = load_schemas(REPO_ROOT / "schemas" / "v1")
    refs = References(schemas)

    def walk(node: object, file: str) -> int:
        if isinstance(node, dict):
            found = 0
            if isinstance(node.get("$ref"), str):
                assert refs.target(node["$ref"], file).file in schemas
                found = 1
            return found + sum(walk(value, file) for key, value in node.items() if key != "$ref")
        if isinstance(node, list):
            return sum(walk(item, file) for item in node)
        return 0

    assert sum(walk(doc, file) for file, doc in schemas.items()) >= 20
