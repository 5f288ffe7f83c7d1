"""What a person watching ``uet run`` sees: plain lines, the current step, durations, -q/-v, NO_COLOR, FORCE_COLOR,
and a failed workstream's issues and output tail, live and in the summary, plain and rich.

The reporters are driven with real contract records into a string buffer; the terminal variant's live
lines are read from its rich tasks (what the live display draws), its printed lines from the buffer.
"""

from __future__ import annotations

import dataclasses
import io
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.uet_engine.run_records import RUN, T0, attempt, record
from uet_contracts import RunRecord
from uet_engine.detection.failure_report import FailureReport
from uet_engine.execution.progress import (
    Reporter,
    RichReporter,
    console_for,
    duration,
    step_label,
    tasks_in,
)
from uet_engine.planning.phase_set import load_phase_set


@pytest.fixture(autouse=True)
def no_style_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def ended(status: str, seconds: float, **more: object) -> RunRecord:
    start = record(RUN, "ws-a")
    return dataclasses.replace(
        start,
        status=status,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=seconds),
        **more,  # type: ignore[arg-type]
    )


def lines(buffer: io.StringIO) -> list[str]:
    return [line[9:] for line in buffer.getvalue().splitlines()]  # drop the HH:MM:SS clock


def test_the_durations_people_read() -> None:
    assert [duration(s) for s in (0.04, 12.34, 59.96, 125, 3720)] == ["0.0s", "12.3s", "60.0s", "2m05s", "1h02m"]


def test_a_step_label_names_the_step_its_place_and_its_command() -> None:
    first = attempt(RUN, "ws-a", success=None)
    assert step_label(first, 3) == "step 1/3: echo hi > a.py"
    retry = dataclasses.replace(first, kind="acceptance", index=1, attempt=2)
    assert step_label(retry, 2) == "check 2/2 (try 2): echo hi > a.py"
    long = dataclasses.replace(first, request=dataclasses.replace(first.request, run="x" * 100 + "\nsecond line"))
    assert step_label(long, 1) == "step 1/1: " + "x" * 59 + "…"


def test_tasks_are_counted_from_the_spec() -> None:
    specs = load_phase_set(EXAMPLES / "phases").specs
    assert (tasks_in(specs["PH-01A"], "step"), tasks_in(specs["PH-01A"], "acceptance")) == (1, 2)


def test_plain_lines_name_each_change_and_how_long_it_took() -> None:
    out = io.StringIO()
    reporter = Reporter(out)
    reporter.begin(RUN, 1, Path("/repo"))
    reporter.changed(record(RUN, "ws-a"))
    reporter.changed(dataclasses.replace(record(RUN, "ws-a"), status="running", started_at=T0))
    reporter.attempt(attempt(RUN, "ws-a", success=None), 1)  # not shown without -v
    reporter.changed(ended("failed", 2.5, reason="step/0 exited 1"))
    assert out.getvalue().splitlines()[0] == f"{RUN}: 1 workstream(s) in /repo"
    assert lines(out)[1:] == ["PH-01 ws-a queued", "PH-01 ws-a running", "PH-01 ws-a failed in 2.5s: step/0 exited 1"]


def test_verbose_adds_each_step_as_it_starts_and_ends() -> None:
    out = io.StringIO()
    reporter = Reporter(out, verbosity=1)
    started = attempt(RUN, "ws-a", success=None)
    reporter.attempt(dataclasses.replace(started, request=dataclasses.replace(started.request, phase_id="PH-01")), 2)
    reporter.attempt(attempt(RUN, "ws-a", success=False), 2)
    assert lines(out) == [
        "PH-01 ws-a step 1/2: echo hi > a.py",
        "ws-a step 1/2: echo hi > a.py -> failed, exit 1, 0.0s",
    ]


