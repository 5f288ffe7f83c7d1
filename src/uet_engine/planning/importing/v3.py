"""Template-V3 phase plan (YAML) → PhaseSpec data (the field fates are in ``mapping.V3_RULES``).

A V3 plan nests what PhaseSpec keeps flat (``phase_identity``, ``dag_and_dependencies``,
``scope_and_modules.file_scope``) and says how to run its commands once, in
``environment_and_tools.default_shell``: every command of the plan (steps, pre-flight checks,
acceptance tests) runs by that shell's runner. Steps whose ``tool_id`` is an AI tool become tool-profile
steps; the others run their ``inputs.commands``.

Some plans write a section in another shape than the template: ``pre_flight_checks`` as a mapping of
named checks, ``acceptance_tests`` as the list of tests itself, ``execution_plan`` as the list of steps.
They are read as the template's shape (and the report says so).
"""

from __future__ import annotations

import re
import shlex
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
    parallel,
    path_list,
    text,
)
from uet_engine.planning.importing.legacy import STATUS_ALIASES
from uet_engine.planning.importing.report import FileReport, Note
from uet_engine.planning.importing.source import Source, one_line

DEFAULT_STEP_KIND = "EXEC-STEP"
_POWERSHELL = frozenset({"powershell", "pwsh", "powershell-core", "powershell7", "ps", "ps1", "powershell-script"})
_CRITICAL = frozenset({"critical", "blocker", "high", "true", "required"})
_TITLE_MAX = 200


def reshape(data: dict[str, Any], report: FileReport) -> dict[str, Any]:
    """The data with the sections that plans write in another shape put into the template's shape."""
    data = dict(data)
    checks = data.get("pre_flight_checks")
    if isinstance(checks, dict) and all(isinstance(v, dict) for v in checks.values()):
        data["pre_flight_checks"] = [{"name": name, **check} for name, check in checks.items()]
        report.derived.append(Note("pre_flight", "pre_flight_checks is a mapping of named checks: read as a list"))
    if isinstance(data.get("acceptance_tests"), list):
        data["acceptance_tests"] = {"tests": data["acceptance_tests"]}
        report.derived.append(Note("acceptance", "acceptance_tests is a list: read as acceptance_tests.tests"))
    if isinstance(data.get("execution_plan"), list):
        data["execution_plan"] = {"steps": data["execution_plan"]}
        report.derived.append(Note("steps", "execution_plan is a list: read as execution_plan.steps"))
    return data


def identity(data: dict[str, Any], report: FileReport) -> tuple[str, str] | None:
    """(phase id, workstream id) of a V3 plan, or None after recording why it has none."""
    section = data.get("phase_identity")
    section = section if isinstance(section, dict) else {}
    raw_phase, raw_ws = section.get("phase_id"), section.get("workstream_id")
    phase = ids.phase_id(raw_phase) if isinstance(raw_phase, str) else None
    ws = ids.workstream_id(raw_ws) if isinstance(raw_ws, str) else None
    if phase is None and ws is None:
        report.fail(
            "no usable phase_identity.phase_id or phase_identity.workstream_id: a phase spec needs one of them",
            "$.phase_identity",
        )
        return None
    if phase is None:
        assert ws is not None
        phase = ids.phase_id_for_workstream(ws)
        report.defaulted.append(Note("phase_id", f"{phase} (from the workstream id: there is no phase id)"))
    elif phase != raw_phase:
        report.derived.append(Note("phase_id", f"{phase} (from {raw_phase!r})"))
    if ws is None:
        ws = ids.workstream_id(phase[3:]) or "ws-" + phase[3:].lower()
        report.defaulted.append(Note("workstream_id", f"{ws} (from the phase id: there is no workstream id)"))
    elif ws != raw_ws:
        report.derived.append(Note("workstream_id", f"{ws} (from {raw_ws!r})"))
    return phase, ws


