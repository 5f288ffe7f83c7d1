"""A step with an AI tool (``tool: aider``) turned into the exact command its tool profile defines.

Why apart from the worker: filling in a profile's placeholders is a pure function of the step, the
profile and the worktree, tested without running anything; the worker only asks for the request.

The placeholders (RepoConfig's ToolProfile): ``{prompt}`` the instructions (``prompt``, or the text of
``prompt_file`` in the workstream's tree), ``{prompt_file}`` a file holding them (written to a private
temporary folder outside the tree), ``{workdir}`` the worktree, and an item that is exactly ``{files}``
one argument per file of the step. A profile without ``{files}`` gets the files at the end of the
prompt. The executable itself is looked up on PATH when the request runs (``process.execute``): a
missing one fails the step, naming the tool and how to configure it.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from uet_contracts import ExecutionRequest, ExecutionResult, Step, ToolProfile
from uet_engine import clock
from uet_engine.planning import profiles


def request_for(
    base: ExecutionRequest, step: Step, tools: Mapping[str, ToolProfile], worktree: Path, scratch: Path
) -> tuple[ExecutionRequest, dict[str, str]] | str:
    """The request that runs ``step`` through its profile and the environment it adds; or why it cannot run."""
    profile = tools.get(step.tool)
    if profile is None:
        return f"no tool profile {step.tool!r}: {profiles.how_to_configure(step.tool)}"
    prompt = step.prompt
    if prompt is None and step.prompt_file is not None:
        source = worktree / step.prompt_file
        if not source.is_file():
            return f"prompt_file {step.prompt_file} does not exist in the workstream's tree"
        prompt = source.read_text(encoding="utf-8", errors="replace")
    files = list(step.files or [])
    if files and "{files}" not in profile.command:
        prompt = f"{prompt or ''}\n\nFiles: {', '.join(files)}"
    prompt = prompt or ""
    prompt_file = scratch / "prompt.txt"
    if any("{prompt_file}" in item for item in profile.command):
        prompt_file.write_text(prompt, encoding="utf-8")
    values = {"{prompt}": prompt, "{prompt_file}": str(prompt_file), "{workdir}": str(worktree)}
    argv: list[str] = []
    for item in profile.command:
        if item == "{files}":
            argv.extend(files)
            continue
        for placeholder, value in values.items():
            item = item.replace(placeholder, value)
        argv.append(item)
    request = ExecutionRequest(
        operation_kind=base.operation_kind,
        tool=step.tool,
        run=shlex.join(argv),
        argv=argv,
        file_scope=base.file_scope,
        tools_used=[step.tool],
        context=base.context,
        run_id=base.run_id,
        workstream_id=base.workstream_id,
        phase_id=base.phase_id,
        timeout_s=step.timeout_s or profile.timeout_s,
    )
    return request, dict(profile.env or {})


def not_found(tool: str, executable: str) -> str:
    """The error of a profile whose executable is not on PATH (never a silent pass)."""
    return f"tool {tool!r}: {executable!r} is not installed or not on PATH; {profiles.how_to_configure(tool)}"


def refused(error: str) -> ExecutionResult:
    """The result of a step that could not be started at all (its prompt file is missing, say)."""
    now = clock.utc_now()
    return ExecutionResult(
        success=False,
        exit_code=None,
        stdout="",
        stderr="",
        files_touched=[],
        started_at=now,
        finished_at=now,
        duration_s=0.0,
        error=error,
    )
