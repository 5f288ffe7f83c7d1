"""``uet schema diff`` and ``uet schema show`` as real processes: exact lines, summaries and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

V1 = REPO_ROOT / "schemas" / "v1"
RELEASED_V1 = REPO_ROOT / "schemas" / "released" / "v1.0.0"


def uet(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "uet_engine", *map(str, args)], capture_output=True, text=True, check=False
    )


def edit(path: Path, change: dict[str, object], *pointer: str) -> None:
    """Update the object at ``pointer`` inside the JSON file with ``change`` (a None value deletes a key)."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    node = doc
    for token in pointer:
        node = node[token]
    for key, value in change.items():
        if value is None:
            del node[key]
        else:
            node[key] = value
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")


@pytest.fixture
def candidate(tmp_path: Path) -> Path:
    """A copy of the current v1 schemas to change."""
    return Path(shutil.copytree(V1, tmp_path / "v1"))


# What changed in schemas/v1 since v1.0.0, every change compatible: the inline enums (and the error code's
# pattern) that became named definitions, so codegen emits Literal aliases the engine types its tables with.
# Changes since the release that must be listed, each as compatible. The list of every change grows with each
# compatible addition to v1, so the test pins these and requires every other line to be compatible too.
CHANGES_SINCE_V1_0_0 = [
    'audit_event.schema.json#/$defs/AuditOutcome: compatible: definition "AuditOutcome" added',
    'audit_event.schema.json#/properties/outcome: compatible: inline schema replaced by $ref "#/$defs/AuditOutcome" '
    "(compared with what it resolves to)",
    'error_event.schema.json#/$defs/ErrorCode: compatible: definition "ErrorCode" added',
    'error_event.schema.json#/$defs/ErrorType: compatible: definition "ErrorType" added',
    'error_event.schema.json#/properties/error_code: compatible: inline schema replaced by $ref "#/$defs/ErrorCode" '
    "(compared with what it resolves to)",
    'error_event.schema.json#/properties/error_type: compatible: inline schema replaced by $ref "#/$defs/ErrorType" '
    "(compared with what it resolves to)",
    'error_event.schema.json#/properties/fingerprint: compatible: optional property "fingerprint" added',
    'common.schema.json#/$defs/OperationKind/pattern: compatible: pattern widened: "^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$" '
    "kept as the first alternative",
    "common.schema.json#/$defs/Step/properties/tool/anyOf: compatible: schema became the first anyOf branch, 1 added "
    "beside it",
    'phase_spec.schema.json#/properties/external_depends_on: compatible: optional property "external_depends_on" added',
    "repo_config.schema.json#: compatible: schema file added",
    'run_event.schema.json#/$defs/RunEventType: compatible: definition "RunEventType" added',
    'run_event.schema.json#/properties/event_type: compatible: inline schema replaced by $ref "#/$defs/RunEventType" '
    "(compared with what it resolves to)",
    # hooks, error plugins, retries and fix loops
    'common.schema.json#/$defs/Retry: compatible: definition "Retry" added',
    'common.schema.json#/$defs/Step/properties/retry: compatible: optional property "retry" added',
    'common.schema.json#/$defs/AcceptanceCommand/properties/retry: compatible: optional property "retry" added',
    'phase_spec.schema.json#/$defs/OnFailure: compatible: definition "OnFailure" added',
    'phase_spec.schema.json#/properties/on_failure: compatible: optional property "on_failure" added',
    'step_attempt.schema.json#/properties/kind/enum: compatible: enum widened: added "fix", "pre_flight"',
    'error_event.schema.json#/properties/workstream_id: compatible: property "workstream_id" is no longer required',
    'error_event.schema.json#/properties/error_type/enum: compatible: enum widened: added "artifact_missing", '
    '"environment", "fix_loop_stopped", "hook_failed", "hook_timeout", "plugin_failed", "preflight_failed", '
    '"secret_leak" (via #/$defs/ErrorType)',
    # the sandbox, tamper evidence and counts
    'phase_spec.schema.json#/properties/no_network: compatible: optional property "no_network" added',
    'run_event.schema.json#/properties/prev_sha256: compatible: optional property "prev_sha256" added',
    'run_record.schema.json#/$defs/SandboxMechanism: compatible: definition "SandboxMechanism" added',
    'run_record.schema.json#/properties/check_count: compatible: optional property "check_count" added',
    'run_record.schema.json#/properties/network: compatible: optional property "network" added',
    'run_record.schema.json#/properties/sandbox: compatible: optional property "sandbox" added',
    'run_record.schema.json#/properties/step_count: compatible: optional property "step_count" added',
]


def test_released_v1_against_current_v1_is_compatible() -> None:
    """The check ``nox -s compat`` runs: it exits 0 and lists each change as compatible."""
    done = uet("schema", "diff", RELEASED_V1, V1)
    lines = done.stdout.splitlines()
    assert set(CHANGES_SINCE_V1_0_0) <= set(lines)
    assert [line for line in lines if ": compatible: " not in line] == []
    places = [line.split(": ", 1)[0] for line in lines]  # FILE#POINTER, the order changes are listed in
    assert places == sorted(places)
    count = len(lines)
    assert done.stderr == f"{count} change(s): {count} compatible, 0 breaking, 0 unclassified\n"
    assert done.returncode == 0