def convert(src: Source, known: Known, phase: str, ws: str) -> dict[str, Any]:
    """The spec data of one V3 plan."""
    report = src.report
    src.take("phase_identity.phase_id")
    src.take("phase_identity.workstream_id")
    spec: dict[str, Any] = {"phase_id": phase, "workstream_id": ws}
    runner = _runner(src)
    objective = text(src, "phase_identity.objective")
    title = text(src, "phase_identity.title")
    if title is None:
        title = (objective or phase).split(".")[0][:_TITLE_MAX]
        report.defaulted.append(Note("title", f"{title!r} (there is no phase_identity.title)"))
    elif len(title) > _TITLE_MAX:
        title = title[: _TITLE_MAX - 1] + "…"
        report.derived.append(Note("title", f"cut to {_TITLE_MAX} characters"))
    spec["title"] = title
    if objective is None:
        objective = title
        report.defaulted.append(Note("objective", "the title (there is no phase_identity.objective)"))
    spec["objective"] = objective
    phase_type = choice(src, "phase_identity.phase_type", PHASE_TYPES)
    if phase_type is None:
        phase_type = "implementation"
        report.defaulted.append(Note("phase_type", "'implementation'"))
    spec["phase_type"] = phase_type
    status = choice(src, "phase_identity.status", STATUSES, STATUS_ALIASES)
    if status is not None:
        spec["status"] = status
    estimate = hours(src, "phase_identity.estimate_hours")
    if estimate is not None:
        spec["estimate_hours"] = estimate
    dependencies(src, "dag_and_dependencies.depends_on", known, spec, phase)
    parallel(src, "dag_and_dependencies.may_run_parallel_with", known, spec, phase)
    bundle = text(src, "dag_and_dependencies.workstream_bundle_id")
    if bundle is not None:
        spec["bundle_id"] = bundle
    _file_scope(src, spec)
    language = text(src, "environment_and_tools.primary_language")
    if language is not None:
        spec["tools"] = {"primary_language": language}
    _pre_flight(src, spec, runner)
    _steps(src, spec, runner)
    artifacts = _artifacts(src)
    if artifacts:
        spec["expected_artifacts"] = artifacts
    _acceptance(src, spec, runner)
    return spec


def _runner(src: Source) -> str:
    shell = text(src, "environment_and_tools.default_shell")
    runner = "powershell" if shell is not None and shell.lower() in _POWERSHELL else "sh"
    if shell is not None:
        src.report.derived.append(Note("runner", f"{runner} runs the plan's commands (default_shell {shell!r})"))
    return runner


def _file_scope(src: Source, spec: dict[str, Any]) -> None:
    base = "scope_and_modules.file_scope"
    if src.get(base) is None:
        src.report.to_do.append("no scope_and_modules.file_scope: list the paths the phase creates and modifies")
    scope = {kind: path_list(src, f"{base}.{kind}") for kind in ("create", "modify", "read_only")}
    forbidden = path_list(src, f"{base}.forbidden_paths")
    if forbidden:
        scope["forbidden_paths"] = forbidden
    spec["file_scope"] = scope


def _regex(src: Source, path: str) -> str | None:
    pattern = text(src, path)
    if pattern is None:
        return None
    try:
        re.compile(pattern)
    except re.error as exc:
        src.report.dropped.append(Note(path, f"not a valid regular expression: {exc}"))
        return None
    return pattern


def _pre_flight(src: Source, spec: dict[str, Any], runner: str) -> None:
    checks = []
    for path, item in src.items("pre_flight_checks"):
        if not isinstance(item, dict) or not isinstance(item.get("cmd"), str) or not item["cmd"].strip():
            src.drop(path, "no cmd: nothing to run")
            continue
        check: dict[str, Any] = {}
        name = text(src, f"{path}.name") or text(src, f"{path}.id")
        if name is not None:
            check["id"] = name
        _copy(src, check, "description", f"{path}.description")
        if runner != "sh":
            check["tool"] = runner
        check["run"] = text(src, f"{path}.cmd")
        _copy(src, check, "expect_output", f"{path}.expect")
        pattern = _regex(src, f"{path}.expect_pattern")
        if pattern is not None:
            check["success_pattern"] = pattern
        criticality = src.take(f"{path}.criticality")
        if criticality is not None:
            check["critical"] = str(criticality).strip().lower() in _CRITICAL
        _copy(src, check, "fix_hint", f"{path}.fix_hint")
        checks.append(check)
    if checks:
        spec["pre_flight"] = checks


