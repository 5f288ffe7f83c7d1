"""What a person watching ``uet run`` sees: live progress per workstream, then a summary table.

On a terminal the progress is a rich display (an overall bar plus one spinner per running
workstream, final states printed above it as they happen). Anywhere else (a pipe, a CI log) it
degrades to one plain line per state change, which greps and diffs well. The summary at the end lists
every workstream of the run with its final state and why. A workstream that fails shows, below its
line and again after the summary, what its failure says: the issues the error plugins found
(``path:line: message``) and the last lines of the failing command's output (see
``uet_engine.detection.failure_report``).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from uet_contracts import RunRecord, RunStatus
from uet_engine import clock
from uet_engine.detection.failure_report import FailureReport
from uet_engine.states import FINAL_STATUSES

# Statuses without a style (queued) print plain.
_STYLE: dict[RunStatus, str] = {
    "succeeded": "green",
    "failed": "red",
    "skipped": "yellow",
    "crashed": "red",
    "cancelled": "magenta",
    "running": "cyan",
}


class Reporter:
    """Receives state changes; the plain variant prints one line for each."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __enter__(self) -> Reporter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def begin(self, run_id: str, total: int, repo: Path) -> None:
        self.stream.write(f"{run_id}: {total} workstream(s) in {repo}\n")
        self.stream.flush()

    def changed(self, record: RunRecord) -> None:
        line = f"{clock.utc_now():%H:%M:%S} {record.phase_id} {record.workstream_id} {record.status}"
        if record.reason and record.status != "running":
            line += f": {record.reason}"
        self.stream.write(line + "\n")
        self.stream.flush()

    def failure(self, record: RunRecord, report: FailureReport) -> None:
        """What a workstream's failure says, below its state line."""
        self.stream.write("".join(line + "\n" for line in report.lines()))
        self.stream.flush()

    def close(self) -> None:
        pass

    def summary(self, records: Sequence[RunRecord], failures: Mapping[str, FailureReport] | None = None) -> None:
        """A fixed-width table: phase, workstream, status, and the reason or the patch; then each failure's report."""
        rows = [(r.phase_id, r.workstream_id, r.status, _detail(r)) for r in records]
        head = ("PHASE", "WORKSTREAM", "STATUS", "DETAIL")
        widths = [max(len(row[i]) for row in [head, *rows]) for i in range(3)]
        for row in [head, *rows]:
            self.stream.write("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)))
            self.stream.write(f"  {row[3]}".rstrip() + "\n")
        self.stream.write("".join(line + "\n" for line in _failure_lines(records, failures or {})))
        self.stream.write(_counts(records) + "\n")
        self.stream.flush()


class RichReporter(Reporter):
    """The terminal variant: a live bar and spinners, final states printed above them."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self.console = Console(file=stream)
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.overall: TaskID | None = None
        self.running: dict[str, TaskID] = {}

    def begin(self, run_id: str, total: int, repo: Path) -> None:
        self.console.print(f"[bold]{run_id}[/]: {total} workstream(s) in {repo}")
        self.overall = self.progress.add_task("workstreams", total=total)
        self.progress.start()

    def changed(self, record: RunRecord) -> None:
        ws = record.workstream_id
        if record.status == "running":
            self.running[ws] = self.progress.add_task(f"{record.phase_id} {ws}", total=None)
            return
        task = self.running.pop(ws, None)
        if task is not None:
            self.progress.remove_task(task)
        if record.status in FINAL_STATUSES and self.overall is not None:
            self.progress.advance(self.overall)
            style = _STYLE.get(record.status, "")
            reason = f": {record.reason}" if record.reason else ""
            self.progress.console.print(
                f"{record.phase_id} {ws} [{style}]{record.status}[/]{reason}", markup=True, highlight=False
            )

    def failure(self, record: RunRecord, report: FailureReport) -> None:
        for line in report.lines():
            self.progress.console.print(line, style="dim", markup=False, highlight=False)

    def close(self) -> None:
        self.progress.stop()

    def summary(self, records: Sequence[RunRecord], failures: Mapping[str, FailureReport] | None = None) -> None:
        table = Table(title="summary")
        for column in ("phase", "workstream", "status", "detail"):
            table.add_column(column, overflow="fold")
        for r in records:
            table.add_row(r.phase_id, r.workstream_id, f"[{_STYLE.get(r.status, '')}]{r.status}[/]", _detail(r))
        self.console.print(table)
        for line in _failure_lines(records, failures or {}):
            self.console.print(line, markup=False, highlight=False)
        self.console.print(_counts(records))


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


def reporter(stream: TextIO | None = None) -> Reporter:
    """The rich reporter on a terminal, the plain one elsewhere."""
    out = stream or sys.stdout
    return RichReporter(out) if out.isatty() else Reporter(out)
