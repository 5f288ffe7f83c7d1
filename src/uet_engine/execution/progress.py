"""What a person watching ``uet run`` sees: live progress per workstream, then a summary table.

On a terminal the progress is a rich display (an overall bar, and a spinner per running workstream
with its current step, ``step 2/3: python -m pytest -q``, and how long the workstream has run; final
states are printed above it as they happen). Anywhere else (a pipe, a CI log) it degrades to one plain
line per state change, which greps and diffs well. The summary at the end lists every workstream of the
run with its final state, how long it took and why. A workstream that fails shows, below its line and
again after the summary, what its failure says: the issues the error plugins found
(``path:line: message``) and the last lines of the failing command's output (see
``uet_engine.detection.failure_report``). ``verbosity`` -1 (``-q``) prints the summary only, 1 (``-v``)
adds a line for each step as it starts and ends.

Styles follow the usual conventions: ``NO_COLOR`` (any value) removes every style, bold included;
``FORCE_COLOR`` keeps them where output is not a terminal (the plain lines' states are then coloured).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.color import ColorSystem
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.style import Style
from rich.table import Table
from rich.text import Text

from uet_contracts import PhaseSpec, RunRecord, StepAttempt
from uet_engine import clock
from uet_engine.detection.failure_report import FailureReport
from uet_engine.states import FINAL_STATUSES

# Statuses without a style (queued) print plain.
_STYLE: dict[str, str] = {
    "succeeded": "green",
    "failed": "red",
    "skipped": "yellow",
    "crashed": "red",
    "cancelled": "magenta",
    "running": "cyan",
}


# How much of a step's command a progress line shows (its first line, cut to this many characters).
COMMAND_CHARS = 60


def console_for(stream: TextIO) -> Console:
    """A rich console on ``stream`` that honours ``NO_COLOR`` (no style at all) and ``FORCE_COLOR``."""
    if os.environ.get("NO_COLOR"):
        return Console(file=stream, color_system=None, no_color=True, highlight=False)
    return Console(file=stream, force_terminal=True if os.environ.get("FORCE_COLOR") else None)


# What a progress line calls each kind of task (StepAttempt.kind).
TASK_NAMES = {"pre_flight": "pre-flight check", "step": "step", "acceptance": "check", "fix": "fix step"}


def tasks_in(spec: PhaseSpec, kind: str) -> int:
    """How many tasks of ``kind`` (a StepAttempt kind) a workstream has: the N of "step 2/N"."""
    if kind == "step":
        return len(spec.steps or [])
    if kind == "pre_flight":
        return len(spec.pre_flight or [])
    if kind == "fix":
        return len(spec.on_failure.steps) if spec.on_failure else 0
    return sum(len(getattr(spec.acceptance, runner, None) or []) for runner in ("sh", "python", "powershell"))


def step_label(attempt: StepAttempt, total: int) -> str:
    """``step 2/3: python -m pytest -q`` (or ``check 1/2: …``), ``(try 2)`` after a retry."""
    name = TASK_NAMES.get(attempt.kind, attempt.kind)
    command = (attempt.request.run.strip().splitlines() or [""])[0]
    if len(command) > COMMAND_CHARS:
        command = command[: COMMAND_CHARS - 1] + "…"
    again = f" (try {attempt.attempt})" if attempt.attempt > 1 else ""
    return f"{name} {attempt.index + 1}/{max(total, attempt.index + 1)}{again}: {command}"


def attempt_line(attempt: StepAttempt, total: int) -> str:
    """A ``-v`` line: the step label, and once it ended ``-> passed, exit 0, 1.2s``."""
    label = step_label(attempt, total)
    result = attempt.result
    if result is None:
        return label
    outcome = "passed" if result.success else "failed"
    return f"{label} -> {outcome}, exit {result.exit_code}, {duration(result.duration_s or 0.0)}"


def duration(seconds: float) -> str:
    """``0.4s``, ``12.3s``, ``2m05s``, ``1h02m``: short enough for a table column."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def took(record: RunRecord) -> str:
    """How long a workstream ran (started to finished), or "" when it did not run."""
    if record.started_at is None or record.finished_at is None or record.reused_from:
        return ""
    return duration((record.finished_at - record.started_at).total_seconds())


class Reporter:
    """Receives state changes; the plain variant prints one line for each."""

    def __init__(self, stream: TextIO, verbosity: int = 0) -> None:
        self.stream = stream
        self.verbosity = verbosity
        forced = bool(os.environ.get("FORCE_COLOR")) and not os.environ.get("NO_COLOR")
        self._colors = ColorSystem.STANDARD if forced else None

    def _paint(self, status: str) -> str:
        """The status word, coloured when FORCE_COLOR asks for styles outside a terminal."""
        return Style.parse(_STYLE.get(status, "none")).render(status, color_system=self._colors)

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def begin(self, run_id: str, total: int, repo: Path) -> None:
        if self.verbosity >= 0:
            self.stream.write(f"{run_id}: {total} workstream(s) in {repo}\n")
            self.stream.flush()

    def changed(self, record: RunRecord) -> None:
        if self.verbosity < 0:
            return
        line = f"{clock.utc_now():%H:%M:%S} {record.phase_id} {record.workstream_id} {self._paint(record.status)}"
        if record.status in FINAL_STATUSES and took(record):
            line += f" in {took(record)}"
        if record.reason and record.status != "running":
            line += f": {record.reason}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def attempt(self, attempt: StepAttempt, total: int) -> None:
        """A step or check started (no result yet) or ended; ``total`` is how many of its kind there are."""
        if self.verbosity < 1:
            return
        where = (
            f"{attempt.request.phase_id} {attempt.workstream_id}" if attempt.request.phase_id else attempt.workstream_id
        )
        self.stream.write(f"{clock.utc_now():%H:%M:%S} {where} {attempt_line(attempt, total)}\n")
        self.stream.flush()

    def failure(self, record: RunRecord, report: FailureReport) -> None:
        """What a workstream's failure says, below its state line."""
        if self.verbosity < 0:
            return
        self.stream.write("".join(line + "\n" for line in report.lines()))
        self.stream.flush()

    def close(self) -> None:
        pass

    def summary(self, records: Sequence[RunRecord], failures: Mapping[str, FailureReport] | None = None) -> None:
        """A fixed-width table: phase, workstream, status, how long it ran, and the reason or the patch; then
        each failure's report."""
        rows = [(r.phase_id, r.workstream_id, r.status, took(r), _detail(r)) for r in records]
        head = ("PHASE", "WORKSTREAM", "STATUS", "TIME", "DETAIL")
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(4)]
        for row in [head, *rows]:
            cells = [cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)]
            if row is not head:
                cells[2] = self._paint(row[2]) + " " * (widths[2] - len(row[2]))
            self.stream.write(("  ".join(cells) + f"  {row[4]}").rstrip() + "\n")
        self.stream.write("".join(line + "\n" for line in _failure_lines(records, failures or {})))
        self.stream.write(_counts(records) + "\n")
        self.stream.flush()


