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
    r"^(?P<path>[^\s:][^:]*):(?P<line>\d{1,9})(?::(?P<col>\d{1,9}))?: (?P<severity>error|warning): (?P<msg>.+)$"
)
_CODE: Final = re.compile(r"^[a-z0-9-]{1,64}$")


def _split_code(text: str) -> tuple[str, str | None]:
    """``message  [code]`` (or ``[code]`` alone) as (message, code); (text, None) without a code."""
    stripped = text.rstrip()
    if stripped.endswith("]"):
        head, bracket, code = stripped[:-1].rpartition("[")
        if bracket and _CODE.match(code) and (not head or head.endswith(" ")):
            return head.strip(), code
    return stripped, None


class MypyPlugin:
    """Type errors from mypy's output (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return "mypy" in request.run

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        found: list[tuple[re.Match[str], str, str | None]] = []  # (location line, message, code)
        open_message = False  # with --pretty the message goes on over the next lines until its [code]
        for line in output_of(result).splitlines():
            match = _LINE.match(line)
            if match:
                message, code = _split_code(match["msg"])
                found.append((match, message, code))
                open_message = code is None
            elif open_message and found and line[:1] not in (" ", ""):
                first, message, _ = found[-1]
                more, code = _split_code(line)
                found[-1] = (first, f"{message} {more}".strip(), code)
                open_message = code is None
            else:
                open_message = False
        return [
            finding(
                request,
                result,
                message,
                tool=TOOL,
                path=match["path"],
                line=int(match["line"]),
                column=int(match["col"]) if match["col"] else None,
                code=code,
                category="syntax" if code == "syntax" else "type",
                severity=match["severity"],
            )
            for match, message, code in found
        ]
