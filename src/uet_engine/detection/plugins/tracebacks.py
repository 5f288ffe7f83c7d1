"""The Python traceback plugin: an uncaught exception as an ErrorEvent at its innermost frame in the repository.

A traceback lists frames outermost first (``File "path", line N, in name``) and ends with the exception
line (``ValueError: bad value``). The frame that matters to the person fixing it is the innermost one in
their own code, so frames outside the repository (the standard library, site-packages, ``<string>`` for
``python -c``) are passed over. With chained exceptions (``During handling…``, ``The above exception…``)
the last traceback is the one that ended the program, and the one reported.
"""

from __future__ import annotations

import re
from typing import Final

from uet_contracts import ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.plugins.base import finding, output_of, repo_path

TOOL: Final = "python"
_START: Final = "Traceback (most recent call last):"
_FRAME: Final = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d{1,9})(?:, in (?P<name>.+))?$')
_EXCEPTION: Final = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?:: (?P<msg>.*))?$")
_SYNTAX: Final = ("SyntaxError", "IndentationError", "TabError")
# Installed packages inside the repository (a .venv) are not the repository's own code.
_INSTALLED: Final = re.compile(r"(^|/)(site|dist)-packages/")


class TracebackPlugin:
    """The exception that ended a Python program (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return _START in result.stderr or _START in result.stdout

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        lines = output_of(result).splitlines()
        start = max(i for i, line in enumerate(lines) if line.startswith(_START))
        frames: list[tuple[str, int]] = []
        exception: re.Match[str] | None = None
        for line in lines[start + 1 :]:
            frame = _FRAME.match(line)
            if frame:
                path = repo_path(frame["path"], request)
                if path is not None and not frame["path"].startswith("<") and not _INSTALLED.search(path):
                    frames.append((path, int(frame["line"])))
                continue
            if line.startswith((" ", "\t")) or not line:
                continue  # source lines and ^^^ markers of a frame
            exception = _EXCEPTION.match(line)
            break
        if exception is None:
            return []
        kind = exception["type"]
        path, line_number = frames[-1] if frames else (None, None)
        message = f"{kind}: {exception['msg']}" if exception["msg"] else kind
        return [
            finding(
                request,
                result,
                message,
                tool=TOOL,
                path=path,
                line=line_number,
                code=kind.rsplit(".", 1)[-1],
                category="syntax" if kind.endswith(_SYNTAX) else "runtime",
            )
        ]