def _copy(src: Source, target: dict[str, Any], key: str, path: str) -> None:
    value = text(src, path)
    if value is not None:
        target[key] = value


def _operation_kind(src: Source, path: str) -> str:
    """An OperationKind by construction: the upper-cased words of the source's value, joined by ``_`` when it
    used ``_`` only, else by ``-`` (``create file`` → ``CREATE-FILE``, ``CREATE_FILE`` stays)."""
    raw = text(src, path)
    words = re.findall(r"[A-Z0-9]+", raw.upper()) if raw is not None else []
    if not words:
        src.report.defaulted.append(Note(path, f"{DEFAULT_STEP_KIND} (the step has no operation_kind)"))
        return DEFAULT_STEP_KIND
    if words[0][0].isdigit():
        words.insert(0, "OP")
    kind = ("_" if "_" in (raw or "") and "-" not in (raw or "") else "-").join(words)
    if kind != raw:
        src.report.derived.append(Note(path, f"{kind} (from {raw!r})"))
    return kind


def _steps(src: Source, spec: dict[str, Any], runner: str) -> None:
    report = src.report
    steps = []
    for path, item in src.items("execution_plan.steps"):
        if not isinstance(item, dict):
            src.drop(path, f"a step must be a mapping, got {one_line(item)}")
            continue
        label = item.get("id") or item.get("name") or path
        step: dict[str, Any] = {}
        tool_name = text(src, f"{path}.tool_id")
        ai = profiles.builtin_id(tool_name) if tool_name else None
        commands = _commands(src, f"{path}.inputs.commands") if ai is None else None
        if ai is None and not commands:
            if (
                tool_name is not None
                and ids.tool_id(tool_name) is not None
                and src.get(f"{path}.inputs.commands") is None
            ):
                ai = ids.tool_id(tool_name)
                report.to_do.append(
                    f"step {label}: tool {tool_name!r} has no built-in profile: define tool_profiles.{ai}"
                )
            else:
                src.drop(path, f"step {label} has neither an AI tool nor commands to run")
                report.to_do.append(f"step {label} was dropped: give it commands or an AI tool")
                continue
        step_id = text(src, f"{path}.id")
        if step_id is not None:
            step["id"] = step_id
        step["operation_kind"] = _operation_kind(src, f"{path}.operation_kind")
        description = " : ".join(v for v in (text(src, f"{path}.name"), text(src, f"{path}.description")) if v)
        if description:
            step["description"] = description.replace(" : ", ": ", 1)
        if ai is not None:
            step["tool"] = ai
            if ai != tool_name:
                report.derived.append(Note(f"{path}.tool_id", f"tool profile {ai} (from {tool_name!r})"))
            prompt = text(src, f"{path}.inputs.prompt")
            if prompt is None:
                prompt = step.get("description") or spec["objective"]
                report.derived.append(Note(f"{path}.inputs.prompt", "the step's description as the prompt"))
            step["prompt"] = prompt
            files = (
                path_list(src, f"{path}.inputs.files") or spec["file_scope"]["create"] + spec["file_scope"]["modify"]
            )
            if files:
                step["files"] = files
        else:
            step["tool"] = runner
            step["run"] = "\n".join(commands or [])
        if src.get(f"{path}.requires_human_confirmation") is True:
            report.to_do.append(f"step {label} requires human confirmation: the engine runs it unattended")
        steps.append(step)
    if steps:
        spec["steps"] = steps
    else:
        report.to_do.append("no steps: add the commands or the AI-tool steps that do the work")


