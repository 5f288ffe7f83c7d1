"""``uet import`` as a real process: exit codes, the report, what is written, and the flow a new user
follows (import → ``uet plan`` → ``uet run --dry-run``) on the sample sets of both formats."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

import uet_contracts
from tests.uet_engine.cli.test_run import make_repo, uet
from uet_contracts import PhaseSpec

DATA = Path(__file__).parents[1] / "planning" / "importing" / "data"


def _copy(tmp_path: Path, fmt: str) -> Path:
    target = tmp_path / "plans" / fmt
    shutil.copytree(DATA / fmt, target)
    return target


def test_exit_codes_report_and_written_files(tmp_path: Path) -> None:
    _copy(tmp_path, "v3")
    done = uet(tmp_path, "import", "plans/v3", "-o", "phases")
    assert done.code == 1  # three of the V3 files cannot be read
    assert (
        "plans/v3/PH-20.yaml: not convertible\n  plans/v3/PH-20.yaml:124:1: $: more than one YAML document"
        in done.stdout
    )
    assert done.stderr == (
        "uet import: 10 file(s): 6 converted, 1 converted with losses, 3 not convertible; wrote 7 spec(s) to phases;"
        " next: uet plan phases\n"
    )
    written = sorted(p.name for p in (tmp_path / "phases").iterdir())
    assert written == [
        "PH-09.yaml",
        "PH-10.yaml",
        "PH-11.yaml",
        "PH-12A.yaml",
        "PH-12B.yaml",
        "PH-13.yaml",
        "PH-14.yaml",
    ]
    for name in written:
        uet_contracts.load(tmp_path / "phases" / name, PhaseSpec)
    assert uet(tmp_path, "validate", "phases").code == 0


def test_all_converted_exits_0(tmp_path: Path) -> None:
    plans = _copy(tmp_path, "v3")
    for broken in ("PH-20.yaml", "PH-21.yaml", "PH-22.yaml"):
        (plans / broken).unlink()
    assert uet(tmp_path, "import", "plans/v3", "-o", "phases").code == 0


def test_dry_run_writes_nothing_and_json_is_the_report(tmp_path: Path) -> None:
    _copy(tmp_path, "legacy")
    done = uet(tmp_path, "import", "plans/legacy", "-o", "phases", "--dry-run", "--json")
    assert done.code == 1
    assert not (tmp_path / "phases").exists()
    report = json.loads(done.stdout)
    assert report["totals"] == {"converted": 17, "converted_with_losses": 33, "not_convertible": 10}
    assert report["dry_run"] is True
    auth = next(f for f in report["files"] if f["source"] == "plans/legacy/ws-api-auth.json")
    assert auth["outcome"] == "converted_with_losses"
    assert auth["output"] == "phases/PH-api-auth.yaml"
    assert {"field": "acceptance_tests[1]", "detail": "prose, not a command"} in auth["kept"]
    faq = next(f for f in report["files"] if f["source"] == "plans/legacy/ws-docs-faq.json")
    assert faq["outcome"] == "not_convertible" and faq["output"] is None
    assert faq["problems"][0]["text"] == "plans/legacy/ws-docs-faq.json: $: file is empty: expected a JSON object"


def test_a_changed_spec_is_not_replaced_without_force(tmp_path: Path) -> None:
    _copy(tmp_path, "v3")
    assert uet(tmp_path, "import", "plans/v3/PH-11.yaml", "-o", "phases").code == 0
    target = tmp_path / "phases" / "PH-11.yaml"
    assert uet(tmp_path, "import", "plans/v3/PH-11.yaml", "-o", "phases").code == 0  # same text: fine
    target.write_text(target.read_text() + "tags: [mine]\n")
    refused = uet(tmp_path, "import", "plans/v3/PH-11.yaml", "-o", "phases")
    assert refused.code == 1
    assert "phases/PH-11.yaml exists and would change; pass --force to replace it" in refused.stdout
    assert "tags: [mine]" in target.read_text()
    assert uet(tmp_path, "import", "plans/v3/PH-11.yaml", "-o", "phases", "--force").code == 0
    assert "tags: [mine]" not in target.read_text()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert uet(tmp_path, "import", "nowhere", "-o", "phases").code == 2
    done = uet(tmp_path, "import", str(DATA / "v3" / "PH-11.yaml"), "-o", "file")
    assert (done.code, done.stderr) == (2, "uet import: file: not a folder\n")
    assert uet(tmp_path, "import", str(DATA / "v3"), "-o", "phases", "--from", "v4").code == 2
    assert uet(tmp_path, "import", str(DATA / "v3")).code == 2  # -o is required


def test_from_forces_the_format(tmp_path: Path) -> None:
    (tmp_path / "odd.json").write_text('{"id": "task-1", "files_scope": ["a.py"], "tasks": ["t"]}')
    assert uet(tmp_path, "import", "odd.json", "-o", "phases").code == 0  # two legacy signs: recognised
    (tmp_path / "bare.json").write_text('{"id": "task-2"}')
    assert uet(tmp_path, "import", "bare.json", "-o", "phases").code == 1
    assert uet(tmp_path, "import", "bare.json", "-o", "phases", "--from", "legacy").code == 0


def test_the_legacy_set_plans_once_its_real_clashes_are_resolved(tmp_path: Path) -> None:
    """Import → plan names each real parallel write clash with both files → the user orders the pairs →
    plan succeeds → run --dry-run says what runs and what waits for phases outside the set."""
    _copy(tmp_path, "legacy")
    repo = make_repo(tmp_path / "repo")
    assert uet(tmp_path, "import", "plans/legacy", "-o", "phases").code == 1
    planned = uet(tmp_path, "plan", "phases")
    assert planned.code == 1
    clashes = [line for line in planned.stderr.splitlines() if "can run at the same time" in line]
    pairs = [
        ("PH-ui-settings", "PH-ui-dashboard", "ui/src/routes.tsx"),
        ("PH-db-seed-data", "PH-api-webhooks", "src/db/schema.sql"),
        ("PH-ops-monitoring", "PH-ops-deploy", "ops/common/values.yaml"),
    ]
    assert len(clashes) == 3
    for one, other, path in pairs:
        line = next(c for c in clashes if f"'{path}'" in c)
        assert {f"phases/{one}.yaml", f"phases/{other}.yaml"} <= {w.strip("():;,") for w in line.split()} | {
            line.split(":", 1)[0]
        }
    for later, earlier, _ in pairs:  # what the user does: make one depend on the other
        path = tmp_path / "phases" / f"{later}.yaml"
        data = yaml.safe_load(path.read_text())
        data["depends_on"] = [*data.get("depends_on", []), earlier]
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    planned = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert planned.code == 0, planned.stderr
    snapshot = uet_contracts.load(tmp_path / "dag.json", uet_contracts.DagSnapshot)
    assert len(snapshot.nodes) == 50
    assert sum(len(v) for v in snapshot.edges.values()) == 121
    assert snapshot.external_depends_on == {
        "PH-api-auth": ["PH-legacy-auth-v1"],
        "PH-api-users": ["PH-legacy-auth-v1"],
        "PH-ops-secrets": ["PH-vault-bootstrap"],
    }
    dry = uet(tmp_path, "run", "phases", "--repo", str(repo), "--dry-run")
    assert dry.code == 0
    assert "would skip  PH-api-auth ws-api-auth: waits for PH-legacy-auth-v1 outside this set" in dry.stdout
    assert "status done in its spec: counts as done" in dry.stdout
    assumed = uet(
        tmp_path,
        "run",
        "phases",
        "--repo",
        str(repo),
        "--dry-run",
        "--assume-done",
        "PH-legacy-auth-v1",
        "--assume-done",
        "PH-vault-bootstrap",
    )
    assert "would run   PH-api-auth ws-api-auth" in assumed.stdout
    assert "outside this set" not in assumed.stdout
    assert not (repo / ".runs").exists()  # a dry run writes nothing


def test_the_v3_set_plans_with_its_external_dependencies_declared(tmp_path: Path) -> None:
    _copy(tmp_path, "v3")
    repo = make_repo(tmp_path / "repo")
    uet(tmp_path, "import", "plans/v3", "-o", "phases")
    planned = uet(tmp_path, "plan", "phases")
    assert planned.code == 0
    warnings = [line for line in planned.stderr.splitlines() if "outside this set" in line]
    assert len(warnings) == 2
    assert warnings[0].startswith("phases/PH-10.yaml:")
    declared = uet(tmp_path, "plan", "phases", "--assume-done", "PH-05", "--assume-done", "PH-07", "-o", "dag.json")
    assert declared.code == 0
    assert "outside this set" not in declared.stderr
    snapshot = json.loads((tmp_path / "dag.json").read_text())
    assert snapshot["assumed_done"] == ["PH-05", "PH-07"]
    assert snapshot["external_depends_on"] == {"PH-10": ["PH-05"], "PH-13": ["PH-07"]}
    dry = uet(tmp_path, "run", "phases", "--repo", str(repo), "--dry-run", "--assume-done", "PH-05")
    assert dry.stdout.splitlines()[6:] == [
        "would skip  PH-09 ws-foundation: status complete in its spec: counts as done",
        "would run   PH-10 ws-infrastructure",
        "would run   PH-11 ws-config",
        "would run   PH-12A ws-task-queue",
        "would run   PH-12B ws-state-store",
        "would skip  PH-13 ws-validation: waits for PH-07 outside this set (pass --assume-done PH-07 once done)",
        "would skip  PH-14 ws-docs: waits for PH-13, which cannot start in this run",
    ]
    refused = uet(tmp_path, "run", "phases", "--repo", str(repo), "--dry-run", "--ws-id", "ws-docs")
    assert refused.code == 2
    assert refused.stderr.endswith(
        "uet run: cannot run ws-docs: its prerequisite ws-infrastructure (PH-10) waits for PH-05 outside this set"
        " (pass --assume-done PH-05 once done)\n"
    )