def test_compatible_changes_exit_0(candidate: Path) -> None:
    edit(candidate / "phase_spec.schema.json", {"maxLength": 300}, "properties", "title")
    edit(candidate / "phase_spec.schema.json", {"description": "Short title."}, "properties", "title")
    done = uet("schema", "diff", V1, candidate)
    assert done.stdout.splitlines() == [
        "phase_spec.schema.json#/properties/title/description: compatible: description changed (docs only)",
        "phase_spec.schema.json#/properties/title/maxLength: compatible: maxLength loosened from 200 to 300",
    ]
    assert done.stderr == "2 change(s): 2 compatible, 0 breaking, 0 unclassified\n"
    assert done.returncode == 0


def test_breaking_change_in_common_names_every_contract_that_uses_it(candidate: Path) -> None:
    edit(candidate / "common.schema.json", {"pattern": "^ws-[a-z0-9-]{1,64}$"}, "$defs", "WorkstreamId")
    done = uet("schema", "diff", V1, candidate)
    old, new = '"^ws-[a-z0-9][a-z0-9-]{0,127}$"', '"^ws-[a-z0-9-]{1,64}$"'
    change = f"breaking: pattern changed from {old} to {new}"
    via = " (via common.schema.json#/$defs/WorkstreamId)"
    assert done.stdout.splitlines() == [
        f"audit_event.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"common.schema.json#/$defs/WorkstreamId/pattern: {change}",
        f"error_event.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"execution_request.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"module_tasks.schema.json#/$defs/TaskGraph/properties/workstream_id/pattern: {change}{via}",
        f"module_tasks.schema.json#/properties/workstreams/items/properties/workstream_id/pattern: {change}{via}",
        f"patch_ledger_entry.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"phase_spec.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"run_event.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"run_record.schema.json#/properties/workstream_id/pattern: {change}{via}",
        f"step_attempt.schema.json#/properties/request/properties/workstream_id/pattern: {change}{via}",
        f"step_attempt.schema.json#/properties/workstream_id/pattern: {change}{via}",
    ]
    assert done.stderr == "12 change(s): 0 compatible, 12 breaking, 0 unclassified\n"
    assert done.returncode == 1


def test_unclassified_change_fails(candidate: Path) -> None:
    edit(candidate / "phase_spec.schema.json", {"if": {"required": ["status"]}, "then": {"required": ["tags"]}})
    done = uet("schema", "diff", V1 / "phase_spec.schema.json", candidate / "phase_spec.schema.json")
    assert done.stdout.splitlines() == [
        'phase_spec.schema.json#/if: unclassified: keyword "if" added; no rule classifies it',
        'phase_spec.schema.json#/then: unclassified: keyword "then" added; no rule classifies it',
    ]
    assert done.stderr == "2 change(s): 0 compatible, 0 breaking, 2 unclassified\n"
    assert done.returncode == 1


def test_files_removed_and_added(candidate: Path) -> None:
    (candidate / "anti_pattern.schema.json").unlink()
    done = uet("schema", "diff", V1, candidate)
    assert (done.returncode, done.stdout) == (1, "anti_pattern.schema.json#: breaking: schema file removed\n")
    done = uet("schema", "diff", candidate, V1)
    assert (done.returncode, done.stdout) == (0, "anti_pattern.schema.json#: compatible: schema file added\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("{t}/nope", "{v1}"), "uet schema diff: {t}/nope: no such file or folder\n"),
        (
            ("{v1}/phase_spec.schema.json", "{v1}"),
            "uet schema diff: {v1}/phase_spec.schema.json and {v1}: "
            "give two schema files or two folders of schema files\n",
        ),
        (
            ("{t}/broken.json", "{v1}/phase_spec.schema.json"),
            "uet schema diff: {t}/broken.json:1:2: invalid JSON: Expecting property name enclosed in double quotes\n",
        ),
    ],
    ids=["missing", "file-vs-folder", "invalid-json"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: tuple[str, str], message: str) -> None:
    (tmp_path / "broken.json").write_text("{,}", encoding="utf-8")
    done = uet("schema", "diff", *(a.format(t=tmp_path, v1=V1) for a in args))
    assert (done.returncode, done.stdout, done.stderr) == (2, "", message.format(t=tmp_path, v1=V1))


def test_diff_needs_two_paths() -> None:
    done = uet("schema", "diff", V1)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "uet schema diff: error: the following arguments are required: NEW"


def test_diff_help_explains_verdicts_and_new_major_versions() -> None:
    done = uet("schema", "diff", "--help")
    assert done.returncode == 0
    assert "unclassified  a change no rule covers" in done.stdout
    assert "copy schemas/vX to a new major version folder (schemas/v2" in " ".join(done.stdout.split())


def test_show_prints_the_canonical_schema() -> None:
    done = uet("schema", "show", "phase-spec")
    assert done.returncode == 0
    assert json.loads(done.stdout) == json.loads((V1 / "phase_spec.schema.json").read_text(encoding="utf-8"))


def test_show_unknown_kind_exits_2() -> None:
    done = uet("schema", "show", "nope")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("uet schema show: unknown contract kind 'nope'; choose one of: phase_spec, ")


def test_path_prints_the_installed_self_contained_schema() -> None:
    done = uet("schema", "path", "PhaseSpec")
    assert (done.returncode, done.stderr) == (0, "")
    path = Path(done.stdout.strip())
    assert path.is_absolute() and path.name == "phase_spec.schema.json"
    bundle = json.loads(path.read_text(encoding="utf-8"))
    assert bundle["$id"] == json.loads((V1 / "phase_spec.schema.json").read_text(encoding="utf-8"))["$id"]
    assert '"$ref": "common.schema.json' not in path.read_text(encoding="utf-8")  # every reference inlined


def test_path_of_an_unknown_kind_exits_2() -> None:
    done = uet("schema", "path", "nope")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("uet schema path: unknown contract kind 'nope'")