def _commands(src: Source, path: str) -> list[str]:
    value = src.take(path)
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    if value is not None and not isinstance(value, str | list):
        src.drop(path, f"expected a list of commands, got {one_line(value)}")
    commands = [c.strip() for c in items if isinstance(c, str) and c.strip()]
    if len(commands) != len(items):
        src.report.dropped.append(Note(path, "items that are not command strings"))
    return commands


def _artifacts(src: Source) -> list[str]:
    """``expected_artifacts``: paths, or mappings with a ``path`` (their other keys kept in extensions)."""
    if not isinstance(src.get("expected_artifacts"), list):
        return path_list(src, "expected_artifacts")
    found: list[str] = []
    for path, item in src.items("expected_artifacts"):
        raw = item.get("path") if isinstance(item, dict) else item
        repo = ids.repo_path(raw) if isinstance(raw, str) else None
        if repo is None:
            src.drop(path, f"{one_line(item)} is not a path inside the repository")
            continue
        if isinstance(item, dict) and set(item) != {"path"}:
            src.keep(path, item, "its path is in expected_artifacts")
        else:
            src.take(path)
        if repo not in found:
            found.append(repo)
    src.take("expected_artifacts")  # every item is used, kept or dropped above
    return found


def _acceptance(src: Source, spec: dict[str, Any], runner: str) -> None:
    report = src.report
    by_runner: dict[str, list[Any]] = {}
    for path, item in src.items("acceptance_tests.tests"):
        where = f"{path}.command" if isinstance(item, dict) else path
        run, test_runner, rest = _command_line(src.get(where), runner)
        if run is None:
            src.drop(path, "no command to run")
            report.to_do.append(f"{path} has no command: write one that checks it")
            continue
        if rest:
            src.keep(where, src.get(where), "its tool_id and args are the check's command line")
        else:
            src.take(where)
        check: dict[str, Any] = {}
        _copy(src, check, "id", f"{path}.id")
        _copy(src, check, "description", f"{path}.description")
        check["run"] = run
        _copy(src, check, "expect_output", f"{path}.expected_output")
        exit_code = src.take(f"{path}.expected_exit_code")
        if isinstance(exit_code, int) and not isinstance(exit_code, bool):
            check["expect_exit"] = exit_code
        elif exit_code is not None:
            src.drop(f"{path}.expected_exit_code", f"{one_line(exit_code)} is not an exit code")
        pattern = _regex(src, f"{path}.success_pattern")
        if pattern is not None:
            check["success_pattern"] = pattern
        must_pass = src.take(f"{path}.must_pass")
        if isinstance(must_pass, bool):
            if not must_pass:
                check["required"] = False
        elif must_pass is not None:
            src.drop(f"{path}.must_pass", f"{one_line(must_pass)} is not true or false")
        by_runner.setdefault(test_runner, []).append(check["run"] if set(check) == {"run"} else check)
    spec["acceptance"] = by_runner or {runner: []}
    if not by_runner:
        report.to_do.append("acceptance has no runnable check: add one that proves the phase is done")


def _command_line(command: Any, runner: str) -> tuple[str | None, str, bool]:
    """An acceptance test's command line, its runner, and whether the command holds more than that.

    A string runs by the plan's runner; ``{tool_id, args}`` is the command line ``tool_id args…``
    (``powershell``/``pwsh`` as tool_id: the args are the PowerShell command).
    """
    if isinstance(command, str):
        return (command.strip() or None), runner, False
    if not isinstance(command, dict) or not isinstance(command.get("tool_id"), str):
        return None, runner, False
    args = command.get("args") or []
    words = [args] if isinstance(args, str) else [str(a) for a in args] if isinstance(args, list) else []
    tool = command["tool_id"].strip()
    rest = bool(set(command) - {"tool_id", "args"})
    if tool.lower() in _POWERSHELL:
        return (" ".join(words) or None), "powershell", rest
    return shlex.join([tool, *words]), runner, rest
