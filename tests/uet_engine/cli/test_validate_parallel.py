"""``uet validate`` over more than PARALLEL_MIN files runs in worker processes with unchanged output."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.corpus import write_phase_set
from tests.uet_engine.cli.test_validate import uet
from uet_contracts import PhaseSpec, check_file
from uet_engine.cli.validate import check_files
from uet_engine.planning.parallel import PARALLEL_MIN


def test_a_large_folder_gives_the_sequential_lines_in_sorted_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    phases = write_phase_set(tmp_path / "phases", 300, invalid_ratio=0.02, seed=5)
    assert len(phases.files) > PARALLEL_MIN
    files = sorted(f"phases/{path.name}" for path in phases.files)
    monkeypatch.chdir(tmp_path)  # the paths in the reference lines are relative, as in the process's output
    expected = [problem.format() for file in files for problem in check_file(file, PhaseSpec)]
    assert {line.split(":", 1)[0] for line in expected} == {f"phases/{p.name}" for p in phases.invalid}

    outcome = uet(tmp_path, "validate", "phases")

    assert outcome.code == 1
    assert outcome.stdout == expected
    assert outcome.stderr == ["300 file(s) checked as phase_spec: 294 valid, 6 invalid"]


def test_worker_processes_return_each_files_lines_in_input_order(tmp_path: Path) -> None:
    phases = write_phase_set(tmp_path, 250, invalid_ratio=0.04, seed=9)
    files = [str(path) for path in reversed(phases.files)]  # any order given is the order reported

    parallel = list(check_files(files, "phase_spec", jobs=2))

    assert parallel == list(check_files(files, "phase_spec", jobs=1))
    assert not any(unreadable for unreadable, _lines in parallel)
    assert [file for file, (_unreadable, lines) in zip(files, parallel, strict=True) if lines] == [
        str(path) for path in sorted(phases.invalid, reverse=True)
    ]
