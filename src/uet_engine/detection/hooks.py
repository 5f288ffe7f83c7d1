"""Hooks: code that observes a run — every workstream's start and end, every task's start and completion, every error.

Why: the original pipeline design names two observers of execution, the error engine and the pattern
automation hooks, which the orchestrator calls on every task start and completion. A hook is any object
with the five methods of ``Hook`` (subclass ``BaseHook`` to implement only some); each argument is a
contract instance, exactly as it was recorded:

- ``on_run_start(run)``: a workstream's RunRecord as it enters ``running``;
- ``on_task_start(request)``: a step, acceptance check or fix step starts (``request.context`` holds its
  ``task_id`` and ``attempt``);
- ``on_task_complete(request, result)``: that try ended, whatever the outcome;
- ``on_error(event)``: an ErrorEvent was recorded (a failed try, a plugin's finding, a crash, a hook failure);
- ``on_run_end(run)``: a workstream's RunRecord reached its final status (succeeded, failed, skipped,
  cancelled; a reused success reaches it as it is queued).

Hooks are found in two places: the entry-point group ``uet.hooks`` of the installed distributions, and
``uet run --hook MODULE:ATTR`` (repeatable). The object loaded is a class or a factory, called with no
arguments to make the hook, or a hook already. Anything that cannot be loaded that way is refused before
the run starts (``BadHook``: the CLI exits 2 naming it).

Hooks are called by the run's coordinator right after the record they are told about is durable, one
call at a time, each on the hook's own helper thread under a time budget (``DEFAULT_BUDGET_S`` a call,
``uet run --hook-budget``). A hook that raises, or that is still busy when its budget runs out (the call is
abandoned, its thread left to finish on its own), is reported as an ErrorEvent — ``hook_failed`` or
``hook_timeout`` with their own codes — and disabled for the rest of the run. It changes no workstream's
outcome. The engine's own hooks (the ExecutionLog writer) are ``NamedHook``\\ s too, marked ``inline``:
they run on the coordinator's thread, since what they write must go through the run's one writer, and
no budget applies to them (what they write is part of the run's records); one that raises is reported
and disabled like any other.
"""

from __future__ import annotations

import importlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Final, Literal, Protocol, cast, get_args, runtime_checkable

from uet_contracts import ErrorEvent, ExecutionLog, ExecutionRequest, ExecutionResult, RunRecord, StepAttempt
from uet_engine.detection.events import error_event
from uet_engine.detection.execution_log import execution_log
from uet_engine.errors import BadHook

ENTRY_POINT_GROUP: Final = "uet.hooks"
DEFAULT_BUDGET_S: Final = 2.0

HookMethod = Literal["on_run_start", "on_task_start", "on_task_complete", "on_error", "on_run_end"]
HOOK_METHODS: Final[tuple[HookMethod, ...]] = get_args(HookMethod)


@runtime_checkable
class Hook(Protocol):
    """What the engine calls on a hook; see the module docstring for when each method is called."""

    def on_run_start(self, run: RunRecord) -> None: ...

    def on_task_start(self, request: ExecutionRequest) -> None: ...

    def on_task_complete(self, request: ExecutionRequest, result: ExecutionResult) -> None: ...

    def on_error(self, event: ErrorEvent) -> None: ...

    def on_run_end(self, run: RunRecord) -> None: ...


class BaseHook:
    """A hook that does nothing: subclass it and override only the methods you need."""

    def on_run_start(self, run: RunRecord) -> None:
        """A workstream entered ``running``."""

    def on_task_start(self, request: ExecutionRequest) -> None:
        """A try of a task started."""

    def on_task_complete(self, request: ExecutionRequest, result: ExecutionResult) -> None:
        """A try of a task ended."""

    def on_error(self, event: ErrorEvent) -> None:
        """An ErrorEvent was recorded."""

    def on_run_end(self, run: RunRecord) -> None:
        """A workstream reached its final status."""


@dataclass(frozen=True)
class NamedHook:
    """A hook and the name its failures are reported under (``MODULE:ATTR``, or its entry point's name)."""

    name: str
    hook: Hook
    inline: bool = False  # the engine's own hooks: called on the coordinator's thread


class ExecutionLogHook(BaseHook):
    """The engine's ExecutionLog writer: one row per finished try, for pattern automation (see ``execution_log``)."""

    def __init__(self, sink: Callable[[ExecutionLog], None]) -> None:
        self.sink = sink

    def on_task_complete(self, request: ExecutionRequest, result: ExecutionResult) -> None:
        kind, _, index = str(request.context["task_id"]).partition("/")
        attempt = StepAttempt(
            run_id=request.run_id or "",
            workstream_id=request.workstream_id or "",
            kind=cast(Any, kind),
            index=int(index),
            attempt=int(request.context.get("attempt", 1)),
            request=request,
            result=result,
        )
        self.sink(execution_log(attempt))


# -- loading -----------------------------------------------------------------------------------------------


def _as_hook(name: str, loaded: object) -> Hook:
    """The hook ``loaded`` is or makes: itself when it has the methods, else what calling it returns."""
    candidate = loaded
    if isinstance(loaded, type) or (callable(loaded) and not _has_methods(loaded)):
        try:
            candidate = loaded()
        except Exception as exc:
            raise BadHook(f"hook {name}: calling it to make the hook raised {type(exc).__name__}: {exc}") from None
    missing = [m for m in HOOK_METHODS if not callable(getattr(candidate, m, None))]
    if missing:
        raise BadHook(
            f"hook {name} is not a Hook: it has no {', '.join(missing)} method(s) "
            "(subclass uet_engine.detection.hooks.BaseHook to implement only some)"
        )
    return cast(Hook, candidate)


