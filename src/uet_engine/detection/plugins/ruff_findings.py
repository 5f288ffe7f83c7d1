"""The ruff plugin: each lint finding as an ErrorEvent with its path, line, column and rule code.

ruff prints findings in two layouts: ``concise`` (``path:line:col: CODE [*] message``, one line each) and
the default ``full`` one, where a line ``CODE [*] message`` is followed by `` --> path:line:col`` and a
snippet. Both are read. Categories: ``invalid-syntax`` is a syntax error, ``S`` rules (flake8-bandit) are
security findings, everything else is style.
"""

from __future__ import annotations

import re
from typing import Final

from uet_contracts import ErrorCategory, ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.plugins.base import finding, output_of

TOOL: Final = "ruff"
_CODE: Final = r"(?P<code>[A-Z]{1,4}[0-9]{1,4}|invalid-syntax)"
_CONCISE: Final = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d{1,9}):(?P<col>\d{1,9}): " + _CODE + r":? (?:\[\*\] )?(?P<msg>.+)$"
)
_FULL_HEAD: Final = re.compile(rf"^{_CODE}:? (?:\[\*\] )?(?P<msg>.+)$")
_FULL_ARROW: Final = re.compile(r"^ *--> (?P<path>[^\s:][^:]*):(?P<line>\d{1,9}):(?P<col>\d{1,9})$")


def category_of(code: str) -> ErrorCategory:
    """``syntax`` for ruff's syntax errors, ``security`` for the bandit rules, ``style`` for the rest."""
    if code == "invalid-syntax" or code == "E999":
        return "syntax"
    return "security" if re.match(r"^S\d", code) else "style"


class RuffPlugin:
    """Lint findings from ruff's output (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return "ruff" in request.run

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        events: list[ErrorEvent] = []
        head: re.Match[str] | None = None
        for line in output_of(result).splitlines():
            concise = _CONCISE.match(line)
            if concise:
                events.append(self._event(request, result, concise, concise))
                head = None
                continue
            arrow = _FULL_ARROW.match(line) if head is not None else None
            if head is not None and arrow:
                events.append(self._event(request, result, head, arrow))
                head = None
                continue
            head = _FULL_HEAD.match(line)  # the arrow line comes right after its head
        return events

    @staticmethod
    def _event(
        request: ExecutionRequest, result: ExecutionResult, what: re.Match[str], where: re.Match[str]
    ) -> ErrorEvent:
        code = what["code"]
        return finding(
            request,
            result,
            f"{code} {what['msg']}",
            tool=TOOL,
            path=where["path"],
            line=int(where["line"]),
            column=int(where["col"]),
            code=code,
            category=category_of(code),
        )
