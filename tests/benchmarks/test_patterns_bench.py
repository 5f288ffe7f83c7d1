"""The patterns benchmark's logs are valid records and mine into candidates and anti-patterns."""

from __future__ import annotations

from pathlib import Path

import uet_contracts
from benchmarks.bench_patterns import build, make_logs
from uet_engine.patterns.mining import Options, mine


def test_the_benchmark_logs_validate_and_mine(tmp_path: Path) -> None:
    logs, errors = make_logs(400)
    for record in [*logs, *errors]:
        uet_contracts.check(uet_contracts.to_dict(record), type(record))
    assert len(errors) == sum(not log.success for log in logs) > 0
    assert make_logs(400) == (logs, errors)  # deterministic
    build(tmp_path, 2_000)
    found = mine(tmp_path, Options())
    assert found.logs == 2_000 and found.candidates and found.anti_patterns
