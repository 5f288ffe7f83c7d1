"""``--json`` on every reporting command: one JSON document alone on stdout, exit codes unchanged, records valid.

Each command runs as a real process; stdout is parsed as one document (anything else there fails the
parse), and records that are contracts are validated against their schemas.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.uet_engine.phase_specs import spec, write
from tests.uet_engine.run_records import RUN, RUN2
from uet_contracts import ErrorEvent, PatchLedgerEntry, Problem, RunEvent, RunRecord, StepAttempt
from uet_engine.cli.output import problem_json
from uet_engine.saving.store import RunStore, store_path

PROBLEM_KEYS = ["filename", "line", "column", "path", "message"]


def uet_json(cwd: Path, *args: str) -> tuple[int, Any, str]:
    """(exit code, the parsed stdout, stderr) of ``python -m uet_engine ARGS``."""
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout), done.stderr


def test_a_problem_has_the_same_shape_everywhere() -> None:
    located = Problem("bad", "$.a", "x.yaml", 3, 7)
    assert problem_json(located) == {"filename": "x.yaml", "line": 3, "column": 7, "path": "$.a", "message": "bad"}
    assert problem_json(Problem("bad", "$", "x.yaml", 3, None))["column"] == 1
    assert problem_json(Problem("bad")) == {
        "filename": None,
        "line": None,
        "column": None,
        "path": "$",
        "message": "bad",
    }


# -- uet validate --------------------------------------------------------------------------------------------


def test_validate_json_of_valid_files(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    code, report, stderr = uet_json(tmp_path, "validate", "phases", "--json")
    assert code == 0
    assert report == {
        "status": "ok",
        "kind": "phase_spec",
        "checked": 4,
        "valid": 4,
        "invalid": 0,
        "errors": [],
        "parse_errors": [],
    }
    assert stderr == "4 file(s) checked as phase_spec: 4 valid, 0 invalid\n"


def test_validate_json_reports_every_problem_with_its_place(tmp_path: Path) -> None:
    bad = spec("PH-01")
    bad["workstream_id"] = "ws-Bad"
    del bad["title"]
    write(tmp_path, bad, spec("PH-02"))
    code, report, _ = uet_json(tmp_path, "validate", "PH-01.yaml", "PH-02.yaml", "missing.yaml", "--json")
    assert code == 2  # an unreadable path wins, as in the text output
    assert (report["status"], report["checked"], report["valid"], report["invalid"]) == ("fail", 2, 1, 1)
    assert [list(error) for error in report["errors"]] == [PROBLEM_KEYS, PROBLEM_KEYS]
    assert [(e["filename"], e["line"], e["path"]) for e in report["errors"]] == [
        ("PH-01.yaml", 1, "$.title"),
        ("PH-01.yaml", 2, "$.workstream_id"),
    ]
    assert report["errors"][0]["message"] == "missing required field 'title'"
    assert report["parse_errors"] == [{"filename": "missing.yaml", "message": "no such file"}]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX's: run this test on Linux or macOS")
def test_validate_json_puts_a_file_that_is_not_regular_among_the_parse_errors(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-01"))
    os.mkfifo(tmp_path / "PH-02.yaml")
    code, report, stderr = uet_json(tmp_path, "validate", "PH-01.yaml", "PH-02.yaml", "--json")
    assert code == 2
    assert (report["status"], report["checked"], report["valid"], report["invalid"]) == ("fail", 1, 1, 0)
    assert report["errors"] == []
    assert report["parse_errors"] == [
        {"filename": "PH-02.yaml", "message": "is a FIFO (named pipe), not a regular file: only regular files are read"}
    ]
    assert stderr == "1 file(s) checked as phase_spec: 1 valid, 0 invalid, 1 unreadable\n"


def test_validate_json_matches_the_text_lines(tmp_path: Path) -> None:
    bad = spec("PH-01")
    bad["file_scope"]["create"] = ["/abs", "../up"]
    write(tmp_path, bad)
    text = subprocess.run(
        [sys.executable, "-m", "uet_engine", "validate", "PH-01.yaml"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.splitlines()
    code, report, _ = uet_json(tmp_path, "validate", "PH-01.yaml", "--json")
    assert code == 1
    formatted = [
        Problem(e["message"], e["path"], e["filename"], e["line"], e["column"]).format() for e in report["errors"]
    ]
    assert formatted == text


# -- uet plan ------------------------------------------------------------------------------------------------


def test_plan_json_holds_the_snapshot(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    code, report, stderr = uet_json(tmp_path, "plan", "phases", "--json")
    assert code == 0
    assert list(report) == ["status", "problems", "warnings", "snapshot"]
    assert (report["status"], report["problems"], report["warnings"]) == ("ok", [], [])
    uet_contracts.validate(report["snapshot"], uet_contracts.DagSnapshot)
    assert report["snapshot"]["critical_path"] == ["PH-00", "PH-01A", "PH-02"]
    assert stderr.startswith("uet plan: 4 phase(s)")


def test_plan_json_reports_problems_and_warnings(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", ["PH-09"]), spec("PH-02", ["PH-03"]), spec("PH-03", ["PH-02"]))
    code, report, _ = uet_json(tmp_path, "plan", "phases", "--json")
    assert code == 1
    assert (report["status"], list(report)) == ("fail", ["status", "problems", "warnings"])
    assert all(list(problem) == PROBLEM_KEYS for problem in report["problems"])
    messages = [p["message"] for p in report["problems"]]
    assert any("PH-09" in m for m in messages) and any("cycle" in m for m in messages)
    assert not (tmp_path / "dag.json").exists()


def test_plan_json_with_output_and_check(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    code, report, _ = uet_json(tmp_path, "plan", "phases", "-o", "dag.json", "--json")
    assert (code, report) == (0, {"status": "ok", "problems": [], "warnings": [], "output": "dag.json"})
    code, report, _ = uet_json(tmp_path, "plan", "phases", "--check", "dag.json", "--json")
    assert (code, report["status"], report["differences"]) == (0, "ok", [])
    write(tmp_path / "phases", spec("PH-03", ["PH-02"]))
    code, report, _ = uet_json(tmp_path, "plan", "phases", "--check", "dag.json", "--json")
    assert (code, report["status"], report["check"]) == (1, "fail", "dag.json")
    assert [d["path"] for d in report["differences"]][:2] == ["$.nodes", "$.edges"]


def test_plan_json_cannot_print_a_diagram(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "plan", "phases", "--json", "--format", "dot"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "uet plan: --json reports in JSON; it cannot print a dot diagram\n"


# -- uet runs ------------------------------------------------------------------------------------------------


def test_runs_list_json(repo: Path) -> None:
    code, runs, stderr = uet_json(repo, "runs", "list", "--json")
    assert (code, stderr) == (0, "")
    assert runs == [
        {"run_id": RUN2, "started_at": "2026-11-25T10:15:00Z", "workstreams": {"running": 1}},
        {"run_id": RUN, "started_at": "2026-11-25T10:15:00Z", "workstreams": {"succeeded": 1, "skipped": 1}},
    ]


def test_runs_list_json_of_an_empty_store(tmp_path: Path) -> None:
    RunStore.open(tmp_path).close()
    assert uet_json(tmp_path, "runs", "list", "--json")[:2] == (0, [])


def test_runs_show_json_records_are_valid_contracts(repo: Path) -> None:
    code, document, _ = uet_json(repo, "runs", "show", "latest", "--json")
    assert (code, document["run_id"]) == (0, RUN2)
    code, document, _ = uet_json(repo, "runs", "show", RUN, "--json")
    assert code == 0
    contracts = {
        "records": RunRecord,
        "attempts": StepAttempt,
        "events": RunEvent,
        "patches": PatchLedgerEntry,
        "errors": ErrorEvent,
    }
    assert sorted(document) == sorted([*contracts, "run_id"])
    for key, contract in contracts.items():
        for item in document[key]:
            uet_contracts.validate(item, contract)
    assert [len(document[key]) for key in contracts] == [2, 1, 6, 1, 0]


def test_runs_verify_json(repo: Path) -> None:
    assert uet_json(repo, "runs", "verify", "--json")[:2] == (0, {"status": "ok", "breaches": []})
    (repo / ".ledger" / "patches" / f"ws-a-{RUN}.patch").unlink()
    with sqlite3.connect(store_path(repo)) as db:
        db.execute("UPDATE uet_runs SET status = 'failed' WHERE run_id = ? AND workstream_id = 'ws-b'", (RUN,))
    code, report, _ = uet_json(repo, "runs", "verify", "--json")
    assert code == 1
    assert report == {
        "status": "fail",
        "breaches": [
            {
                "run_id": RUN,
                "workstream_id": "ws-b",
                "message": "uet_runs[2]: column status is 'failed' but the record says 'skipped'",
            },
            {
                "run_id": RUN,
                "workstream_id": "ws-a",
                "message": f"patch file .ledger/patches/ws-a-{RUN}.patch is missing",
            },
        ],
    }


# -- uet schema diff -----------------------------------------------------------------------------------------


def test_schema_diff_json(tmp_path: Path) -> None:
    old = REPO_ROOT / "schemas" / "released" / "v1.0.0"
    new = shutil.copytree(old, tmp_path / "v1")
    schema = json.loads((new / "run_event.schema.json").read_text(encoding="utf-8"))
    schema["required"].append("workstream_id")
    (new / "run_event.schema.json").write_text(json.dumps(schema), encoding="utf-8")
    code, report, _ = uet_json(tmp_path, "schema", "diff", str(old), str(new), "--json")
    assert code == 1
    assert report["status"] == "fail"
    assert [(c["pointer"], c["verdict"]) for c in report["changes"]] == [("/properties/workstream_id", "breaking")]
    assert list(report["changes"][0]) == ["file", "pointer", "verdict", "message"]
    same = uet_json(tmp_path, "schema", "diff", str(old), str(old), "--json")
    assert same[:2] == (0, {"status": "ok", "changes": []})
