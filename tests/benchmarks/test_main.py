"""``python -m benchmarks``: a benchmark's own parts are chosen by flag (``run --chain``), unknown flags refused."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as bench
from benchmarks import bench_run


def test_a_flag_runs_only_that_part_of_the_benchmark(monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[tuple[str, bool]] = []
    monkeypatch.setattr(bench, "compiled", lambda: called.append(("compiled", False)))  # no writes into src/ here
    monkeypatch.setattr(bench_run, "MODES", {"--a": lambda quick: called.append(("a", quick)) or 0, "--b": None})
    assert bench.main(["run", "--a", "--quick"]) == 0
    assert called == [("compiled", False), ("a", True)]  # the packages byte-compiled first, as installed


def test_a_flag_no_named_benchmark_has_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        bench.main(["run", "--nope"])
    assert exit_.value.code == 2
    assert "unrecognized argument '--nope' (no benchmark named has that part)" in capsys.readouterr().err
