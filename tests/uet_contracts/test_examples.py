"""The example files the project ships load and round-trip unchanged, and match the original pipeline
design's examples byte for byte where a copy of those sits beside this checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import uet_contracts
from tests.conftest import EXAMPLE_PHASES, EXAMPLES


def test_there_are_four_example_phases() -> None:
    assert [p.name for p in EXAMPLE_PHASES] == ["PH-00.yaml", "PH-01A.yaml", "PH-01B.yaml", "PH-02.yaml"]


@pytest.mark.parametrize("path", EXAMPLE_PHASES, ids=lambda p: p.name)
def test_example_phase_loads_and_round_trips(path: Path) -> None:
    spec = uet_contracts.load(path, uet_contracts.PhaseSpec)
    assert spec.phase_id == path.stem
    assert uet_contracts.to_dict(spec) == yaml.safe_load(path.read_text(encoding="utf-8"))


def test_example_dag_snapshot_loads_and_round_trips() -> None:
    path = EXAMPLES / "dag_snapshot.json"
    snapshot = uet_contracts.load(path, uet_contracts.DagSnapshot)
    assert snapshot.critical_path == ["PH-00", "PH-01A", "PH-02"]
    assert uet_contracts.to_dict(snapshot) == json.loads(path.read_text(encoding="utf-8"))


def test_shared_examples_are_the_same_as_the_projects_copies(repo_root: Path) -> None:
    shared = repo_root.parent / "shared" / "examples"
    if not shared.is_dir():
        pytest.skip(
            "compares examples/ with the original pipeline design's own copy, which is not here: put that "
            f"design's examples folder at {shared} to run it"
        )
    for original in shared.rglob("*"):
        if original.is_file():
            copy = EXAMPLES / original.relative_to(shared)
            assert copy.read_bytes() == original.read_bytes(), copy
