"""The run's observers: write a record through the run's writer, then tell the hooks about it.

Why a module between the coordinator and the writer: hooks must hear of a record only once it is durable,
in the order it was written, and a hook's own failure is a record too (an ErrorEvent, which the other
hooks hear of in turn). Keeping that here leaves the coordinator its loop and the writer its order of
writes. Everything runs on the coordinator's thread; a hook that fails is disabled by its ``HookSet``, so
the chain of failure events is finite.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from uet_contracts import ErrorEvent, RunRecord, StepAttempt
from uet_engine.detection.hooks import DEFAULT_BUDGET_S, ExecutionLogHook, HookMethod, HookSet, NamedHook
from uet_engine.detection.redact import Redactor
from uet_engine.execution.writer import RunWriter
from uet_engine.states import FINAL_STATUSES

EXECUTION_LOG_HOOK = "uet:execution-log"


class Observers:
    """The hooks of one run (the built-in ones first) and the writer whose records they observe."""

    def __init__(
        self,
        writer: RunWriter,
        hooks: Sequence[NamedHook] = (),
        budget_s: float = DEFAULT_BUDGET_S,
        redact: Redactor | None = None,
    ) -> None:
        self.writer = writer
        self.redact = redact or Redactor(None)
        builtin = NamedHook(EXECUTION_LOG_HOOK, ExecutionLogHook(writer.execution_log), inline=True)
        self.hooks = HookSet([builtin, *hooks], writer.run_id, budget_s)

    def _tell(self, method: HookMethod, *args: object) -> None:
        for failure in self.hooks.call(method, *args):
            self.error(failure)

    def changed(self, record: RunRecord) -> None:
        """A status change the writer made durable: a workstream started, or reached its final status."""
        if record.status == "running":
            self._tell("on_run_start", record)
        elif record.status in FINAL_STATUSES:
            self._tell("on_run_end", record)

    def attempt(self, attempt: StepAttempt) -> None:
        """Write a try (started or ended), then tell the hooks."""
        self.writer.attempt(attempt)
        if attempt.result is None:
            self._tell("on_task_start", attempt.request)
        else:
            self._tell("on_task_complete", attempt.request, attempt.result)

    def error(self, event: ErrorEvent) -> ErrorEvent:
        """Write an error event (its message redacted: a hook's or plugin's exception may quote a secret), then
        tell the hooks; the event as written (with its fingerprint)."""
        message = self.redact(event.message)
        written = self.writer.error(event if message == event.message else replace(event, message=message))
        self._tell("on_error", written)
        return written

    def written(self, events: Sequence[ErrorEvent]) -> None:
        """Tell the hooks of error events the writer wrote on its own (a patch that did not apply)."""
        for event in events:
            self._tell("on_error", event)
