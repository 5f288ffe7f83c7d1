"""PATTERN_INDEX.yaml: validated on read and write, atomic, sorted, never overwritten while broken."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

import uet_contracts
from uet_contracts import PatternEntry, PatternIndex, PatternPaths
from uet_engine.errors import RegistryError
from uet_engine.patterns import registry

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def entry(pattern_id: str, uses: int = 0) -> PatternEntry:
    name = pattern_id.removeprefix("PAT-")
    return PatternEntry(
        pattern_id=pattern_id,
        name=name,
        version="1.0.0",
        status="active",
        category="EXEC-ATOMIC-CREATE",
        paths=PatternPaths(spec=f"templates/phase_templates/{name}.template.yaml"),
        summary="Creates a module.",
        proven_uses=uses,
        created_at=NOW,
    )


def add(*entries: PatternEntry):  # type: ignore[no-untyped-def]
    return lambda index: replace(index, patterns=[*index.patterns, *entries])


def test_a_missing_registry_reads_as_empty(tmp_path: Path) -> None:
    assert registry.read(tmp_path) == PatternIndex(index_version=1, patterns=[])


def test_written_sorted_with_a_header_and_read_back(tmp_path: Path) -> None:
    written = registry.update(tmp_path, add(entry("PAT-zeta"), entry("PAT-alpha")))
    text = registry.index_path(tmp_path).read_text(encoding="utf-8")
    assert text.startswith(registry.HEADER)
    data = yaml.safe_load(text)
    assert [p["pattern_id"] for p in data["patterns"]] == ["PAT-alpha", "PAT-zeta"]
    assert list(data["patterns"][0]) == [
        "pattern_id",
        "name",
        "version",
        "status",
        "category",
        "paths",
        "summary",
        "proven_uses",
        "created_at",
    ]
    assert registry.read(tmp_path) == replace(written, patterns=sorted(written.patterns, key=lambda e: e.pattern_id))
    uet_contracts.check(data, PatternIndex)


def test_an_unchanged_registry_is_not_rewritten(tmp_path: Path) -> None:
    registry.update(tmp_path, add(entry("PAT-a")))
    path = registry.index_path(tmp_path)
    path.write_text(path.read_text(encoding="utf-8") + "# a comment of my own\n", encoding="utf-8")
    registry.update(tmp_path, lambda index: index)
    assert path.read_text(encoding="utf-8").endswith("# a comment of my own\n")


BROKEN = {
    "yaml": (
        "index_version: 1\npatterns: [\n",
        ["F:3:1: $: YAML syntax error: did not find expected node content (while parsing a flow node)"],
    ),
    "missing-fields": (
        "index_version: 1\npatterns:\n  - pattern_id: PAT-a\n    name: a\n",
        [
            f"F:3:5: $.patterns[0].{name}: missing required field {name!r}"
            for name in ("category", "paths", "proven_uses", "status", "summary", "version")
        ],
    ),
    "version": ("index_version: 2\npatterns: []\n", ["F:1:16: $.index_version: 1 was expected"]),
    "values": (
        "index_version: 1\npatterns:\n  - pattern_id: nope\n    name: a\n    version: 1.0.0\n    status: active\n"
        "    category: X\n    paths: {}\n    summary: s\n    proven_uses: -1\n",
        [
            "F:3:17: $.patterns[0].pattern_id: 'nope' is not a valid PatternId. Identifier of an approved pattern in "
            "the pattern registry, e.g. PAT-exec-atomic-create-py: 'PAT-' then letters, digits, '_' or '-'.",
            "F:10:18: $.patterns[0].proven_uses: -1 is less than the minimum of 0",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_registry_gives_located_problems_and_is_left_alone(tmp_path: Path, case: str) -> None:
    text, expected = BROKEN[case]
    path = registry.index_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        registry.update(tmp_path, add(entry("PAT-new")))
    assert [problem.format().replace(str(path), "F") for problem in caught.value.problems] == expected
    assert path.read_text(encoding="utf-8") == text
    assert str(caught.value) == f"{path} is broken; fix it first (it is left as it is)"


def test_a_pattern_listed_twice_is_located(tmp_path: Path) -> None:
    registry.update(tmp_path, add(entry("PAT-a"), entry("PAT-b")))
    path = registry.index_path(tmp_path)
    text = path.read_text(encoding="utf-8").replace("PAT-b", "PAT-a")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        registry.read(tmp_path)
    (problem,) = caught.value.problems
    line = text.splitlines().index("- pattern_id: PAT-a", text.splitlines().index("- pattern_id: PAT-a") + 1) + 1
    assert (problem.json_path, problem.line, problem.message) == (
        "$.patterns[1].pattern_id",
        line,
        "pattern_id 'PAT-a' is already listed at patterns[0]",
    )


def test_an_invalid_change_is_refused_before_writing(tmp_path: Path) -> None:
    registry.update(tmp_path, add(entry("PAT-a")))
    before = registry.index_path(tmp_path).read_text(encoding="utf-8")
    with pytest.raises(uet_contracts.ContractError):
        registry.update(tmp_path, add(replace(entry("PAT-b"), version="one")))
    assert registry.index_path(tmp_path).read_text(encoding="utf-8") == before
