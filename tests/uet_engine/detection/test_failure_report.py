"""The failure report: the last failed try's findings and the tail of its output, from the records alone."""

from __future__ import annotations

from dataclasses import replace

from tests.uet_engine.run_records import RUN, T0, attempt
from uet_contracts import ErrorEvent, StepAttempt
from uet_engine.detection.failure_report import LINE_LIMIT, MAX_ISSUES, TAIL_LINES, failure_report, location


def failed_try(number: int, stdout: str, stderr: str = "") -> StepAttempt:
    tried = attempt(RUN, "ws-a", kind="acceptance", number=number, success=False)
    assert tried.result is not None
    return replace(tried, result=replace(tried.result, stdout=stdout, stderr=stderr))


def finding(number: int, message: str, *, line: int | None = 3, task: str = "acceptance/0") -> ErrorEvent:
    return ErrorEvent(
        timestamp=T0,
        run_id=RUN,
        workstream_id="ws-a",
        error_type="acceptance_failed",
        error_code="UET-E102",
        message=message,
        severity="error",
        task_id=task,
        path="tests/test_q.py",
        line=line,
        plugin="pytest",
        context={"attempt": number},
    )


def test_the_report_is_of_the_last_failed_try() -> None:
    first, second = failed_try(1, "old output\n"), failed_try(2, "a\nb\n", "err\n")
    errors = [finding(1, "old failure"), finding(2, "new failure"), finding(2, "elsewhere", task="acceptance/1")]
    report = failure_report([first, second], errors)
    assert report.task == "acceptance/0 attempt 2 (sh)"
    assert report.issues == ["tests/test_q.py:3: new failure"]
    assert report.tail == ["a", "b", "err"]
    assert report.lines() == [
        "  issues:",
        "    tests/test_q.py:3: new failure",
        "  last 3 line(s) of the output of acceptance/0 attempt 2 (sh):",
        "    | a",
        "    | b",
        "    | err",
    ]


def test_issues_and_tail_are_capped() -> None:
    output = "".join(f"{i} {'x' * 400}\n" for i in range(100))
    errors = [finding(1, f"failure {i}", line=i + 1) for i in range(MAX_ISSUES + 4)]
    report = failure_report([failed_try(1, output)], errors)
    assert len(report.issues) == MAX_ISSUES and report.more_issues == 4
    assert len(report.tail) == TAIL_LINES and report.tail[0].startswith("80 ")
    assert all(len(line) == LINE_LIMIT and line.endswith("…") for line in report.tail)
    assert report.lines()[MAX_ISSUES + 1] == "    … and 4 more (uet errors list --run RUN_ID)"


def test_nothing_to_report_without_a_failed_try() -> None:
    succeeded = attempt(RUN, "ws-a")
    assert failure_report([succeeded], []).lines() == []
    assert failure_report([], []).lines() == []


def test_location_says_as_much_as_the_event_knows() -> None:
    event = finding(1, "boom")
    assert location(event) == "tests/test_q.py:3: boom"
    assert location(replace(event, line=None)) == "tests/test_q.py: boom"
    assert location(replace(event, path=None)) == "boom"
