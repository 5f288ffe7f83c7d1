"""Which generated type belongs to which canonical schema file, and the ``--kind`` names of each."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

from uet_contracts._resources import bundled_dir


@dataclass(frozen=True, slots=True)
class Contract:
    """One contract: its kind name (``phase_spec``), generated type name and canonical schema file.

    The generated type is imported on first use (``.type``), so looking a contract up — as
    ``uet validate`` does for one kind — does not import the modules of the others.
    """

    kind: str
    type_name: str

    @property
    def file(self) -> str:
        """The canonical schema file, e.g. ``phase_spec.schema.json``."""
        return f"{self.kind}.schema.json"

    @property
    def bundled_path(self) -> Path:
        """The installed self-contained copy of the schema (every ``$ref`` inlined): for editors and tools."""
        return bundled_dir() / self.file

    @property
    def type(self) -> type:
        """The generated dataclass, from ``uet_contracts.models.<kind>_schema``."""
        cls = _TYPES.get(self.kind)
        if cls is None:
            cls = _TYPES[self.kind] = getattr(import_module(f"uet_contracts.models.{self.kind}_schema"), self.type_name)
        return cls


_TYPES: dict[str, type] = {}  # kind -> generated class, filled on first use (records are written in hot loops)


CONTRACTS: tuple[Contract, ...] = tuple(
    Contract(kind, type_name)
    for kind, type_name in (
        ("phase_spec", "PhaseSpec"),
        ("dag_snapshot", "DagSnapshot"),
        ("module_manifest", "ModuleManifest"),
        ("module_tasks", "ModuleTasks"),
        ("execution_request", "ExecutionRequest"),
        ("execution_result", "ExecutionResult"),
        ("run_record", "RunRecord"),
        ("step_attempt", "StepAttempt"),
        ("run_event", "RunEvent"),
        ("patch_ledger_entry", "PatchLedgerEntry"),
        ("audit_event", "AuditEvent"),
        ("error_event", "ErrorEvent"),
        ("execution_log", "ExecutionLog"),
        ("pattern_candidate", "PatternCandidate"),
        ("anti_pattern", "AntiPattern"),
        ("repo_config", "RepoConfig"),
        ("pattern_index", "PatternIndex"),
        ("phase_template", "PhaseTemplate"),
        ("verification_template", "VerificationTemplate"),
    )
)

_BY_TYPE_NAME = {c.type_name: c for c in CONTRACTS}
_BY_NAME = {**{c.kind: c for c in CONTRACTS}, **{c.type_name.lower(): c for c in CONTRACTS}}


def contract_for(cls: type) -> Contract:
    """The contract of a generated top-level type; ``TypeError`` for anything else."""
    found = _BY_CLASS.get(cls)
    if found is not None:
        return found
    found = _BY_TYPE_NAME.get(getattr(cls, "__name__", ""))
    if found is None or found.type is not cls:
        names = ", ".join(c.type_name for c in CONTRACTS)
        raise TypeError(f"{cls!r} is not a contract type; expected one of {names}")
    _BY_CLASS[cls] = found
    return found


_BY_CLASS: dict[type, Contract] = {}  # filled by contract_for: every record write asks it, twice


def contract_named(name: str) -> Contract:
    """A contract by kind (``phase_spec``, ``phase-spec``) or type name (``PhaseSpec``)."""
    key = name.strip().replace("-", "_").lower()
    found = _BY_NAME.get(key) or _BY_NAME.get(key.replace("_", ""))
    if found is None:
        kinds = ", ".join(c.kind for c in CONTRACTS)
        raise KeyError(f"unknown contract kind {name!r}; choose one of: {kinds}")
    return found