class RichReporter(Reporter):
    """The terminal variant: a live bar and spinners, final states printed above them."""

    def __init__(self, stream: TextIO, verbosity: int = 0) -> None:
        super().__init__(stream, verbosity)
        self.console = console_for(stream)
        self.progress = Progress(
            SpinnerColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            _OverallOnly(BarColumn()),
            _OverallOnly(MofNCompleteColumn()),
            console=self.console,
            transient=True,
            disable=verbosity < 0,
        )
        self.overall: TaskID | None = None
        self.running: dict[str, TaskID] = {}
        self.names: dict[str, str] = {}  # workstream -> "PHASE WORKSTREAM", the start of its live line

    def begin(self, run_id: str, total: int, repo: Path) -> None:
        if self.verbosity >= 0:
            self.console.print(f"[bold]{run_id}[/]: {total} workstream(s) in {repo}", highlight=False)
        self.overall = self.progress.add_task("workstreams", total=total)
        self.progress.start()

    def attempt(self, attempt: StepAttempt, total: int) -> None:
        task = self.running.get(attempt.workstream_id)
        if task is not None and attempt.result is None:
            name = self.names[attempt.workstream_id]
            self.progress.update(task, description=f"{name}  {step_label(attempt, total)}")
        if self.verbosity >= 1:
            name = self.names.get(attempt.workstream_id, attempt.workstream_id)
            self.progress.console.print(f"{name} {attempt_line(attempt, total)}", markup=False, highlight=False)

    def changed(self, record: RunRecord) -> None:
        ws = record.workstream_id
        if record.status == "running":
            self.names[ws] = f"{record.phase_id} {ws}"
            self.running[ws] = self.progress.add_task(self.names[ws], total=None)
            return
        task = self.running.pop(ws, None)
        if task is not None:
            self.progress.remove_task(task)
        if record.status in FINAL_STATUSES and self.overall is not None:
            self.progress.advance(self.overall)
            if self.verbosity < 0:
                return
            line = Text(f"{record.phase_id} {ws} ")
            line.append(record.status, style=_STYLE.get(record.status, ""))
            line.append(
                (f" in {took(record)}" if took(record) else "") + (f": {record.reason}" if record.reason else "")
            )
            self.progress.console.print(line, highlight=False)

    def failure(self, record: RunRecord, report: FailureReport) -> None:
        if self.verbosity < 0:
            return
        for line in report.lines():
            self.progress.console.print(line, style="dim", markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()

    def summary(self, records: Sequence[RunRecord], failures: Mapping[str, FailureReport] | None = None) -> None:
        table = Table(title="summary")
        for column in ("phase", "workstream", "status", "time", "detail"):
            table.add_column(column, overflow="fold", justify="right" if column == "time" else "left")
        for r in records:
            table.add_row(
                r.phase_id, r.workstream_id, Text(r.status, style=_STYLE.get(r.status, "")), took(r), _detail(r)
            )
        self.console.print(table)
        for line in _failure_lines(records, failures or {}):
            self.console.print(line, markup=False, highlight=False)
        self.console.print(_counts(records), highlight=False)


class _OverallOnly(ProgressColumn):
    """A column shown for the overall task only: a workstream's own line has no bar to fill."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__()
        self.column = column

    def render(self, task: Task) -> RenderableType:
        return self.column(task) if task.total is not None else Text("")


def _detail(record: RunRecord) -> str:
    if record.status == "succeeded":
        return f"reused from {record.reused_from}" if record.reused_from else (record.patch_id or "")
    return record.reason or ""


def _failure_lines(records: Sequence[RunRecord], failures: Mapping[str, FailureReport]) -> list[str]:
    """For each failed workstream with something to say: ``WS failed: reason`` and its report's lines."""
    out: list[str] = []
    for record in records:
        report = failures.get(record.workstream_id)
        lines = report.lines() if report is not None else []
        if lines:
            out += [f"{record.workstream_id} {record.status}: {record.reason or ''}".rstrip(), *lines]
    return out


def _counts(records: Sequence[RunRecord]) -> str:
    counts = {status: sum(r.status == status for r in records) for status in FINAL_STATUSES}
    return ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing ran"


def reporter(stream: TextIO | None = None, verbosity: int = 0) -> Reporter:
    """The rich reporter on a terminal, the plain one elsewhere; ``verbosity`` -1 quiet, 0, 1 verbose."""
    out = stream or sys.stdout
    return RichReporter(out, verbosity) if out.isatty() else Reporter(out, verbosity)
