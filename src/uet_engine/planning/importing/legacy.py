"""Legacy workstream JSON → PhaseSpec data (the field fates are in ``mapping.LEGACY_RULES``).

A legacy file is one workstream: an ``id`` (``ws-…``, usually no phase id), prose ``tasks`` for an AI
``tool``, the paths it may touch, and ``acceptance_tests`` that mix shell commands with prose. So:

- the phase id is derived from the workstream id (``ids.phase_id_for_workstream``);
- with a ``tool``, the tasks become the prompt of one AI-tool step (the files: its whole scope);
- an acceptance item is a command when its first word is a known program or a path to a script and it
  reads like a command line (at most three words, or an argument that looks like one: ``-x``, a path,
  ``a=b``, an operator); anything else is prose, kept in extensions and listed to turn into a check.
"""

from __future__ import annotations

import re
from typing import Any

from uet_engine.planning import profiles
from uet_engine.planning.importing import ids
from uet_engine.planning.importing.common import (
    PHASE_TYPES,
    STATUSES,
    Known,
    choice,
    dependencies,
    hours,
    id_list,
    parallel,
    path_list,
    resolve,
    text,
)
from uet_engine.planning.importing.report import FileReport, Note
from uet_engine.planning.importing.source import Source, one_line

STATUS_ALIASES = {
    "pending": "planned",
    "todo": "planned",
    "to_do": "planned",
    "open": "planned",
    "completed": "complete",
    "finished": "complete",
    "cancelled": "abandoned",
    "canceled": "abandoned",
    "wip": "in_progress",
}

AI_STEP_KIND = "EXEC-AI-EDIT"

_PROGRAMS = frozenset(
    [
        "pytest",
        "python",
        "python3",
        "py",
        "pip",
        "uv",
        "poetry",
        "tox",
        "nox",
        "ruff",
        "mypy",
        "black",
        "flake8",
        "pylint",
        "isort",
        "npm",
        "npx",
        "node",
        "yarn",
        "pnpm",
        "make",
        "cmake",
        "cargo",
        "go",
        "dotnet",
        "mvn",
        "gradle",
        "git",
        "test",
        "ls",
        "cat",
        "grep",
        "rg",
        "find",
        "diff",
        "bash",
        "sh",
        "zsh",
        "pwsh",
        "powershell",
        "echo",
        "curl",
        "docker",
        "kubectl",
        "terraform",
        "jq",
        "sqlite3",
        "uet",
        "pre-commit",
    ]
)
_ARGUMENT = re.compile(r"^-|[/=.\\]|^['\"]|^(&&|\|\||\||>|>>|<|;)$")


def looks_like_command(item: str) -> bool:
    """Whether an acceptance item is a command line rather than a sentence (see the module docstring)."""
    words = item.split()
    if not words:
        return False
    first = words[0]
    if not (
        first in _PROGRAMS
        or first.startswith(("./", "scripts/", "bin/"))
        or re.match(r"^\w[\w.-]*\.(py|sh|ps1)$", first)
    ):
        return False
    return len(words) <= 3 or any(_ARGUMENT.search(word) for word in words[1:])


def identity(data: dict[str, Any], report: FileReport) -> tuple[str, str] | None:
    """(phase id, workstream id) of a legacy file, or None after recording why it has none."""
    raw = data.get("id")
    if not isinstance(raw, str) or not raw.strip():
        report.fail("no workstream id: a legacy workstream needs a string `id` such as ws-task-queue", "$.id")
        return None
    ws = ids.workstream_id(raw)
    if ws is None:
        report.fail(f"id {raw!r} has no letters or digits to make a workstream id of", "$.id")
        return None
    if ws != raw:
        report.derived.append(Note("workstream_id", f"{ws} (from id {raw!r})"))
    phase = ids.phase_id_for_workstream(ws)
    report.derived.append(Note("phase_id", f"{phase} (from the workstream id: PH- and the id without ws-)"))
    return phase, ws


