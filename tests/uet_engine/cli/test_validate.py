"""``python -m uet_engine validate`` as a real process: exact output lines, exit codes, no traceback.

Files are written into ``tmp_path`` and named relative to it (the process runs there), so every
expected line is the literal ``PATH:LINE:COL: JSON-PATH: message`` a user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_PHASES, EXAMPLES
from tests.uet_contracts.bad_inputs import CASES, PHASE, Case, locked, write
from uet_contracts import Problem


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: list[str]
    stderr: list[str]


def uet(cwd: Path, *args: str) -> Outcome:
    """Runs ``python -m uet_engine ARGS`` in ``cwd`` and checks that it never shows a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return Outcome(done.returncode, done.stdout.splitlines(), done.stderr.splitlines())


# One case of each family; the whole corpus runs through the library in tests/uet_contracts.
SUBSET = [
    "yaml-unclosed-flow-sequence",
    "yaml-tab-indent",
    "duplicate-nested-key",
    "alias-bomb",
    "merge-key-inline",
    "deep-nesting",
    "top-level-list",
    "empty-file",
    "non-utf8-bytes",
    "yaml11-on-where-boolean-expected",
    "json-nan",
    "json-duplicate-key",
    "two-unknown-nested-fields",
    "dotdot-path",
    "bad-date-time",
    "invalid-success-pattern-regex",
    "over-size-cap",
    "unsupported-suffix",
]
BY_ID = {case.id: case for case in CASES}


@pytest.mark.parametrize("case", [BY_ID[name] for name in SUBSET], ids=lambda case: case.id)
def test_an_invalid_file_prints_each_problem_and_exits_1(tmp_path: Path, case: Case) -> None:
    write(tmp_path, case)
    outcome = uet(tmp_path, "validate", "--kind", case.kind, case.name)
    assert outcome.stdout == [
        Problem(message, where, case.name, line, column).format() for line, column, where, message in case.problems
    ]
    assert outcome.stderr == [f"1 file(s) checked as {case.kind}: 0 valid, 1 invalid"]
    assert outcome.code == 1


def test_the_example_phases_are_valid_and_exit_0() -> None:
    outcome = uet(EXAMPLES, "validate", *(str(p.relative_to(EXAMPLES)) for p in EXAMPLE_PHASES))
    assert (outcome.code, outcome.stdout) == (0, [])
    assert outcome.stderr == ["4 file(s) checked as phase_spec: 4 valid, 0 invalid"]