def _has_methods(obj: object) -> bool:
    return any(callable(getattr(obj, m, None)) for m in HOOK_METHODS)


def load_hook(spec: str) -> NamedHook:
    """The hook named by ``MODULE:ATTR`` (``--hook``); ``BadHook`` naming it when it cannot be had."""
    module_name, colon, attr = spec.partition(":")
    if not colon or not module_name or not attr:
        raise BadHook(f"--hook {spec!r}: expected MODULE:ATTR, e.g. mypackage.hooks:Recorder")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raised while importing
        raise BadHook(f"--hook {spec}: cannot import {module_name}: {type(exc).__name__}: {exc}") from None
    loaded: object = module
    for part in attr.split("."):
        try:
            loaded = getattr(loaded, part)
        except AttributeError:
            raise BadHook(f"--hook {spec}: {module_name} has no attribute {attr}") from None
    return NamedHook(spec, _as_hook(spec, loaded))


def installed_hooks() -> list[NamedHook]:
    """The hooks of the ``uet.hooks`` entry points, by name; ``BadHook`` naming one that cannot be loaded."""
    found: dict[str, NamedHook] = {}
    for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
        if point.name in found:
            continue  # the same distribution seen twice on the path
        try:
            loaded = point.load()
        except Exception as exc:
            raise BadHook(
                f"hook {point.name} (entry point {point.value}): cannot load it: {type(exc).__name__}: {exc}"
            ) from None
        found[point.name] = NamedHook(point.name, _as_hook(point.name, loaded))
    return list(found.values())


# -- calling -----------------------------------------------------------------------------------------------


class _Late:
    """What a call returns when its budget ran out first."""


_LATE: Final = _Late()
_Call = tuple[Callable[..., object], tuple[object, ...], threading.Event, list[BaseException | None]]


class _Caller:
    """One daemon thread that makes a hook's calls in order, so the coordinator can stop waiting for one."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue[_Call] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"uet-hook-{name}", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            method, args, done, box = self._calls.get()
            try:
                method(*args)
                box.append(None)
            except BaseException as exc:  # a hook's SystemExit must not end this thread silently either
                box.append(exc)
            done.set()

    def call(
        self, method: Callable[..., object], args: tuple[object, ...], budget_s: float
    ) -> BaseException | _Late | None:
        """What the call raised (None: nothing), or ``_LATE`` when it was still running after ``budget_s``."""
        done = threading.Event()
        box: list[BaseException | None] = []
        self._calls.put((method, args, done, box))
        if not done.wait(budget_s):
            return _LATE
        return box[0]


@dataclass
class HookSet:
    """The hooks of one run: calls each active hook in turn and reports, as ErrorEvents, the ones that failed."""

    hooks: Sequence[NamedHook]
    run_id: str
    budget_s: float = DEFAULT_BUDGET_S
    disabled: dict[str, str] = field(default_factory=dict)  # name -> why
    _callers: dict[str, _Caller] = field(default_factory=dict)

    def call(self, method: HookMethod, *args: object) -> list[ErrorEvent]:
        """Call ``method`` on every active hook; an ErrorEvent for each that raised or overran (now disabled)."""
        failures: list[ErrorEvent] = []
        for named in self.hooks:
            if named.name in self.disabled:
                continue
            failure = self._one(named, method, args)
            if failure is not None:
                self.disabled[named.name] = failure.message
                failures.append(failure)
        return failures

    def _one(self, named: NamedHook, method: HookMethod, args: tuple[object, ...]) -> ErrorEvent | None:
        bound = getattr(named.hook, method)
        raised: BaseException | _Late | None
        if named.inline:  # the engine's own: its rows are part of the run's records, so no budget cuts it off
            try:
                bound(*args)
                raised = None
            except Exception as exc:
                raised = exc
        else:
            caller = self._callers.get(named.name)
            if caller is None:
                caller = self._callers[named.name] = _Caller(named.name)
            raised = caller.call(bound, args, self.budget_s)
        return None if raised is None else self._failure(named, method, args, raised)

    def _failure(
        self, named: NamedHook, method: HookMethod, args: tuple[object, ...], raised: BaseException | _Late
    ) -> ErrorEvent:
        subject = args[0] if args else None
        run_id = getattr(subject, "run_id", None) or self.run_id
        context: dict[str, Any] = {"hook": named.name, "method": method, "budget_s": self.budget_s}
        if isinstance(subject, ExecutionRequest):
            context.update(task=subject.context.get("task_id"), attempt=subject.context.get("attempt"))
        late = isinstance(raised, _Late)
        if late:
            why = f"took longer than its {self.budget_s:g} s budget in {method}"
        else:
            why = f"raised {type(raised).__name__} in {method}: {raised}"
        return error_event(
            "hook_timeout" if late else "hook_failed",
            f"hook {named.name} {why}; disabled for the rest of the run",
            run_id=run_id,
            workstream_id=getattr(subject, "workstream_id", None),
            phase_id=getattr(subject, "phase_id", None),
            context=context,
        )