def convert(src: Source, known: Known, phase: str, ws: str) -> tuple[dict[str, Any], list[str]]:
    """The spec data of one legacy workstream, and the phases it blocks (they depend on it)."""
    report = src.report
    src.take("id")
    spec: dict[str, Any] = {"phase_id": phase, "workstream_id": ws}
    spec["title"] = text(src, "title") or _defaulted(report, "title", ws[3:].replace("-", " ").capitalize())
    objective = text(src, "objective")
    if objective is None:
        objective = text(src, "metadata.description")
        if objective is not None:
            report.derived.append(Note("objective", "from metadata.description"))
    spec["objective"] = objective or _defaulted(report, "objective", spec["title"], "the title (there is no objective)")
    phase_type = choice(src, "phase_type", PHASE_TYPES)
    spec["phase_type"] = phase_type or _defaulted(report, "phase_type", "implementation")
    status = choice(src, "status", STATUSES, STATUS_ALIASES)
    if status is not None:
        spec["status"] = status
    dependencies(src, "depends_on", known, spec, phase)
    dependencies(src, "dependencies.depends_on", known, spec, phase)
    blocks = _blocks(src, known, phase)
    estimate = hours(src, "metadata.estimated_hours")
    if estimate is not None:
        spec["estimate_hours"] = estimate
    parallel(src, "metadata.parallel_with", known, spec, phase)
    create = path_list(src, "files_create")
    modify = [path for path in path_list(src, "files_scope") if path not in create]
    if modify:
        report.derived.append(
            Note("file_scope.modify", "the files_scope paths not in files_create (they must exist before it runs)")
        )
    spec["file_scope"] = {"create": create, "modify": modify, "read_only": []}
    forbidden = path_list(src, "scope.files_out_of_scope")
    if forbidden:
        spec["file_scope"]["forbidden_paths"] = forbidden
    if not create and not modify:
        report.to_do.append("file_scope is empty: list the paths the workstream creates and modifies")
    _steps(src, spec, create + modify)
    _acceptance(src, spec)
    return spec, blocks


def _defaulted(report: FileReport, name: str, value: str, why: str | None = None) -> str:
    report.defaulted.append(Note(name, f"{value!r}" + (f": {why}" if why else "")))
    return value


def _blocks(src: Source, known: Known, phase: str) -> list[str]:
    blocked = []
    for index, ref in enumerate(id_list(src, "dependencies.blocks")):
        other = resolve(ref, known)
        if other is not None and other in known.phases and other != phase:
            blocked.append(other)
        else:
            src.report.dropped.append(Note(f"dependencies.blocks[{index}]", f"{ref!r} is not a workstream of the set"))
    return blocked


def _steps(src: Source, spec: dict[str, Any], files: list[str]) -> None:
    report = src.report
    raw_tool = text(src, "tool")
    if raw_tool is None:
        report.to_do.append(
            "no steps: the workstream names no `tool`; add steps (commands, or `tool: aider` and a prompt)"
        )
        return
    tool = profiles.builtin_id(raw_tool)
    if tool is None:
        tool = ids.tool_id(raw_tool)
        if tool is None:
            src.keep("tool", raw_tool, "not a tool id")
            report.to_do.append(f"no steps: tool {raw_tool!r} is not a tool id; add steps by hand")
            return
        report.to_do.append(f"tool {tool!r} has no built-in profile: define tool_profiles.{tool} in uet.config.yaml")
    elif tool != raw_tool:
        report.derived.append(Note("steps[0].tool", f"{tool} (from tool {raw_tool!r})"))
    tasks = src.take("tasks")
    task_lines = [tasks] if isinstance(tasks, str) else [one_line(t, 10_000) for t in tasks or [] if t]
    prompt = spec["objective"]
    if task_lines:
        prompt += "\n\nTasks:\n" + "\n".join(f"- {line}" for line in task_lines)
    step: dict[str, Any] = {"id": "ai-edit", "operation_kind": AI_STEP_KIND, "tool": tool, "prompt": prompt}
    if files:
        step["files"] = files
    spec["steps"] = [step]
    report.derived.append(
        Note("steps[0]", f"one {tool} step: the objective and the tasks as its prompt, the scope as its files")
    )


def _acceptance(src: Source, spec: dict[str, Any]) -> None:
    report = src.report
    checks: list[Any] = []
    raw = src.take("acceptance_tests")
    items = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    if raw is not None and not isinstance(raw, str | list):
        src.drop("acceptance_tests", f"expected a list, got {one_line(raw)}")
    for index, item in enumerate(items):
        where = "acceptance_tests" if isinstance(raw, str) else f"acceptance_tests[{index}]"
        command = item.get("command") or item.get("cmd") if isinstance(item, dict) else item
        if isinstance(command, str) and looks_like_command(command.strip()):
            if isinstance(item, dict) and set(item) - {"command", "cmd", "description"}:
                src.keep(where, item, "its command is an acceptance check; the rest has no place")
            check: Any = command.strip()
            if isinstance(item, dict) and isinstance(item.get("description"), str):
                check = {"run": command.strip(), "description": item["description"]}
            checks.append(check)
        else:
            src.keep(where, item, "prose, not a command")
            report.to_do.append(f"{where} is prose ({one_line(item, 60)}): write it as a command that checks it")
    spec["acceptance"] = {"sh": checks}
    if checks:
        report.derived.append(Note("acceptance.sh", f"{len(checks)} command(s) of acceptance_tests"))
    else:
        report.to_do.append("acceptance has no runnable check: add one that proves the work is done")
