"""The phase-template draft of a pattern candidate: the leader's workstream, generalised a little.

The draft is made from the recorded attempts of the workstream whose task leads the cluster (what its
steps ran, which acceptance checks it had, its file scope), so approving a candidate gives a template
that reproduces a task that worked. What varied between the members is what the template asks for:

- ``phase_id``, ``workstream_id``, ``title`` and ``objective`` are parameters (the first two required);
- each ``create`` and ``modify`` path of the file scope becomes a parameter (``create_1``, …,
  ``modify_1``, …) defaulting to the leader's path, and its occurrences in the commands become the
  placeholder (whole paths only, longest first), so a new phase can write other files the same way;
- a literal ``${`` in a command is escaped (``$${``) so it survives filling in.

Acceptance checks keep only their commands (the attempts do not record expected exit codes or
patterns); a draft is a starting point that the approver reviews. Without recorded attempts (logs
imported from elsewhere) the draft asks for the step's command as a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, get_args

from uet_contracts import PhaseTemplate, Runner, StepAttempt, TemplateParameter

RUNNERS: tuple[Runner, ...] = get_args(Runner)

_IDS = {
    "phase_id": TemplateParameter(
        type="string", description="The id of the new phase, e.g. PH-10.", pattern="PH-[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
    ),
    "workstream_id": TemplateParameter(
        type="string", description="The id of its workstream, e.g. ws-new-work.", pattern="ws-[a-z0-9][a-z0-9-]{0,127}"
    ),
}


def _path_pattern(path: str) -> re.Pattern[str]:
    """``path`` as a whole word of a command: not inside a longer path or name."""
    return re.compile(r"(?<![\w./-])" + re.escape(path) + r"(?![\w./-])")


def _generalise(run: str, placeholders: Sequence[tuple[str, str]]) -> str:
    text = run.replace("${", "$${")
    for path, name in placeholders:
        text = _path_pattern(path).sub("${" + name + "}", text)
    return text


def draft(
    name: str,
    title: str,
    description: str,
    operation_kind: str,
    tools: Sequence[str],
    attempts: Sequence[StepAttempt],
) -> PhaseTemplate:
    """The phase-template draft for a candidate; ``attempts`` are the leader's workstream's, in any order."""
    parameters: dict[str, TemplateParameter] = dict(_IDS)
    parameters["title"] = TemplateParameter(type="string", description="A short title.", default=title)
    parameters["objective"] = TemplateParameter(
        type="string", description="What the phase must achieve.", default=description
    )
    last: dict[tuple[str, int], StepAttempt] = {}
    for attempt in sorted(attempts, key=lambda a: (a.kind, a.index, a.attempt)):
        last[(attempt.kind, attempt.index)] = attempt
    steps = [a.request for (kind, _), a in sorted(last.items()) if kind == "step"]
    checks = [a.request for (kind, _), a in sorted(last.items()) if kind == "acceptance"]
    requests = steps or checks
    scope: dict[str, list[str]] = {"create": [], "modify": [], "read_only": []}
    placeholders: list[tuple[str, str]] = []
    if requests:
        file_scope = requests[0].file_scope
        scope["read_only"] = list(file_scope.read_only)
        if file_scope.forbidden_paths:
            scope["forbidden_paths"] = list(file_scope.forbidden_paths)
        for kind in ("create", "modify"):
            for i, path in enumerate(getattr(file_scope, kind), start=1):
                key = f"{kind}_{i}"
                parameters[key] = TemplateParameter(
                    type="string", description=f"A path (or glob) the phase may {kind}, like {path!r}.", default=path
                )
                scope[kind].append("${" + key + "}")
                placeholders.append((path, key))
    placeholders.sort(key=lambda item: -len(item[0]))
    body_steps: list[dict[str, Any]] = []
    for request in steps:
        step: dict[str, Any] = {
            "operation_kind": request.operation_kind,
            "tool": request.tool,
            "run": _generalise(request.run, placeholders),
        }
        if request.timeout_s is not None:
            step["timeout_s"] = request.timeout_s
        body_steps.append(step)
    if not requests:
        runner = next((tool for tool in RUNNERS if tool in tools), "sh")
        parameters["run"] = TemplateParameter(type="string", description=f"The {runner} command of the step.")
        body_steps.append({"operation_kind": operation_kind, "tool": runner, "run": "${run}"})
    acceptance: dict[str, list[str]] = {}
    for request in checks:
        acceptance.setdefault(request.tool, []).append(_generalise(request.run, placeholders))
    body: dict[str, Any] = {
        "phase_id": "${phase_id}",
        "workstream_id": "${workstream_id}",
        "title": "${title}",
        "objective": "${objective}",
        "phase_type": "implementation",
        "file_scope": scope,
        "acceptance": acceptance or {"python": ["pass"]},
    }
    if body_steps:
        body["steps"] = body_steps
    return PhaseTemplate(template_id=name, description=description, version="1.0.0", parameters=parameters, body=body)
