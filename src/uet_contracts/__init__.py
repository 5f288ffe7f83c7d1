"""uet_contracts: the UET pipeline's hand-off contracts as JSON Schemas and typed dataclasses.

Public surface (everything else is private and may change):

- the contract types: ``PhaseSpec``, ``DagSnapshot``, ``ModuleManifest``, ``ModuleTasks``,
  ``ExecutionRequest``, ``ExecutionResult``, ``RunRecord``, ``StepAttempt``, ``RunEvent``,
  ``PatchLedgerEntry``, ``AuditEvent``, ``ErrorEvent``, ``ExecutionLog``, ``PatternCandidate``,
  ``AntiPattern``, ``RepoConfig``, ``PatternIndex``, ``PhaseTemplate``, ``VerificationTemplate`` and their
  nested types;
- the schemas' named enums as ``Literal`` aliases (``RunStatus``, ``Runner``, ``RunEventType``,
  ``AuditOutcome``, ``ErrorType``, ``DagType``) and ``ErrorCode``, so code that handles these values is
  type-checked against the schema, and ``typing.get_args`` gives the values without a copy of the list;
- ``load``, ``loads``, ``validate``, ``check``, ``to_dict``, ``to_json``, ``schema``, ``check_file``;
- ``check_text`` (the parsed data and its problems, never raising: for tools that batch files);
- ``contract_files`` (the contract files below a folder, sorted);
- ``read_text`` and ``format_of`` (read a contract file as ``load`` does, telling unreadable from invalid),
  ``parse`` (the plain data of such a text, read as strictly as ``load`` reads it, not checked against any
  contract: for tools that read other formats) and ``locate`` (line and column of a JSON path in a file's
  text, for problems found after loading);
- ``ContractError`` (a ``ValueError``) and ``Problem``, the entries of its ``errors``;
- ``CONTRACTS`` and ``contract_named`` to look contracts up by kind.

Two public submodules are not imported here, so ``import uet_contracts`` stays light:
``uet_contracts.evolution`` (``diff_paths`` & co., the schema-compatibility classifier behind
``uet schema diff``) and ``uet_contracts.hooks`` (the ``uet-check-phase-specs`` pre-commit entry point).
Every other submodule (``api``, ``parsing``, ``validation``, ``conversion``, ``contracts``, ``errors``,
``models``, ``_resources``) is private: import its public names from the package root.
"""

from typing import TYPE_CHECKING, Any

from uet_contracts.contracts import CONTRACTS, Contract, contract_for, contract_named
from uet_contracts.errors import ContractError, Problem

if TYPE_CHECKING:
    from uet_contracts.api import (
        check,
        check_file,
        check_text,
        contract_files,
        format_of,
        load,
        loads,
        read_text,
        schema,
        to_dict,
        to_json,
        validate,
    )
    from uet_contracts.parsing import locate, parse
if TYPE_CHECKING:
    from uet_contracts.models.anti_pattern_schema import AntiPattern
    from uet_contracts.models.audit_event_schema import AuditEvent, AuditOutcome
    from uet_contracts.models.common_schema import (
        Acceptance,
        AcceptanceCheck,
        AcceptanceCommand,
        FileScope,
        PreFlightCheck,
        Retry,
        Runner,
        RunStatus,
        Step,
        TemplateParameter,
        ToolProfileId,
        Tools,
        VerificationRef,
    )
    from uet_contracts.models.dag_snapshot_schema import DagSnapshot, DagType
    from uet_contracts.models.error_event_schema import ErrorCategory, ErrorCode, ErrorEvent, ErrorType
    from uet_contracts.models.execution_log_schema import ExecutionLog
    from uet_contracts.models.execution_request_schema import ExecutionRequest
    from uet_contracts.models.execution_result_schema import ExecutionResult
    from uet_contracts.models.module_manifest_schema import ModuleManifest
    from uet_contracts.models.module_tasks_schema import ModuleTasks, TaskGraph
    from uet_contracts.models.patch_ledger_entry_schema import PatchLedgerEntry
    from uet_contracts.models.pattern_candidate_schema import PatternCandidate
    from uet_contracts.models.pattern_index_schema import PatternEntry, PatternIndex, PatternPaths, PatternStatus
    from uet_contracts.models.phase_spec_schema import OnFailure, PhaseSpec
    from uet_contracts.models.phase_template_schema import PhaseTemplate
    from uet_contracts.models.repo_config_schema import DurabilityMode, RepoConfig, SandboxMode, ToolProfile
    from uet_contracts.models.run_event_schema import RunEvent, RunEventType
    from uet_contracts.models.run_record_schema import RunRecord, SandboxMechanism
    from uet_contracts.models.step_attempt_schema import StepAttempt
    from uet_contracts.models.verification_template_schema import VerificationTemplate

