"""loading: a spec file's record (built in a worker for large sets) and the specs structured when first read."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import yaml

import uet_contracts
from benchmarks.corpus import write_phase_set
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import PhaseSpec
from uet_engine.errors import PlanError
from uet_engine.planning import parallel
from uet_engine.planning.loading import canonical_json, read_record
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.planning.snapshot import source_hash

SPEC_FILES = sorted(
    path
    for folder in (EXAMPLES, REPO_ROOT / "tests")
    for path in uet_contracts.contract_files(folder)
    if not uet_contracts.check_file(path, PhaseSpec)
)


def test_every_valid_spec_file_is_recorded_with_the_canonical_json_of_its_instance(tmp_path: Path) -> None:
    generated = write_phase_set(tmp_path / "generated", 300, invalid_ratio=0.1)  # varied: optional fields, globs
    files = [*SPEC_FILES, *generated.valid]
    assert len(files) > 270
    for path in files:
        found, problems, unreadable = read_record(path, frozenset(), keep=False)
        kept, _, _ = read_record(path, frozenset(), keep=True)
        assert (problems, unreadable) == ([], False)
        assert found is not None and found.pickled == b"" and kept is not None
        instance = uet_contracts.load(path, PhaseSpec)
        assert found.canonical == kept.canonical == canonical_json(instance), path
        assert found._replace(pickled=kept.pickled) == kept
        assert pickle.loads(kept.pickled) == instance


def test_the_source_hash_sees_an_int_field_as_structuring_does(tmp_path: Path) -> None:
    def hashed(folder: str, check: dict[str, object], estimate: float) -> str:
        data = spec("PH-01", estimate=estimate)
        data["acceptance"] = {"sh": [check]}
        write(tmp_path / folder, data)
        return source_hash(load_phase_set(tmp_path / folder))

    as_int = hashed("int", {"run": "true", "expect_exit": 0}, 2)
    assert hashed("float", {"run": "true", "expect_exit": 0.0}, 2) == as_int  # the same integer to the schema
    assert hashed("estimate", {"run": "true", "expect_exit": 0}, 2.0) != as_int  # a number field keeps 2.0


def test_specs_not_kept_are_loaded_again_and_refused_once_their_file_changed(tmp_path: Path) -> None:
    paths = write(tmp_path, spec("PH-01"), spec("PH-02", ["PH-01"]), spec("PH-03"))
    phase_set = load_phase_set(tmp_path, keep_specs=False)
    assert phase_set.specs["PH-01"] == uet_contracts.load(paths[0], PhaseSpec)
    assert phase_set.specs["PH-01"] is phase_set.specs["PH-01"]  # structured once
    write(tmp_path, spec("PH-02", ["PH-01"], create=["new.py"]))
    with pytest.raises(PlanError) as caught:
        phase_set.specs["PH-02"]
    assert [p.format() for p in caught.value.problems] == [
        f"{paths[1]}: $: changed since the set was checked: plan again"
    ]
    paths[2].write_text("phase_id: [", encoding="utf-8")
    with pytest.raises(PlanError) as caught:
        phase_set.specs["PH-03"]
    assert caught.value.problems[0].message.startswith("YAML syntax error")
    assert phase_set.specs.record("PH-03").title == "Phase PH-03"  # what the set checks read stays


def test_kept_specs_do_not_read_their_files_again(tmp_path: Path) -> None:
    paths = write(tmp_path, spec("PH-01"), spec("PH-02", ["PH-01"]))
    phase_set = load_phase_set(tmp_path)
    for path in paths:
        path.unlink()
    assert [s.phase_id for s in phase_set.specs.values()] == ["PH-01", "PH-02"]
    assert phase_set.by_workstream("ws-ph-02") == phase_set.specs["PH-02"]


def test_a_large_set_gives_the_problems_of_a_small_one(tmp_path: Path) -> None:
    """Past ``PARALLEL_MIN`` files the records are made in worker processes: the same problems, located."""

    def bad(phase_id: str) -> dict[str, object]:
        data = spec(phase_id)
        data["steps"] = [
            {"id": "a", "operation_kind": "EXEC-STEP", "tool": "sh", "run": "true", "depends_on": ["b"]},
            {"operation_kind": "EXEC-AI-EDIT", "tool": "bash", "prompt": "x"},
        ]
        data["acceptance"] = {"sh": []}
        return data

    small, large = tmp_path / "small", tmp_path / "large"
    write(small, bad("PH-0000"))
    write(large, bad("PH-0000"), *(spec(f"PH-{i:04d}") for i in range(1, parallel.PARALLEL_MIN + 1)))

    def found(folder: Path) -> tuple[list[str], list[str]]:
        with pytest.raises(PlanError) as caught:
            load_phase_set(folder, tools={"aider"})
        where = f"{folder}{os.sep}"
        return [p.format().replace(where, "") for p in caught.value.problems], [
            p.format().replace(where, "") for p in caught.value.warnings
        ]

    assert (
        found(large)
        == found(small)
        == (
            [
                "PH-0000.yaml:19:5: $.steps[0].depends_on[0]: depends on unknown step 'b': no step of ws-ph-0000 has"
                " that id",
                "PH-0000.yaml:21:9: $.steps[1].tool: unknown tool 'bash': not a runner (sh, python, powershell) nor a"
                " tool profile (aider); define tool_profiles.bash in uet.config.yaml",
            ],
            [
                "PH-0000.yaml:12:3: $.acceptance: warning: acceptance has no checks, so it proves nothing: add a"
                " command that checks the work"
            ],
        )
    )
    assert yaml.safe_load((large / "PH-0001.yaml").read_text(encoding="utf-8"))["phase_id"] == "PH-0001"
