"""The reporters: a failed workstream's issues and output tail, live and in the summary, plain and rich."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from tests.uet_engine.run_records import RUN, record
from uet_engine.detection.failure_report import FailureReport
from uet_engine.execution.progress import Reporter, RichReporter

FAILED = replace(record(RUN, "ws-a"), status="failed", reason="acceptance/0 (sh) failed: exit code 1, expected 0")
SUCCEEDED = replace(record(RUN, "ws-b", "PH-02"), status="succeeded", patch_id=f"PATCH-ws-b-{RUN}")
REPORT = FailureReport(
    task="acceptance/0 attempt 1 (sh)",
    issues=["tests/test_q.py:2: test_fifo failed: assert 1 == 2"],
    tail=["FAILED tests/test_q.py::test_fifo - assert 1 == 2", "1 failed in 0.01s"],
)
LINES = [
    "  issues:",
    "    tests/test_q.py:2: test_fifo failed: assert 1 == 2",
    "  last 2 line(s) of the output of acceptance/0 attempt 1 (sh):",
    "    | FAILED tests/test_q.py::test_fifo - assert 1 == 2",
    "    | 1 failed in 0.01s",
]


def test_the_plain_reporter_prints_the_failure_below_its_line_and_after_the_summary() -> None:
    out = io.StringIO()
    reporter = Reporter(out)
    reporter.failure(FAILED, REPORT)
    assert out.getvalue().splitlines() == LINES
    out.truncate(0)
    out.seek(0)
    reporter.summary([FAILED, SUCCEEDED], {"ws-a": REPORT})
    lines = out.getvalue().splitlines()
    assert lines[-7:] == [
        "ws-a failed: acceptance/0 (sh) failed: exit code 1, expected 0",
        *LINES,
        "1 succeeded, 1 failed",
    ]


def test_nothing_more_is_printed_when_the_failure_has_nothing_to_say() -> None:
    out = io.StringIO()
    Reporter(out).summary([FAILED], {"ws-a": FailureReport()})
    assert out.getvalue().splitlines()[-1] == "1 failed"
    assert "issues:" not in out.getvalue()


def test_the_rich_reporter_prints_the_same_lines() -> None:
    out = io.StringIO()
    reporter = RichReporter(out)
    reporter.begin(RUN, 2, Path("/repo"))
    reporter.changed(replace(FAILED, status="running"))
    reporter.changed(FAILED)
    reporter.failure(FAILED, REPORT)
    reporter.close()
    reporter.summary([FAILED, SUCCEEDED], {"ws-a": REPORT})
    text = out.getvalue()
    for line in LINES:
        assert text.count(line.strip()) == 2, line  # live, and after the summary
