"""The generated schema reference: current, complete, linked from the nav, and every example valid."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from mkdocs.config import load_config
from referencing import Registry, Resource

import uet_contracts
from codegen.options import SCHEMA_DIR
from codegen.reference import HANDOFFS, Renderer, _check_roles, kind_of, render_reference
from tests.conftest import REPO_ROOT

REFERENCE = REPO_ROOT / "generated" / "reference"
EXAMPLE = re.compile(r"^## Example\n.*?^```(?P<lang>json|yaml)\n(?P<body>.*?)^```$", re.M | re.S)
DEFINITION_EXAMPLE = re.compile(r"^(?P<name>\w+)\n.*?^Example:\n\n```json\n(?P<body>.*?)^```$", re.M | re.S)


def _schemas() -> dict[str, Any]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(SCHEMA_DIR.glob("*.schema.json"))}


def test_committed_reference_pages_are_what_codegen_writes() -> None:
    expected = render_reference(SCHEMA_DIR, REPO_ROOT)
    committed = {p.name: p.read_text(encoding="utf-8") for p in sorted(REFERENCE.iterdir())}
    assert sorted(committed) == sorted(expected)
    stale = [name for name, text in expected.items() if committed[name] != text]
    assert stale == [], "run `python -m codegen` and commit generated/reference/"


@pytest.mark.parametrize("contract", uet_contracts.CONTRACTS, ids=lambda c: c.kind)
def test_each_contract_page_lists_every_field_and_its_example_validates(contract: uet_contracts.Contract) -> None:
    text = (REFERENCE / f"{contract.kind}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {contract.type.__name__}\n")
    fields = text.split("\n## Fields\n")[1].split("\n## ")[0]  # the contract's own table, not its $defs
    rows = re.findall(r"^\| `(\w+)`<br>(?:required|optional) \|", fields, re.M)
    assert rows == list(uet_contracts.schema(contract.type)["properties"])
    found = EXAMPLE.search(text)
    assert found is not None
    instance = uet_contracts.loads(found["body"], contract.type, format=found["lang"])
    assert isinstance(instance, contract.type)


def test_each_shared_definition_example_validates() -> None:
    schemas = _schemas()
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in schemas.values())
    common_id = schemas["common.schema.json"]["$id"]
    text = (REFERENCE / "common.md").read_text(encoding="utf-8")
    checked = []
    for section in text.split("\n## ")[1:]:
        found = DEFINITION_EXAMPLE.match(section)
        if found is None:
            continue
        validator = Draft202012Validator({"$ref": f"{common_id}#/$defs/{found['name']}"}, registry=registry)
        assert list(validator.iter_errors(json.loads(found["body"]))) == [], found["name"]
        checked.append(found["name"])
    objects = [name for name, node in schemas["common.schema.json"]["$defs"].items() if node.get("type") == "object"]
    assert checked == objects


def test_field_map_maps_every_field_of_every_contract_to_a_stage() -> None:
    rows = re.findall(
        r"^\| \[(\w+)\]\(reference/(\w+)\.md\)<br>(\d)\. ([a-z ]+) \| `(\w+)`<br>(?:required|optional) \|",
        _read("_field_map.md"),
        re.M,
    )
    expected = []
    for handoff in HANDOFFS:
        for role in handoff.roles:
            doc = _schemas()[role.file]
            expected += [
                (doc["title"], kind_of(role.file), str(handoff.number), role.stage, name) for name in doc["properties"]
            ]
    assert rows == expected
    assert {kind for _, kind, *_ in rows} == {c.kind for c in uet_contracts.CONTRACTS}


def test_handoff_table_names_each_contract_once_with_producer_and_consumer() -> None:
    rows = re.findall(
        r"^\| \[(\w+)\]\(reference/\w+\.md\) \| (\d)\. [a-z ]+ \| Produced by [^|]+<br>Consumed by [^|]+ \| [^|]+ \|$",
        _read("_handoffs.md"),
        re.M,
    )
    assert sorted(title for title, _ in rows) == sorted(c.type.__name__ for c in uet_contracts.CONTRACTS)
    assert sorted({number for _, number in rows}) == ["1", "2", "3", "4"]


def test_every_reference_page_is_in_the_site_nav() -> None:
    config = load_config(str(REPO_ROOT / "mkdocs.yml"))

    def pages(nav: Any) -> list[str]:
        if isinstance(nav, str):
            return [nav]
        if isinstance(nav, list):
            return [page for item in nav for page in pages(item)]
        return [page for value in nav.values() for page in pages(value)]

    in_nav = {page for page in pages(config["nav"]) if page.startswith("reference/")}
    on_disk = {f"reference/{p.name}" for p in REFERENCE.glob("*.md") if not p.name.startswith("_")}
    assert in_nav == on_disk


def _read(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


# -- the renderer on small schemas of its own ------------------------------------------------------------

COMMON = {
    "$id": "https://example.invalid/common.schema.json",
    "title": "Common",
    "$defs": {"Code": {"description": "A code.", "type": "string", "pattern": "^C-[0-9]+$"}},
}
THING = {
    "$id": "https://example.invalid/thing.schema.json",
    "title": "Thing",
    "description": "A thing.",
    "type": "object",
    "additionalProperties": False,
    "required": ["code"],
    "properties": {
        "code": {"$ref": "common.schema.json#/$defs/Code", "description": "Its code."},
        "mode": {"description": "a|b choice.", "type": "string", "enum": ["fast", "slow"], "default": "fast"},
        "ratio": {"description": "Share.", "type": "number", "minimum": 0, "maximum": 1},
        "limit": {"description": "Limit.", "type": "integer", "exclusiveMinimum": 0},
        "when": {"description": "Time.", "type": "string", "format": "date-time"},
        "codes": {"description": "Map.", "type": "object", "additionalProperties": {"type": "integer", "minimum": 1}},
        "extra": {"description": "Anything.", "type": "object", "additionalProperties": True},
        "either": {"description": "Pipe.", "type": "string", "pattern": "^(x|y)$"},
    },
}


def _renderer() -> Renderer:
    return Renderer({"common.schema.json": COMMON, "thing.schema.json": THING}, REPO_ROOT)


def test_field_rows_show_type_required_constraints_default_and_escape_pipes() -> None:
    rows = _renderer().field_table(THING, "thing.schema.json", "thing")
    assert rows[2:] == [
        "| `code`<br>required | string ([Code](common.md#code)) | Its code.<br>Constraints: pattern `^C-[0-9]+$` |",
        "| `mode`<br>optional | string | a\\|b choice.<br>Constraints: one of `fast`, `slow`; default `fast` |",
        "| `ratio`<br>optional | number | Share.<br>Constraints: minimum `0`; maximum `1` |",
        "| `limit`<br>optional | integer | Limit.<br>Constraints: exclusiveMinimum `0` |",
        "| `when`<br>optional | string | Time.<br>Constraints: format `date-time` |",
        "| `codes`<br>optional | map of string → integer | Map.<br>Constraints: each value: minimum `1` |",
        "| `extra`<br>optional | object (free-form) | Anything. |",
        "| `either`<br>optional | string | Pipe.<br>Constraints: pattern `^(x|y)$` |",
    ]


def test_built_example_satisfies_each_constraint() -> None:
    sample = {"^C-[0-9]+$": "C-7", "^(x|y)$": "x"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("codegen.reference.PATTERN_SAMPLES", sample)
        value = _renderer().example_value(THING, "thing.schema.json")
    assert value == {
        "code": "C-7",
        "mode": "fast",
        "ratio": 0.5,
        "limit": 1,
        "when": "2026-11-25T10:15:00Z",
        "codes": {"example key": 1},
        "extra": {},
        "either": "x",
    }


def test_a_pattern_without_a_sample_stops_generation() -> None:
    with pytest.raises(ValueError, match=r"add a PATTERN_SAMPLES entry for '\^C-\[0-9\]\+\$'"):
        _renderer().example_value(THING, "thing.schema.json")


def test_a_contract_missing_from_the_handoffs_stops_generation() -> None:
    schemas = {**_schemas(), "thing.schema.json": THING}
    with pytest.raises(ValueError, match=r"missing \['thing.schema.json'\], unknown \[\], repeated \[\]"):
        _check_roles(schemas)


def test_phase_spec_example_is_the_projects_example_file() -> None:
    text = _read("phase_spec.md")
    found = EXAMPLE.search(text)
    assert found is not None
    assert found["body"] == (REPO_ROOT / "examples/phases/PH-01A.yaml").read_text(encoding="utf-8")
    assert yaml.safe_load(found["body"])["phase_id"] == "PH-01A"


def test_reference_pages_link_only_to_pages_that_exist() -> None:
    names = {p.name for p in REFERENCE.glob("*.md")}
    for page in REFERENCE.glob("*.md"):
        for target in re.findall(r"\]\((\w+\.md)(?:#[\w-]+)?\)", page.read_text(encoding="utf-8")):
            assert target in names, f"{page.name} links to {target}"


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (
            "[x](reference/phase_spec.md#no-such-field)",
            "the doc 'reference/phase_spec.md' does not contain an anchor '#no-such-field'",
        ),
        ("[x](reference/no_such_contract.md)", "the target is not found among documentation files"),
    ],
)
def test_strict_build_refuses_a_broken_link(tmp_path: Path, link: str, message: str) -> None:
    for folder in ("docs", "generated", "examples", "schemas/v1"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder)
    shutil.copy(REPO_ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with (tmp_path / "docs" / "index.md").open("a", encoding="utf-8") as page:
        page.write(f"\n{link}\n")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=tmp_path,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert message in done.stderr
    assert "Aborted with 1 warnings in strict mode!" in done.stdout + done.stderr