# The generated types are imported when first asked for (PEP 562), so a tool that needs one contract
# (``uet validate``, a pre-commit hook) does not pay for all of them. Type checkers see the imports above.
_SHARED_TYPES = (
    "Acceptance",
    "AcceptanceCheck",
    "AcceptanceCommand",
    "FileScope",
    "PreFlightCheck",
    "Retry",
    "Runner",
    "RunStatus",
    "Step",
    "ToolProfileId",
    "TemplateParameter",
    "Tools",
    "VerificationRef",
)
# Types a contract defines in its own ``$defs`` (used by that contract only), by the contract's kind.
_CONTRACT_TYPES = {
    "audit_event": ("AuditOutcome",),
    "dag_snapshot": ("DagType",),
    "error_event": ("ErrorCategory", "ErrorCode", "ErrorType"),
    "repo_config": ("DurabilityMode", "SandboxMode", "ToolProfile"),
    "module_tasks": ("TaskGraph",),
    "phase_spec": ("OnFailure",),
    "pattern_index": ("PatternEntry", "PatternPaths", "PatternStatus"),
    "run_event": ("RunEventType",),
    "run_record": ("SandboxMechanism",),
}
# The functions too: ``api`` imports the parser (PyYAML, about 15 ms) and the validator, which a tool that
# only looks contracts up or names their types (``uet runs list``) never calls.
_API = ("check", "check_file", "check_text", "contract_files", "format_of", "load", "loads", "read_text", "schema")
_LAZY_MODULES = {
    **dict.fromkeys((*_API, "to_dict", "to_json", "validate"), "uet_contracts.api"),
    **dict.fromkeys(("locate", "parse"), "uet_contracts.parsing"),
    **{c.type_name: f"uet_contracts.models.{c.kind}_schema" for c in CONTRACTS},
    **dict.fromkeys(_SHARED_TYPES, "uet_contracts.models.common_schema"),
    **{name: f"uet_contracts.models.{kind}_schema" for kind, names in _CONTRACT_TYPES.items() for name in names},
}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'uet_contracts' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CONTRACTS",
    "Acceptance",
    "AcceptanceCheck",
    "AcceptanceCommand",
    "AntiPattern",
    "AuditEvent",
    "AuditOutcome",
    "Contract",
    "ContractError",
    "DagSnapshot",
    "DagType",
    "DurabilityMode",
    "ErrorCategory",
    "ErrorCode",
    "ErrorEvent",
    "ErrorType",
    "ExecutionLog",
    "ExecutionRequest",
    "ExecutionResult",
    "FileScope",
    "ModuleManifest",
    "ModuleTasks",
    "OnFailure",
    "PatchLedgerEntry",
    "PatternCandidate",
    "PatternEntry",
    "PatternIndex",
    "PatternPaths",
    "PatternStatus",
    "PhaseSpec",
    "PhaseTemplate",
    "PreFlightCheck",
    "Problem",
    "RepoConfig",
    "Retry",
    "RunEvent",
    "RunEventType",
    "RunRecord",
    "RunStatus",
    "Runner",
    "SandboxMechanism",
    "SandboxMode",
    "Step",
    "StepAttempt",
    "TaskGraph",
    "TemplateParameter",
    "ToolProfile",
    "ToolProfileId",
    "Tools",
    "VerificationRef",
    "VerificationTemplate",
    "check",
    "check_file",
    "check_text",
    "contract_files",
    "contract_for",
    "contract_named",
    "format_of",
    "load",
    "loads",
    "locate",
    "parse",
    "read_text",
    "schema",
    "to_dict",
    "to_json",
    "validate",
]
