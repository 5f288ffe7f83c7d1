"""The generic plugin: any ``path:line[:col]: message`` line of a failed task's output as an ErrorEvent.

Compilers, linters and test runners of every language print their findings this way (gcc, eslint's unix
format, shellcheck's gcc format, tsc with ``--pretty false``…). It is a fallback: it runs only when no
other plugin found anything in the output, so it never repeats what a tool-specific plugin reported. A
line counts only when its path looks like a file (a name with an extension) inside the repository.
"""

from __future__ import annotations

import re
from typing import Final

from uet_contracts import ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.plugins.base import finding, output_of, repo_path

_LINE: Final = re.compile(
    r"^(?P<path>[^\s:][^:\s]*\.[A-Za-z0-9]{1,8}):(?P<line>\d{1,9})(?::(?P<col>\d{1,9}))?:\s*(?P<msg>\S.*)$"
)


class LocationsPlugin:
    """``path:line[:col]: message`` lines (see the module docstring)."""

    fallback = True

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return True

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        events: list[ErrorEvent] = []
        for line in output_of(result).splitlines():
            match = _LINE.match(line)
            if match is None or repo_path(match["path"], request) is None:
                continue
            events.append(
                finding(
                    request,
                    result,
                    match["msg"],
                    tool=request.tool,
                    path=match["path"],
                    line=int(match["line"]),
                    column=int(match["col"]) if match["col"] else None,
                )
            )
        return events
