"""Which generated type belongs to which canonical schema file, and the ``--kind`` names of each."""

from __future__ import annotations

from dataclasses import dataclass

from uet_contracts.models.anti_pattern_schema import AntiPattern
from uet_contracts.models.audit_event_schema import AuditEvent
from uet_contracts.models.dag_snapshot_schema import DagSnapshot
from uet_contracts.models.error_event_schema import ErrorEvent
from uet_contracts.models.execution_log_schema import ExecutionLog
from uet_contracts.models.execution_request_schema import ExecutionRequest
from uet_contracts.models.execution_result_schema import ExecutionResult
from uet_contracts.models.patch_ledger_entry_schema import PatchLedgerEntry
from uet_contracts.models.pattern_candidate_schema import PatternCandidate
from uet_contracts.models.phase_spec_schema import PhaseSpec
from uet_contracts.models.run_event_schema import RunEvent
from uet_contracts.models.run_record_schema import RunRecord
from uet_contracts.models.step_attempt_schema import StepAttempt


@dataclass(frozen=True, slots=True)
class Contract:
    """One contract: its kind name (``phase_spec``), generated type and canonical schema file."""

    kind: str
    type: type
    file: str


CONTRACTS: tuple[Contract, ...] = tuple(
    Contract(file.removesuffix(".schema.json"), cls, file)
    for cls, file in (
        (PhaseSpec, "phase_spec.schema.json"),
        (DagSnapshot, "dag_snapshot.schema.json"),
        (ExecutionRequest, "execution_request.schema.json"),
        (ExecutionResult, "execution_result.schema.json"),
        (RunRecord, "run_record.schema.json"),
        (StepAttempt, "step_attempt.schema.json"),
        (RunEvent, "run_event.schema.json"),
        (PatchLedgerEntry, "patch_ledger_entry.schema.json"),
        (AuditEvent, "audit_event.schema.json"),
        (ErrorEvent, "error_event.schema.json"),
        (ExecutionLog, "execution_log.schema.json"),
        (PatternCandidate, "pattern_candidate.schema.json"),
        (AntiPattern, "anti_pattern.schema.json"),
    )
)

_BY_TYPE = {c.type: c for c in CONTRACTS}
_BY_NAME = {**{c.kind: c for c in CONTRACTS}, **{c.type.__name__.lower(): c for c in CONTRACTS}}


def contract_for(cls: type) -> Contract:
    """The contract of a generated top-level type; ``TypeError`` for anything else."""
    try:
        return _BY_TYPE[cls]
    except (KeyError, TypeError):
        names = ", ".join(c.type.__name__ for c in CONTRACTS)
        raise TypeError(f"{cls!r} is not a contract type; expected one of {names}") from None


def contract_named(name: str) -> Contract:
    """A contract by kind (``phase_spec``, ``phase-spec``) or type name (``PhaseSpec``)."""
    key = name.strip().replace("-", "_").lower()
    found = _BY_NAME.get(key) or _BY_NAME.get(key.replace("_", ""))
    if found is None:
        kinds = ", ".join(c.kind for c in CONTRACTS)
        raise KeyError(f"unknown contract kind {name!r}; choose one of: {kinds}")
    return found
