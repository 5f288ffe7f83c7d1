"""The benchmark corpus is what it claims: valid files validate, each defect fails where meant, the DAG is acyclic."""

from __future__ import annotations

import graphlib
from pathlib import Path

from benchmarks.corpus import DEFECTS, phase_id, write_phase_set
from uet_contracts import PhaseSpec, check_file, load

# The JSON path each defect of DEFECTS (in order) is reported at.
DEFECT_PATHS = [
    "$.objective",
    "$.owner",
    "$.phase_id",
    "$.file_scope.modify[0]",
    "$.file_scope.create[0]",
    "$.phase_type",
    "$.acceptance",
    "$.steps[0].tool",
    "$.estimate_hours",
    "$.depends_on",
]


def test_valid_files_load_and_invalid_files_fail_at_their_defect(tmp_path: Path) -> None:
    phases = write_phase_set(tmp_path, 200, invalid_ratio=0.05, seed=7)
    assert len(phases.files) == 200
    assert len(DEFECT_PATHS) == len(DEFECTS)
    assert sorted(p.name for p in phases.invalid) == [f"{phase_id(i)}.yaml" for i in range(19, 200, 20)]
    for path in phases.valid:
        spec = load(path, PhaseSpec)
        assert list(spec.depends_on or []) == phases.depends_on[spec.phase_id]
    reported = [[p.json_path for p in check_file(path, PhaseSpec)] for path in sorted(phases.invalid)]
    assert reported == [[expected] for expected in DEFECT_PATHS]


def test_dependencies_form_an_acyclic_layered_dag(tmp_path: Path) -> None:
    phases = write_phase_set(tmp_path, 500, seed=3, layer_width=20, max_deps=4)
    graph = phases.depends_on
    assert len(graph) == 500
    order = list(graphlib.TopologicalSorter(graph).static_order())
    assert sorted(order) == sorted(graph)
    for phase, prerequisites in graph.items():
        index = int(phase.removeprefix("PH-"))
        layer = index // 20
        assert all(layer - 2 <= int(p.removeprefix("PH-")) // 20 < layer for p in prerequisites)
        assert len(prerequisites) <= 4
        assert (len(prerequisites) == 0) == (layer == 0)


def test_same_seed_same_files(tmp_path: Path) -> None:
    first = write_phase_set(tmp_path / "a", 50, invalid_ratio=0.1, seed=11)
    second = write_phase_set(tmp_path / "b", 50, invalid_ratio=0.1, seed=11)
    assert [p.read_bytes() for p in first.files] == [p.read_bytes() for p in second.files]


def test_a_plannable_set_writes_each_file_from_one_phase_only(tmp_path: Path) -> None:
    phases = write_phase_set(tmp_path, 300, plannable=True, seed=4)
    written = [
        path
        for file in phases.files
        for scope in [load(file, PhaseSpec).file_scope]
        for path in scope.create + scope.modify
    ]
    assert len(written) == len(set(written))


def test_an_ordinary_set_has_the_shared_writes_of_real_phases(tmp_path: Path) -> None:
    phases = write_phase_set(tmp_path, 300, seed=4)
    modified = [path for file in phases.files for path in load(file, PhaseSpec).file_scope.modify]
    assert len(modified) > len(set(modified))
