"""The execution-log row of a finished task: what went in, what came out, how long it took.

Pattern automation mines these rows, so they describe a task by its *shape* and never by its values:

- ``file_types``: the extensions of the paths the task touched (``.py``; ``<none>`` for a file without one);
- ``tools_used``: the runner, plus for ``sh`` and ``powershell`` the programs the command invokes — the
  first word of each command of a pipeline or a ``&&``, ``||``, ``;``, ``&`` or newline chain (variable
  assignments, shell keywords and here-document bodies skipped, paths reduced to the program's name);
- ``input_signature``: ``sha256:`` over the operation kind, the runner, the *shape* of the file scope (per
  list, how many entries have each extension — not their names) and the programs invoked, in order; so two
  tasks that do the same kind of thing to different files share it;
- ``output_signature``: ``sha256:`` over the exit class (ok, ``exit N``, signal, not started, timeout),
  the touched files counted by extension and the error code of a failure;
- ``context``: run, workstream, phase, task and attempt, the error code of a failure, and the
  ``template_id`` and ``pattern_id`` of a spec written from a template (carried in the request's context).

Built here, in detection, because it is an observation of a task; saving stores it as it is.
``task_signature`` is also what the planner's anti-pattern check computes for a spec's tasks before they run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shlex
from collections import Counter
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Final, get_args

from uet_contracts import ExecutionLog, ExecutionResult, FileScope, Runner, StepAttempt
from uet_engine.detection.error_codes import ERROR_CODES, failure_type

# The operation kind of every acceptance check (a step names its own).
ACCEPTANCE_KIND: Final = "ACCEPTANCE-CHECK"

# Keys of a request's context that say where its spec came from; copied into the log's context.
ORIGIN_KEYS: Final = ("template_id", "pattern_id")

_SEPARATORS: Final = frozenset({"|", "||", "&&", ";", "&", "|&", ";;", "\n", "(", ")", "{", "}"})
_KEYWORDS: Final = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "!", "time", "esac"})
_NO_PROGRAM: Final = frozenset({"for", "case", "select", "function"})  # what follows names no program
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")


def digest(*parts: object) -> str:
    """``sha256:<hex>`` of the parts' canonical JSON (keys sorted, no whitespace)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(text).hexdigest()


def extension(path: str) -> str:
    """A path's (or glob's) extension as the logs write it: ``.py``, or ``<none>``."""
    return PurePosixPath(path).suffix or "<none>"


def _without_heredocs(text: str) -> str:
    """The command text with the bodies of its here-documents removed (they are data, not commands)."""
    lines = text.split("\n")
    kept: list[str] = []
    ends: list[tuple[str, bool]] = []
    for line in lines:
        if ends:
            word, tabs = ends[0]
            if (line.lstrip("\t") if tabs else line) == word:
                ends.pop(0)
            continue
        kept.append(line)
        ends = [(found.group(3), found.group(1) == "-") for found in _HEREDOC.finditer(line)]
    return "\n".join(kept)


def _tokens(runner: Runner, text: str) -> list[str]:
    """The words and separators of a command line, as a POSIX shell would split them (roughly)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|(){}\n")
    lexer.whitespace = " \t\r"
    lexer.whitespace_split = True
    if runner == "powershell":
        lexer.escape = ""  # PowerShell escapes with a backtick; a backslash is a path separator
    try:
        return list(lexer)
    except ValueError:  # an unbalanced quote: fall back to plain words
        return re.findall(r"\|\||&&|[|;&\n(){}]|[^\s|;&(){}]+", text)


# The runners whose ``run`` is a command line (or python code); any other tool is a tool profile's.
RUNNERS: Final[frozenset[str]] = frozenset(get_args(Runner))


def programs(runner: str, run: str) -> list[str]:
    """The programs a command invokes, in order (none for ``python`` code: it runs in the interpreter, nor for
    a tool profile's step, whose ``run`` is the prompt: the tool itself is the runner)."""
    if runner not in RUNNERS or runner == "python":
        return []
    found: list[str] = []
    shell: Runner = "powershell" if runner == "powershell" else "sh"
    start = True
    skip = False
    for token in _tokens(shell, _without_heredocs(run)):
        if token in _SEPARATORS or set(token) <= set(";&|\n"):
            start, skip = True, False
        elif start and not skip:
            if token in _KEYWORDS or _ASSIGNMENT.match(token):
                continue
            if token in _NO_PROGRAM:
                skip = True
                continue
            name = PureWindowsPath(token).name if runner == "powershell" else PurePosixPath(token).name
            found.append(name or token)
            start = False
    return found


def tools_used(runner: str, run: str) -> list[str]:
    """The runner and the programs its command invokes, sorted, each once."""
    return sorted({runner, *programs(runner, run)})


def scope_shape(file_scope: FileScope) -> dict[str, dict[str, int]]:
    """Per list of the file scope (all four; an absent one is empty), how many entries have each extension:
    the scope's shape, not its names."""
    lists = {field.name: getattr(file_scope, field.name) or [] for field in dataclasses.fields(file_scope)}
    return {name: dict(sorted(Counter(map(extension, entries)).items())) for name, entries in lists.items()}


def task_signature(operation_kind: str, runner: str, run: str, file_scope: FileScope) -> str:
    """The input signature of a task (see the module docstring): the same for tasks of the same structure."""
    return digest(operation_kind, runner, scope_shape(file_scope), programs(runner, run))


def exit_class(result: ExecutionResult) -> str:
    """ok, timeout, not started, signal, or ``exit N`` for a failed task that exited with N."""
    if result.success:
        return "ok"
    if result.timed_out:
        return "timeout"
    if result.exit_code is None:
        return "not started"
    return "signal" if result.exit_code < 0 else f"exit {result.exit_code}"


def execution_log(attempt: StepAttempt) -> ExecutionLog:
    """The pattern-automation row of a finished attempt (``ValueError`` for one that has not finished)."""
    request, result = attempt.request, attempt.result
    if result is None:
        raise ValueError(f"{attempt.workstream_id} {attempt.kind}/{attempt.index}: the attempt has not finished")
    failure = failure_type(attempt.kind, result)
    error_code = ERROR_CODES[failure] if failure is not None else None
    touched = dict(sorted(Counter(map(extension, result.files_touched)).items()))
    context: dict[str, Any] = {
        "run_id": attempt.run_id,
        "workstream_id": attempt.workstream_id,
        "phase_id": request.phase_id,
        "task_id": f"{attempt.kind}/{attempt.index}",
        "attempt": attempt.attempt,
    }
    context.update({key: request.context[key] for key in ORIGIN_KEYS if request.context.get(key) is not None})
    if error_code is not None:
        context["error_code"] = error_code
    return ExecutionLog(
        timestamp=result.finished_at,
        operation_kind=request.operation_kind,
        file_types=sorted(touched),
        tools_used=tools_used(request.tool, request.run),
        input_signature=task_signature(request.operation_kind, request.tool, request.run, request.file_scope),
        output_signature=digest(exit_class(result), touched, error_code),
        success=result.success,
        time_taken_seconds=result.duration_s,
        context=context,
    )
