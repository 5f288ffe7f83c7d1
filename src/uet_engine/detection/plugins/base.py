"""What an error plugin is, and the helpers every plugin (built in or not) builds its events with.

An error plugin turns the output of a failed step or acceptance check into structured ErrorEvents, one
per finding (a failing test, a lint error, a type error, a traceback): ``matches(request, result)`` says
whether the output is its tool's, ``parse(request, result)`` returns the findings. Both get the task's
ExecutionRequest and ExecutionResult as recorded, with one addition: ``request.context["cwd"]`` is the
folder the command ran in (the workstream's worktree), which ``repo_path`` uses to turn the paths a tool
prints into repository paths. A plugin whose ``fallback`` attribute is true runs only when no other
matching plugin found anything (the generic ``path:line: message`` parser is one).

``finding`` fills in what the engine knows (run, workstream, phase, task, error type and code, the time);
the engine then adds the plugin's name, the attempt and the fingerprint, and validates the event.
"""

from __future__ import annotations

import functools
import os
import posixpath
import re
from typing import Any, Final, Protocol

from uet_contracts import ErrorCategory, ErrorEvent, ErrorType, ExecutionRequest, ExecutionResult
from uet_engine.detection.error_codes import ERROR_CODES
from uet_engine.detection.events import one_line

# A repository path as the ErrorEvent schema allows it (common.schema.json's RepoPath).
_REPO_PATH: Final = re.compile(r"^(?![/~])(?![A-Za-z]:)(?!\.\.(/|$))(?!.*/\.\.(/|$))[^\\\u0000]+$")


class ErrorPlugin(Protocol):
    """Turns a failed task's output into ErrorEvents (see the module docstring)."""

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool: ...

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]: ...


def output_of(result: ExecutionResult) -> str:
    """The task's stdout, then its stderr (as stored: redacted and capped)."""
    if not result.stderr:
        return result.stdout
    if not result.stdout:
        return result.stderr
    return result.stdout + ("" if result.stdout.endswith("\n") else "\n") + result.stderr


def repo_path(text: str, request: ExecutionRequest) -> str | None:
    """``text`` (a path a tool printed) as a POSIX path relative to the repository, or None when outside it.

    Absolute paths count when they lie under ``request.context["cwd"]``; relative ones are taken as
    relative to it (tools print them relative to where they ran). ``..`` segments are resolved first.
    """
    cwd = request.context.get("cwd")
    return _repo_path(text, str(cwd) if cwd else "")


@functools.lru_cache(maxsize=4096)
def _repo_path(text: str, cwd: str) -> str | None:
    """``repo_path`` on plain strings, cached: one output names the same few files again and again."""
    text = text.strip().strip("'\"")
    if not text:
        return None
    if os.path.isabs(text):
        if not cwd:
            return None
        base = os.path.normpath(cwd)
        full = os.path.normpath(text)
        if not full.startswith(base + os.sep):
            return None
        candidate = full[len(base) + 1 :].replace(os.sep, "/")
    else:
        candidate = posixpath.normpath(text.replace("\\", "/"))
    if candidate in ("", ".") or len(candidate) > 1024 or not _REPO_PATH.match(candidate):
        return None
    return candidate


def task_of(request: ExecutionRequest) -> str:
    """The task's id, ``step/0``, ``acceptance/1`` or ``fix/0``."""
    return str(request.context.get("task_id", ""))


def failure_type(request: ExecutionRequest, result: ExecutionResult) -> ErrorType:
    """The error type of a failed task: timeout, or step_failed / acceptance_failed by its kind."""
    if result.timed_out:
        return "timeout"
    return "acceptance_failed" if task_of(request).startswith("acceptance/") else "step_failed"


def finding(
    request: ExecutionRequest,
    result: ExecutionResult,
    message: str,
    *,
    tool: str,
    path: str | None = None,
    line: int | None = None,
    column: int | None = None,
    code: str | None = None,
    category: ErrorCategory | None = None,
    severity: str = "error",
    context: dict[str, Any] | None = None,
) -> ErrorEvent:
    """One finding of a plugin as an ErrorEvent of the failed task.

    ``path`` is taken as the tool printed it; the engine makes it a repository path (``repo_path``) or,
    when it lies outside the repository, drops it and keeps the printed text in ``context["location"]``.
    """
    error_type = failure_type(request, result)
    return ErrorEvent(
        timestamp=result.finished_at,
        run_id=request.run_id or "",
        workstream_id=request.workstream_id,
        phase_id=request.phase_id,
        error_type=error_type,
        error_code=ERROR_CODES[error_type],
        message=one_line(message),
        severity="warning" if severity == "warning" else "error",
        tool=tool,
        path=path.strip() or None if path is not None else None,
        line=line if line and line > 0 else None,
        column=column if column and column > 0 else None,
        code=code or None,
        category=category,
        context=context or None,
    )