def test_quiet_prints_only_the_summary() -> None:
    out = io.StringIO()
    reporter = Reporter(out, verbosity=-1)
    reporter.begin(RUN, 1, Path("/repo"))
    reporter.changed(record(RUN, "ws-a"))
    reporter.attempt(attempt(RUN, "ws-a"), 1)
    reporter.changed(ended("succeeded", 1.0, patch_id="PATCH-1"))
    assert out.getvalue() == ""
    reporter.summary([ended("succeeded", 1.0, patch_id="PATCH-1")])
    assert out.getvalue().splitlines() == [
        "PHASE  WORKSTREAM  STATUS     TIME  DETAIL",
        "PH-01  ws-a        succeeded  1.0s  PATCH-1",
        "1 succeeded",
    ]


def test_the_summary_has_a_duration_for_what_ran() -> None:
    out = io.StringIO()
    reused = dataclasses.replace(ended("succeeded", 0.0), workstream_id="ws-b", reused_from=RUN)
    Reporter(out).summary([ended("failed", 75, reason="boom"), reused, record(RUN, "ws-c")])
    assert out.getvalue().splitlines() == [
        "PHASE  WORKSTREAM  STATUS     TIME   DETAIL",
        "PH-01  ws-a        failed     1m15s  boom",
        f"PH-01  ws-b        succeeded         reused from {RUN}",
        "PH-01  ws-c        queued",
        "1 succeeded, 1 failed",
    ]


def test_force_color_colours_the_states_of_plain_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = io.StringIO()
    Reporter(out).changed(ended("succeeded", 1.0))
    assert lines(out) == ["PH-01 ws-a \x1b[32msucceeded\x1b[0m in 1.0s"]
    monkeypatch.setenv("NO_COLOR", "1")  # NO_COLOR wins
    out = io.StringIO()
    Reporter(out).changed(ended("succeeded", 1.0))
    assert lines(out) == ["PH-01 ws-a succeeded in 1.0s"]


def test_no_color_removes_every_style_even_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    styled = io.StringIO()
    console_for(styled).print("[bold italic red]x[/]")
    assert styled.getvalue() == "\x1b[1;3;31mx\x1b[0m\n"
    monkeypatch.setenv("NO_COLOR", "1")
    plain = io.StringIO()
    console_for(plain).print("[bold italic red]x[/] 42")
    assert plain.getvalue() == "x 42\n"


def test_the_live_line_of_a_workstream_shows_its_current_step() -> None:
    out = io.StringIO()
    reporter = RichReporter(out)
    reporter.begin(RUN, 2, Path("/repo"))
    reporter.changed(dataclasses.replace(record(RUN, "ws-a"), status="running", started_at=T0))
    reporter.attempt(attempt(RUN, "ws-a", success=None), 3)
    overall, live = reporter.progress.tasks
    assert live.description == "PH-01 ws-a  step 1/3: echo hi > a.py"
    assert (overall.total, live.total) == (2, None)  # only the overall line has a bar and a count
    reporter.changed(ended("succeeded", 4.2, patch_id="PATCH-1"))
    reporter.close()
    assert [task.description for task in reporter.progress.tasks] == ["workstreams"]
    assert "PH-01 ws-a succeeded in 4.2s" in out.getvalue()


# -- failure reports ------------------------------------------------------------------------------------------

FAILED = dataclasses.replace(
    record(RUN, "ws-a"), status="failed", reason="acceptance/0 (sh) failed: exit code 1, expected 0"
)
SUCCEEDED = dataclasses.replace(record(RUN, "ws-b", "PH-02"), status="succeeded", patch_id=f"PATCH-ws-b-{RUN}")
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
    reporter.changed(dataclasses.replace(FAILED, status="running"))
    reporter.changed(FAILED)
    reporter.failure(FAILED, REPORT)
    reporter.close()
    reporter.summary([FAILED, SUCCEEDED], {"ws-a": REPORT})
    text = out.getvalue()
    for line in LINES:
        assert text.count(line.strip()) == 2, line  # live, and after the summary
