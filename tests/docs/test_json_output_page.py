"""docs/json-output.md tells the truth: each command's keys are the keys it prints, and the examples parse.

The documented keys are read from the first column of each section's table; the real keys from the
commands themselves, run on real files and a real store in every mode that adds keys (``-o``, ``--check``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from tests.uet_engine.phase_specs import spec, write
from tests.uet_engine.run_records import RUN, record, succeed
from uet_contracts import ErrorEvent
from uet_engine.saving.error_log import ErrorLog
from uet_engine.saving.store import RunStore

PAGE = REPO_ROOT / "docs" / "json-output.md"
ERROR = uet_contracts.loads(
    json.dumps(
        {
            "timestamp": "2026-11-25T10:15:00Z",
            "run_id": RUN,
            "workstream_id": "ws-a",
            "error_type": "step_failed",
            "error_code": "UET-E101",
            "message": "step/0 (sh) failed: exit code 1, expected 0",
            "severity": "error",
        }
    ),
    ErrorEvent,
    format="json",
)


def sections() -> dict[str, str]:
    """``{"uet validate --json": section text}``, one per ``## `uet …` `` heading."""
    parts = re.split(r"^## `([^`]+)`\n", PAGE.read_text(encoding="utf-8"), flags=re.M)
    return {re.sub(r" [A-Z_]+", "", title): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def documented_keys(body: str) -> set[str]:
    rows = re.findall(r"^\| (`.+?`) \|", body, re.M)
    return {key.strip("` ") for row in rows for key in row.split(",") if key.strip("` ") != "Key"}


def run(cwd: Path, *args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "uet_engine", *args], cwd=cwd, capture_output=True, text=True)
    return json.loads(done.stdout)


def real_keys(tmp_path: Path) -> dict[str, set[str]]:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    write(tmp_path / "bad", {**spec("PH-01"), "workstream_id": "ws-Bad"})
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a")])
        succeed(store, RUN, "ws-a")
    released = str(REPO_ROOT / "schemas" / "released" / "v1.0.0")
    plan = [
        run(tmp_path, "plan", "phases", "--json"),
        run(tmp_path, "plan", "phases", "-o", "dag.json", "--json"),
        run(tmp_path, "plan", "phases", "--check", "dag.json", "--json"),
    ]
    with ErrorLog(tmp_path) as log:
        log.append(ERROR)
    fingerprint = run(tmp_path, "errors", "list", "--json")[0]["fingerprint"]
    plan_file = REPO_ROOT / "tests" / "uet_engine" / "planning" / "importing" / "data" / "v3" / "PH-09.yaml"
    return {
        "uet validate --json": set(run(tmp_path, "validate", "bad", "--json")),
        "uet runs logs --json": set().union(*run(tmp_path, "runs", "logs", RUN, "--json")),
        "uet errors list --json": set().union(*run(tmp_path, "errors", "list", "--json")),
        "uet errors show --json": set(run(tmp_path, "errors", "show", fingerprint, "--json")),
        "uet patterns list --json": set(run(tmp_path, "patterns", "list", "--json")),
        "uet templates list --json": set(run(tmp_path, "templates", "list", "--json")),
        "uet import… -o --json": set(run(tmp_path, "import", str(plan_file), "-o", "out", "--dry-run", "--json")),
        "uet plan --json": set().union(*plan),
        "uet runs list --json": set().union(*run(tmp_path, "runs", "list", "--json")),
        "uet runs show --json": set(run(tmp_path, "runs", "show", RUN, "--json")),
        "uet runs verify --json": set(run(tmp_path, "runs", "verify", "--json")),
        "uet schema diff --json": set(run(tmp_path, "schema", "diff", released, released, "--json")),
    }


def test_every_documented_shape_has_the_keys_the_command_prints(tmp_path: Path) -> None:
    documented = {title: documented_keys(body) for title, body in sections().items()}
    assert documented == real_keys(tmp_path)


def test_the_examples_on_the_page_are_json_with_documented_keys() -> None:
    for title, body in sections().items():
        for block in re.findall(r"^```json\n(.*?)^```$", body, re.M | re.S):
            example = json.loads(block)
            keys = set().union(*example) if isinstance(example, list) else set(example)
            assert keys <= documented_keys(body), title