def test_a_folder_is_searched_and_one_bad_file_makes_exit_1(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(EXAMPLES / "phases", specs)
    (specs / "nested").mkdir()
    (specs / "nested" / "PH-09.yml").write_text(PHASE + 'title: "Again"\n', encoding="utf-8")
    (specs / "notes.txt").write_text("not a contract", encoding="utf-8")
    outcome = uet(tmp_path, "validate", "specs")
    assert outcome.stdout == ["specs/nested/PH-09.yml:62:1: $.title: duplicate key 'title' (each key may appear once)"]
    assert outcome.stderr == ["5 file(s) checked as phase_spec: 4 valid, 1 invalid"]
    assert outcome.code == 1


def test_a_dag_snapshot_validates_with_kind(tmp_path: Path) -> None:
    for kind in ("dag_snapshot", "dag-snapshot", "DagSnapshot"):
        outcome = uet(EXAMPLES, "validate", "--kind", kind, "dag_snapshot.json")
        assert (outcome.code, outcome.stdout) == (0, [])
        assert outcome.stderr == ["1 file(s) checked as dag_snapshot: 1 valid, 0 invalid"]


def test_a_dag_snapshot_that_passes_its_schema_is_checked_as_a_graph(tmp_path: Path) -> None:
    """The 2-cycle, the edge from an unknown node and the level holding an unknown node the schema lets by."""
    cases = Path(__file__).parent.parent / "planning" / "integrity_cases"
    for name in ("two-cycle", "edge-from-unknown-node", "level-holds-unknown-node"):
        shutil.copy(cases / f"dag_snapshot-{name}.json", tmp_path / f"{name}.json")
    shutil.copy(EXAMPLES / "dag_snapshot.json", tmp_path / "good.json")
    outcome = uet(
        tmp_path,
        "validate",
        "--kind",
        "dag_snapshot",
        "two-cycle.json",
        "edge-from-unknown-node.json",
        "level-holds-unknown-node.json",
        "good.json",
    )
    assert outcome.stdout == [
        "two-cycle.json:13:14: $.edges['PH-00']: dependency cycle: PH-00 -> PH-01A -> PH-00 (each node depends on"
        " the next)",
        "two-cycle.json:40:5: $.critical_path[0]: the critical path starts at PH-00, which depends on PH-01A: not the"
        " whole chain",
        "edge-from-unknown-node.json:23:14: $.edges['PH-09']: edge from unknown node 'PH-09', which is not in nodes",
        "level-holds-unknown-node.json:27:7: $.topo_levels[0][1]: level 0 holds unknown node 'PH-05', which is not"
        " in nodes",
    ]
    assert outcome.stderr == ["4 file(s) checked as dag_snapshot: 1 valid, 3 invalid"]
    assert outcome.code == 1


def test_a_missing_file_is_unreadable_and_exits_2(tmp_path: Path) -> None:
    outcome = uet(tmp_path, "validate", "missing.yaml")
    assert outcome.stdout == ["missing.yaml: no such file"]
    assert outcome.stderr == ["0 file(s) checked as phase_spec: 0 valid, 0 invalid, 1 unreadable"]
    assert outcome.code == 2


def test_unreadable_beats_invalid_for_the_exit_code(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("- a\n", encoding="utf-8")
    outcome = uet(tmp_path, "validate", "bad.yaml", "missing.yaml")
    assert outcome.stdout == [
        "missing.yaml: no such file",
        "bad.yaml:1:1: $: expected a mapping of PhaseSpec fields at the top level, got array",
    ]
    assert outcome.stderr == ["1 file(s) checked as phase_spec: 0 valid, 1 invalid, 1 unreadable"]
    assert outcome.code == 2


def test_a_folder_without_contract_files_exits_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    outcome = uet(tmp_path, "validate", "empty")
    assert outcome.stdout == ["empty: no .yaml, .yml or .json files in this folder"]
    assert outcome.code == 2


def test_a_file_without_read_permission_exits_2(tmp_path: Path) -> None:
    with locked(tmp_path / "locked.yaml"):
        outcome = uet(tmp_path, "validate", "locked.yaml")
    assert outcome.stdout == ["locked.yaml: permission denied"]
    assert outcome.code == 2


def test_an_unknown_kind_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(PHASE, encoding="utf-8")
    outcome = uet(tmp_path, "validate", "--kind", "phase_plan", "x.yaml")
    assert outcome.stdout == []
    assert outcome.stderr == [
        "uet validate: unknown contract kind 'phase_plan'; choose one of: phase_spec, dag_snapshot, module_manifest, "
        "module_tasks, execution_request, execution_result, run_record, step_attempt, run_event, patch_ledger_entry, "
        "audit_event, error_event, execution_log, pattern_candidate, anti_pattern, repo_config, pattern_index, "
        "phase_template, verification_template"
    ]
    assert outcome.code == 2


def test_no_path_is_a_usage_error(tmp_path: Path) -> None:
    outcome = uet(tmp_path, "validate")
    assert outcome.stderr[-1] == "uet validate: error: the following arguments are required: PATH"
    assert outcome.code == 2


IMPORT_DATA = Path(__file__).parents[1] / "planning" / "importing" / "data"


def test_a_plan_for_uet_import_or_another_contract_is_named_in_one_line(tmp_path: Path) -> None:
    shutil.copy(IMPORT_DATA / "v3" / "PH-11.yaml", tmp_path / "plan.yaml")
    shutil.copy(IMPORT_DATA / "legacy" / "ws-api-auth.json", tmp_path / "ws.json")
    shutil.copy(EXAMPLES / "dag_snapshot.json", tmp_path / "dag.json")
    shutil.copy(IMPORT_DATA / "legacy" / "ws-core-state-store.json", tmp_path / "commented.json")
    (tmp_path / "broken.json").write_text('{"phase_id": "PH-1",,}')
    outcome = uet(tmp_path, "validate", "plan.yaml", "ws.json", "dag.json", "commented.json", "broken.json")
    assert outcome.code == 1
    assert outcome.stdout == [
        "plan.yaml:1:1: $: a template-V3 phase plan, not a PhaseSpec: convert it with `uet import plan.yaml -o DIR`",
        "ws.json:1:1: $: a legacy workstream JSON, not a PhaseSpec: convert it with `uet import ws.json -o DIR`",
        "dag.json:1:1: $: a DagSnapshot, not a PhaseSpec: validate it with --kind dag_snapshot",
        "commented.json:1:1: $: a legacy workstream JSON, not a PhaseSpec: convert it with `uet import commented.json"
        " -o DIR`",
        "broken.json:1:21: $: JSON syntax error: Expecting property name enclosed in double quotes",
    ]
    assert uet(tmp_path, "validate", "--kind", "dag_snapshot", "dag.json").code == 0


def test_did_you_mean_only_within_a_small_edit_distance(tmp_path: Path) -> None:
    text = PHASE.replace("objective:", "objectve:") + "tasks: [write it]\nextension: {}\n"
    (tmp_path / "typos.yaml").write_text(text)
    lines = uet(tmp_path, "validate", "typos.yaml").stdout
    assert any("unknown field 'objectve' (did you mean 'objective'?)" in line for line in lines)
    assert any("unknown field 'extension' (did you mean 'extensions'?)" in line for line in lines)
    assert any("unknown field 'tasks' (allowed: acceptance, bundle_id, depends_on," in line for line in lines)


HOSTILE = Path(__file__).parents[2] / "uet_contracts" / "hostile"
HOSTILE_CASES: dict[str, dict[str, Any]] = json.loads((HOSTILE / "expected.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("name", sorted(HOSTILE_CASES))
def test_the_hostile_corpus_gets_its_exit_code_and_message(tmp_path: Path, name: str) -> None:
    """Each file of tests/uet_contracts/hostile, or the special file its ``make`` names, through ``uet validate``."""
    case = HOSTILE_CASES[name]
    target = tmp_path / name
    make = case.get("make")
    listener = None
    if make is None:
        shutil.copyfile(HOSTILE / name, target)
    elif make == "fifo":
        os.mkfifo(target)
    elif make == "socket":
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(target))
    else:
        target.symlink_to(make.removeprefix("symlink:"))
    try:
        outcome = uet(tmp_path, "validate", name)
    finally:
        if listener is not None:
            listener.close()
    assert (outcome.code, outcome.stdout) == (case["exit"], case["stdout"])
    bad = "unreadable" if case["exit"] == 2 else "invalid"
    assert outcome.stderr[-1].endswith(f", 1 {bad}" if bad == "unreadable" else "0 valid, 1 invalid")


def test_the_graph_kinds_are_those_the_integrity_rules_check() -> None:
    from uet_contracts import contract_for
    from uet_engine.cli.validate import GRAPH_KINDS
    from uet_engine.planning import integrity

    assert {contract_for(cls).kind for cls in integrity.CHECKS} == GRAPH_KINDS


def test_checking_a_phase_spec_does_not_import_the_planning_stage() -> None:
    code = (
        "import sys; from uet_engine.cli import main; main(['validate', sys.argv[1]]);"
        "print(sorted(m for m in sys.modules if m.startswith('uet_engine.planning')))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE_PHASES[0])], capture_output=True, text=True)
    assert done.stdout.splitlines()[-1] == "['uet_engine.planning', 'uet_engine.planning.parallel']"
