"""What a person reads about a failed workstream: its structured issues and the end of the failing output.

Why: ``acceptance/0 (sh) failed: exit code 1, expected 0`` says that something failed, not what. The
error plugins' findings (``tests/test_q.py:4: test_fifo failed: assert 0 == 4``) and the last lines the
failing command printed say what, and by the time anyone asks the worktree is gone. So the live
reporter, the run's summary and ``uet runs show`` all print this report, built from the records alone:
the last failed try of the workstream, the findings recorded for that try (at most ``MAX_ISSUES``), and
the last ``TAIL_LINES`` lines of its stored output (stdout, then stderr; redacted when stored, each line
cut at ``LINE_LIMIT`` characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from uet_contracts import ErrorEvent, StepAttempt

MAX_ISSUES: Final = 10
TAIL_LINES: Final = 20
LINE_LIMIT: Final = 300


@dataclass(frozen=True)
class FailureReport:
    """The issues and output tail of one failed workstream (see the module docstring)."""

    task: str | None = None  # "acceptance/0 attempt 2 (sh)": the try the output is from
    issues: list[str] = field(default_factory=list)  # "path:line: message", at most MAX_ISSUES
    more_issues: int = 0  # findings left out of ``issues``
    tail: list[str] = field(default_factory=list)  # the last lines of the try's output

    def lines(self) -> list[str]:
        """The report as indented lines for a terminal (empty when there is nothing to add to the reason)."""
        out: list[str] = []
        if self.issues:
            out.append("  issues:")
            out += [f"    {issue}" for issue in self.issues]
            if self.more_issues:
                out.append(f"    … and {self.more_issues} more (uet errors list --run RUN_ID)")
        if self.tail:
            out.append(f"  last {len(self.tail)} line(s) of the output of {self.task}:")
            out += [f"    | {line}" for line in self.tail]
        return out


def location(event: ErrorEvent) -> str:
    """``path:line: message``, ``path: message`` or the message, as much as the event knows."""
    if event.path is None:
        return event.message
    where = f"{event.path}:{event.line}" if event.line else event.path
    return f"{where}: {event.message}"


def _task_of(event: ErrorEvent) -> str | None:
    return event.task_id or (str(event.context["task"]) if event.context and "task" in event.context else None)


def _attempt_of(event: ErrorEvent) -> object:
    return (event.context or {}).get("attempt")


def failure_report(attempts: Sequence[StepAttempt], errors: Sequence[ErrorEvent]) -> FailureReport:
    """The report of one workstream from its attempts and error events in one run (in recorded order)."""
    failed = next(
        (a for a in reversed(attempts) if a.result is not None and not a.result.success),
        None,
    )
    if failed is None or failed.result is None:
        return FailureReport()
    task = f"{failed.kind}/{failed.index}"
    findings = [e for e in errors if e.plugin is not None and _task_of(e) == task and _attempt_of(e) == failed.attempt]
    output = failed.result.stdout
    if failed.result.stderr:
        output += ("" if not output or output.endswith("\n") else "\n") + failed.result.stderr
    tail = [_cut(line) for line in output.splitlines()[-TAIL_LINES:]]
    return FailureReport(
        task=f"{task} attempt {failed.attempt} ({failed.request.tool})",
        issues=[_cut(location(e)) for e in findings[:MAX_ISSUES]],
        more_issues=max(0, len(findings) - MAX_ISSUES),
        tail=tail,
    )


def _cut(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 1] + "…"
