"""The mypy plugin: each type error as an ErrorEvent with its path, line, column (when shown) and error code.

mypy prints ``path:line[:col]: error: message  [code]`` (the column with ``--show-column-numbers``);
``--pretty`` moves the code to the next line. Notes are context for the error above them and are left out;
warnings keep their severity. Syntax errors (code ``syntax``) are categorised as such, the rest as type errors.
"""

from __future__ import annotations

import re
from typing import Final

from uet_contracts import ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.plugins.base import finding, output_of

TOOL: Final = "mypy"
_LINE: Final = re.compile(
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::(?P<col>\d+))?: (?P<severity>error|warning): "
    r"(?P<msg>.+?)(?:  \[(?P<code>[a-z0-9-]+)\])?$"
)
_PRETTY_CODE: Final = re.compile(r"^\[(?P<code>[a-z0-9-]+)\]$")


class MypyPlugin:
    """Type errors from mypy's output (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return "mypy" in request.run

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        found: list[tuple[re.Match[str], str | None]] = []
        for line in output_of(result).splitlines():
            match = _LINE.match(line)
            if match:
                found.append((match, match["code"]))
                continue
            pretty = _PRETTY_CODE.match(line.strip())
            if pretty and found and found[-1][1] is None:
                found[-1] = (found[-1][0], pretty["code"])
        return [
            finding(
                request,
                result,
                match["msg"].strip(),
                tool=TOOL,
                path=match["path"],
                line=int(match["line"]),
                column=int(match["col"]) if match["col"] else None,
                code=code,
                category="syntax" if code == "syntax" else "type",
                severity=match["severity"],
            )
            for match, code in found
        ]
