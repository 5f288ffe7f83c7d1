"""The pytest plugin: each failed or erroring test as an ErrorEvent with the test's file, line and assertion.

pytest reports a failure three times over: a section per test under ``FAILURES`` (or ``ERRORS``) whose
traceback names ``path:line`` for each frame and marks the exception with ``E`` lines, then a line per test
in the ``short test summary info`` (``FAILED tests/test_q.py::test_fifo - assert 0 == 4``). The summary
gives the test id; its section gives the line in the test's own file (the innermost frame there) and the
first ``E`` line, which is the assertion as pytest rewrote it. With ``--tb=line`` there are no sections,
only ``path:line: message`` lines; with ``--tb=no`` only the summary. Each layout is handled, one pass over
the output, so 64 KB parse in about a millisecond.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from uet_contracts import ErrorCategory, ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.plugins.base import finding, output_of, repo_path

TOOL: Final = "pytest"
# One pattern for every line the report is read from, so the output is scanned once in C and only the
# lines that matter reach Python: section rules, test headers, E lines, summary lines, frame locations.
_TOKENS: Final = re.compile(
    r"^(?:"
    r"={3,} (?P<section>[^=\n]*?) ={3,}|={3,}[^\n]*"
    r"|_{3,} (?P<header>[^\n]+?) _{3,}"
    r"|E {1,}(?P<e_line>\S[^\n]*)"
    r"|(?P<kind>FAILED|ERROR) (?P<id>\S+)(?: - (?P<message>[^\n]*))?"
    r"|(?P<path>[^\s:][^:\n]*?\.py):(?P<line>\d{1,9}):(?: (?P<rest>[^\n]*))?"
    r")$",
    re.MULTILINE,
)
_ANY_SECTION: Final = re.compile(r"^={3,} (FAILURES|ERRORS) ={3,}$", re.MULTILINE)
_SYNTAX: Final = ("SyntaxError", "IndentationError", "TabError")


@dataclass
class _Section:
    """One test's part of the FAILURES/ERRORS sections: its frames' locations and its ``E`` lines."""

    header: str
    locations: list[tuple[str, int, str]] = field(default_factory=list)
    e_lines: list[str] = field(default_factory=list)


@dataclass
class _Report:
    sections: dict[str, _Section] = field(default_factory=dict)
    line_mode: list[tuple[str, int, str]] = field(default_factory=list)  # --tb=line entries, in order
    summary: list[tuple[str, str, str | None]] = field(default_factory=list)  # (FAILED|ERROR, id, message)


def _scan(text: str) -> _Report:
    report = _Report()
    in_sections = False
    current: _Section | None = None
    for token in _TOKENS.finditer(text):
        group = token.lastgroup
        if token[0][0] == "=":
            in_sections = token["section"] in ("FAILURES", "ERRORS")
            current = None
        elif token["kind"] is not None:
            report.summary.append((token["kind"], token["id"], token["message"]))
        elif not in_sections:
            continue
        elif token["header"] is not None:
            current = report.sections.setdefault(token["header"], _Section(token["header"]))
        elif token["e_line"] is not None:
            if current is not None and len(current.e_lines) < 3:
                current.e_lines.append(token["e_line"])
        elif group is not None:  # a location: path:line: rest
            entry = (token["path"], int(token["line"]), token["rest"] or "")
            (current.locations if current is not None else report.line_mode).append(entry)
    return report


def _section_for(report: _Report, kind: str, test_id: str) -> _Section | None:
    """The section pytest wrote for one summary line: headed by the test's name (classes joined by ``.``)."""
    file, _, rest = test_id.partition("::")
    name = rest.replace("::", ".")
    if kind == "FAILED":
        names = [name]
    elif rest:
        names = [f"ERROR at setup of {name}", f"ERROR at teardown of {name}"]
    else:
        names = [f"ERROR collecting {file}"]
    for name in names:
        if name in report.sections:
            return report.sections[name]
    return None


class PytestPlugin:
    """Failed and erroring tests from pytest's output (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        if "pytest" in request.run or "py.test" in request.run:
            return True
        text = output_of(result)
        return "short test summary info" in text or _ANY_SECTION.search(text) is not None

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        report = _scan(output_of(result))
        events: list[ErrorEvent] = []
        # --tb=line prints one location per failed test, in the summary's order.
        failed = [entry for entry in report.summary if entry[0] == "FAILED"]
        paired = len(report.line_mode) == len(failed)
        for kind, test_id, summary_message in report.summary:
            file, _, test = test_id.partition("::")
            file_path = repo_path(file, request)
            section = _section_for(report, kind, test_id)
            line: int | None = None
            detail = summary_message
            if section is not None:
                in_file = [loc for loc in section.locations if repo_path(loc[0], request) == file_path]
                chosen = in_file[-1] if in_file else (section.locations[-1] if section.locations else None)
                line = chosen[1] if chosen else None
                detail = section.e_lines[0] if section.e_lines else detail
            elif paired and kind == "FAILED":
                entry = report.line_mode[failed.index((kind, test_id, summary_message))]
                detail = entry[2] or detail
                if repo_path(entry[0], request) == file_path:  # else it failed in a frame outside the test's file
                    line = entry[1]
            category: ErrorCategory = "test_failure"
            if kind == "ERROR":
                category = "syntax" if detail and detail.startswith(_SYNTAX) else "runtime"
                what = f"error collecting {file}" if not test else f"{test} errored"
            else:
                what = f"{test or file} failed"
            events.append(
                finding(
                    request,
                    result,
                    f"{what}: {detail}" if detail else what,
                    tool=TOOL,
                    path=file,
                    line=line,
                    category=category,
                    context={"test_id": test_id},
                )
            )
        if not report.summary:  # -rN: no summary, only the sections
            for section in report.sections.values():
                location = section.locations[-1] if section.locations else None
                detail = section.e_lines[0] if section.e_lines else None
                events.append(
                    finding(
                        request,
                        result,
                        f"{section.header} failed: {detail}" if detail else f"{section.header} failed",
                        tool=TOOL,
                        path=location[0] if location else None,
                        line=location[1] if location else None,
                        category="test_failure",
                    )
                )
        return events
