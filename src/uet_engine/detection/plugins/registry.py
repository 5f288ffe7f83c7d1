"""The error-plugin registry: every failed try's output through every plugin that recognises it.

An error plugin turns a failed task's output into structured ErrorEvents (``base`` says what one is).

Why a registry: the findings of the tools people already run (test runners, linters, type checkers)
are the errors a person or a fix step acts on, so every failed try goes through every plugin that
recognises its output. The built-in plugins come first — ``pytest``, ``ruff``, ``mypy``,
``python-traceback`` and the generic ``locations`` fallback — then those of the ``uet.error_plugins``
entry points of the installed distributions (an entry point names a plugin object, or a class or factory
called with no arguments to make one).

The engine owns what a plugin returns: each event is given the plugin's name, the task and attempt it
belongs to and its fingerprint, paths are made repository paths, and the event is validated. A plugin that
raises, or returns something that is not a valid ErrorEvent, costs only its own findings: it is reported
as a ``plugin_failed`` ErrorEvent, the raw output stays in the attempt, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Final, cast

import uet_contracts
from uet_contracts import ContractError, ErrorEvent, ExecutionRequest, ExecutionResult
from uet_engine.detection.events import error_event, one_line
from uet_engine.detection.fingerprints import fingerprint
from uet_engine.detection.plugins.base import ErrorPlugin, repo_path
from uet_engine.detection.plugins.locations import LocationsPlugin
from uet_engine.detection.plugins.mypy_findings import MypyPlugin
from uet_engine.detection.plugins.pytest_failures import PytestPlugin
from uet_engine.detection.plugins.ruff_findings import RuffPlugin
from uet_engine.detection.plugins.tracebacks import TracebackPlugin

ENTRY_POINT_GROUP: Final = "uet.error_plugins"
# At most this many findings are kept per try (a flood of lint errors says no more than its first fifty).
MAX_FINDINGS: Final = 50
# The task ids an ErrorEvent may name, read from its schema (a task outside it goes to the context).
_TASK_ID: Final = re.compile(uet_contracts.schema(ErrorEvent)["properties"]["task_id"]["pattern"])


@dataclass(frozen=True)
class NamedPlugin:
    """A plugin and its name (the entry point's; ``pytest``, ``ruff``… for the built-in ones)."""

    name: str
    plugin: ErrorPlugin

    @property
    def fallback(self) -> bool:
        return bool(getattr(self.plugin, "fallback", False))


BUILTIN: Final[tuple[NamedPlugin, ...]] = (
    NamedPlugin("pytest", PytestPlugin()),
    NamedPlugin("ruff", RuffPlugin()),
    NamedPlugin("mypy", MypyPlugin()),
    NamedPlugin("python-traceback", TracebackPlugin()),
    NamedPlugin("locations", LocationsPlugin()),
)


def _is_plugin(obj: object) -> bool:
    return callable(getattr(obj, "matches", None)) and callable(getattr(obj, "parse", None))


def _as_plugin(loaded: object) -> ErrorPlugin:
    """The plugin an entry point names: a plugin object (a module with the two functions, too), or a class or
    factory called with no arguments to make one; ``TypeError`` for anything else."""
    if isinstance(loaded, type) or (callable(loaded) and not _is_plugin(loaded)):
        loaded = loaded()
    if not _is_plugin(loaded):
        raise TypeError("it has no matches and parse methods")
    return cast(ErrorPlugin, loaded)


@dataclass
class Registry:
    """The plugins of this process, and what went wrong loading the installed ones (one line each)."""

    plugins: Sequence[NamedPlugin]
    problems: list[str] = field(default_factory=list)

    def findings(
        self, request: ExecutionRequest, result: ExecutionResult, cwd: Path
    ) -> tuple[list[ErrorEvent], list[ErrorEvent]]:
        """The findings of every matching plugin in a failed try, and a ``plugin_failed`` event per plugin that broke.

        ``request`` is the try's request as recorded (its context holds ``task_id`` and ``attempt``);
        ``cwd`` the worktree it ran in.
        """
        seen = dataclasses.replace(request, context={**request.context, "cwd": str(cwd)})
        found: list[ErrorEvent] = []
        broken: list[ErrorEvent] = []
        keys: set[tuple[str | None, int | None, str]] = set()
        for fallback in (False, True):
            if fallback and found:
                break
            for named in self.plugins:
                if named.fallback != fallback:
                    continue
                kept: list[ErrorEvent] = []
                try:
                    if not named.plugin.matches(seen, result):
                        continue
                    for raw in named.plugin.parse(seen, result):
                        if len(found) + len(kept) >= MAX_FINDINGS:
                            break  # the rest is not even adopted: a flood says no more than its first findings
                        event = self._adopt(named.name, raw, seen)
                        key = (event.path, event.line, event.message)
                        if key not in keys:
                            keys.add(key)
                            kept.append(event)
                except Exception as exc:
                    broken.append(_broken(named.name, request, exc))
                    continue
                found += kept
        return found, broken

    @staticmethod
    def _adopt(name: str, event: object, request: ExecutionRequest) -> ErrorEvent:
        """A plugin's event made the engine's: named, placed, fingerprinted, valid (else ``ValueError``)."""
        if not isinstance(event, ErrorEvent):
            raise ValueError(f"parse returned a {type(event).__name__}, not an ErrorEvent")
        task = str(request.context.get("task_id", ""))
        context: dict[str, Any] = {**(event.context or {}), "attempt": request.context.get("attempt", 1)}
        if not _TASK_ID.match(task):
            context["task"] = task
        path = None if event.path is None else repo_path(event.path, request)
        if event.path is not None and path is None:
            context["location"] = event.path  # printed, but outside the repository
        message = one_line(event.message)
        adopted = dataclasses.replace(
            event,
            run_id=request.run_id or event.run_id,
            workstream_id=request.workstream_id,
            phase_id=request.phase_id,
            task_id=task if _TASK_ID.match(task) else None,
            message=message,
            path=path,
            plugin=name,
            context=context,
            fingerprint=fingerprint(event.error_code, request.workstream_id or "", path, message),
        )
        try:
            uet_contracts.check(uet_contracts.to_dict(adopted), ErrorEvent)
        except ContractError as exc:
            first = exc.errors[0]
            raise ValueError(f"it returned an invalid ErrorEvent: {first.json_path}: {first.message}") from None
        return adopted


def _broken(name: str, request: ExecutionRequest, exc: Exception) -> ErrorEvent:
    task = str(request.context.get("task_id", ""))
    return error_event(
        "plugin_failed",
        f"error plugin {name} failed on {task}: {type(exc).__name__}: {exc} (its findings are missing; "
        "the raw output is kept in the attempt)",
        run_id=request.run_id or "",
        workstream_id=request.workstream_id,
        phase_id=request.phase_id,
        task_id=task if _TASK_ID.match(task) else None,
        context={"plugin": name, "attempt": request.context.get("attempt", 1)},
    )


def installed() -> Registry:
    """The built-in plugins, then those of the ``uet.error_plugins`` entry points (by name; one that cannot be
    loaded is left out and named in ``problems``)."""
    plugins = list(BUILTIN)
    problems: list[str] = []
    names = {p.name for p in plugins}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in names:
            continue
        names.add(point.name)
        try:
            plugins.append(NamedPlugin(point.name, _as_plugin(point.load())))
        except Exception as exc:
            problems.append(f"error plugin {point.name} ({point.value}) cannot be loaded: {type(exc).__name__}: {exc}")
    return Registry(plugins, problems)


@functools.cache
def registry() -> Registry:
    """This process's registry, loaded once (workers of a Dask cluster load their own)."""
    return installed()
