"""``python -m uet_engine plan`` as a real process: output, exact messages, exit codes, nothing half-written."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLES
from tests.uet_engine.cli.test_validate import uet
from tests.uet_engine.phase_specs import spec, write


def copy_examples(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "phases", tmp_path / "phases")
    return tmp_path / "phases"


def test_plans_the_example_set_to_stdout(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    out = uet(tmp_path, "plan", "phases")
    assert out.code == 0
    assert out.stderr == ["uet plan: 4 phase(s) in 3 level(s), critical path of 3 phase(s), 0 warning(s)"]
    snapshot = json.loads("\n".join(out.stdout))
    expected = json.loads((EXAMPLES / "dag_snapshot.json").read_text(encoding="utf-8"))
    assert list(snapshot) == list(expected)
    for field in ("schema_version", "dag_type", "nodes", "edges", "topo_levels", "critical_path"):
        assert snapshot[field] == expected[field]


def test_writes_to_a_file_and_check_accepts_it(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    out = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert (out.code, out.stdout) == (0, [])
    assert out.stderr[0].endswith("; wrote dag.json")
    check = uet(tmp_path, "plan", "phases", "--check", "dag.json")
    assert (check.code, check.stdout, check.stderr) == (0, [], ["uet plan: dag.json is up to date with phases"])


def test_check_names_what_changed(tmp_path: Path) -> None:
    phases = copy_examples(tmp_path)
    uet(tmp_path, "plan", "phases", "-o", "dag.json")
    old_hash = json.loads((tmp_path / "dag.json").read_text(encoding="utf-8"))["source_hash"]
    write(phases, spec("PH-03", ["PH-02"]))
    out = uet(tmp_path, "plan", "phases", "--check", "dag.json")
    new_hash = json.loads("\n".join(uet(tmp_path, "plan", "phases").stdout))["source_hash"]
    assert out.code == 1
    assert out.stderr == [
        "dag.json: $.nodes: added node PH-03: in the specs, not in the snapshot",
        "dag.json: $.edges: added edge PH-03 -> PH-02: PH-03 now depends on PH-02",
        "dag.json: $.topo_levels[3]: topo_levels changed from level 3 on: snapshot has [], specs give ['PH-03']",
        "dag.json: $.critical_path: critical_path changed: snapshot has PH-00 -> PH-01A -> PH-02, specs give"
        " PH-00 -> PH-01A -> PH-02 -> PH-03",
        f"dag.json: $.source_hash: source_hash changed (the specs changed): snapshot has {old_hash}, specs give"
        f" {new_hash}",
        "uet plan: dag.json is out of date with phases (5 difference(s)); regenerate it with: uet plan phases -o"
        " dag.json",
    ]


def test_the_shared_snapshot_is_out_of_date_only_by_its_hash(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    out = uet(tmp_path, "plan", "phases", "--check", str(EXAMPLES / "dag_snapshot.json"))
    assert out.code == 1
    assert [line.split(": ")[1] for line in out.stderr[:-1]] == ["$.source_hash"]


def test_formats(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    mermaid = uet(tmp_path, "plan", "phases", "--format", "mermaid")
    assert mermaid.code == 0
    assert mermaid.stdout[:2] == ["flowchart TD", '    n0["PH-00<br/>Package skeleton"]']
    dot = uet(tmp_path, "plan", "phases", "--format", "dot", "-o", "dag.dot")
    assert dot.code == 0
    assert (tmp_path / "dag.dot").read_text(encoding="utf-8").startswith("digraph uet {\n")


def test_a_cycle_fails_and_writes_nothing(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-20", ["PH-22"]), spec("PH-21", ["PH-20"]), spec("PH-22", ["PH-21"]))
    (tmp_path / "dag.json").write_text("old", encoding="utf-8")
    out = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert (out.code, out.stdout) == (1, [])
    assert out.stderr == [
        "phases/PH-20.yaml:7:3: $.depends_on[0]: dependency cycle: PH-20 -> PH-22 -> PH-21 -> PH-20"
        " (each phase depends on the next)",
        "uet plan: 1 problem(s), 0 warning(s) in phases; nothing written",
    ]
    assert (tmp_path / "dag.json").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dag.json", "phases"]


def test_invalid_spec_reuses_the_contract_error_lines(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-1"))
    (tmp_path / "phases" / "PH-2.yaml").write_text("phase_id: PH-2\nphase_type: magic\n", encoding="utf-8")
    out = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert out.code == 1
    assert any(line.startswith('phases/PH-2.yaml:2:13: $.phase_type: "magic" is not one of:') for line in out.stderr)
    assert out.stderr[-1] == "uet plan: 6 problem(s), 0 warning(s) in phases; nothing written"
    assert not (tmp_path / "dag.json").exists()


def test_warnings_are_printed_and_do_not_fail(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-1", create=["a.txt"]), spec("PH-2", read_only=["a.txt"]))
    out = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert out.code == 0
    assert out.stderr[0] == (
        "phases/PH-2.yaml:11:5: $.file_scope.read_only[0]: warning: read_only path 'a.txt' is written by PH-1"
        " (creates it in phases/PH-1.yaml), which PH-2 does not depend on: it may change before or while PH-2"
        " reads it"
    )
    assert out.stderr[1].endswith("1 warning(s); wrote dag.json")


def test_usage_and_unreadable_input_exit_2(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    copy_examples(tmp_path)
    cases = {
        ("plan", "missing"): [
            "missing: $: no such folder",
            "uet plan: 1 problem(s), 0 warning(s) in missing; nothing written",
        ],
        ("plan", "empty"): [
            "empty: $: no .yaml, .yml or .json files in this folder",
            "uet plan: 1 problem(s), 0 warning(s) in empty; nothing written",
        ],
        ("plan", "phases", "--check", "nope.json"): ["uet plan: nope.json: no such file"],
        ("plan", "phases", "--check", "x.json", "--format", "dot"): [
            "uet plan: --format applies to the output; --check writes none"
        ],
        ("plan", "phases", "-o", "no/such/dir/dag.json"): [
            "uet plan: cannot write no/such/dir/dag.json: No such file or directory"
        ],
    }
    for args, stderr in cases.items():
        out = uet(tmp_path, *args)
        assert (out.code, out.stdout, out.stderr) == (2, [], stderr), args
    both = uet(tmp_path, "plan", "phases", "-o", "a.json", "--check", "b.json")
    assert both.code == 2
    assert both.stderr[-1] == "uet plan: error: argument --check: not allowed with argument -o/--output"


def test_check_rejects_an_invalid_snapshot(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    (tmp_path / "dag.json").write_text('{"nodes": []}', encoding="utf-8")
    out = uet(tmp_path, "plan", "phases", "--check", "dag.json")
    assert out.code == 1
    assert out.stderr[0] == "dag.json:1:1: $.critical_path: missing required field 'critical_path'"
    assert out.stderr[-1] == "uet plan: dag.json is not a valid DagSnapshot"


# -- the module and task tiers ------------------------------------------------------------------------------------


def copy_three_tiers(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES / "three-tiers", tmp_path, dirs_exist_ok=True)
    return tmp_path / "phases"


def planned(tmp_path: Path, tier: str, summary: str) -> Any:
    """``uet plan phases --tier TIER`` of the worked example: it succeeds with ``summary``; the JSON it prints."""
    copy_three_tiers(tmp_path)
    out = uet(tmp_path, "plan", "phases", "--tier", tier)
    assert (out.code, out.stderr) == (0, [f"uet plan: {summary}, 0 warning(s)"])
    return json.loads("\n".join(out.stdout))


def test_the_module_tier_of_the_worked_example(tmp_path: Path) -> None:
    snapshot = planned(tmp_path, "module", "3 module(s) in 3 level(s), critical path of 3 module(s)")
    assert (snapshot["dag_type"], snapshot["nodes"]) == ("module", ["api", "core", "docs"])
    assert snapshot["edges"] == {"api": ["core"], "docs": ["api"]}
    mermaid = uet(tmp_path, "plan", "phases", "--tier", "module", "--format", "mermaid")
    assert mermaid.stdout[:4] == [
        "flowchart TD",
        '    n0["api<br/>HTTP API"]',
        '    n1["core<br/>Core storage"]',
        '    n2["docs<br/>Documentation"]',
    ]


def test_the_task_tier_of_the_worked_example_is_the_committed_one(tmp_path: Path) -> None:
    tasks = planned(tmp_path, "task", "6 step(s) of 3 workstream(s) in 5 batch(es)")
    assert [(w["phase_id"], w["batches"], w["module_ids"]) for w in tasks["workstreams"]] == [
        ("PH-10", [["package"], ["store", "store-tests"]], ["core"]),
        ("PH-11", [["routes"], ["export"]], ["api"]),
        ("PH-12", [["step/0"]], ["docs"]),
    ]
    check = uet(tmp_path, "plan", "phases", "--tier", "task", "--check", "module_tasks.json")
    assert (check.code, check.stderr) == (0, ["uet plan: module_tasks.json is up to date with phases"])
    dot = uet(tmp_path, "plan", "phases", "--tier", "task", "--format", "dot")
    assert "    subgraph cluster_0 {" in dot.stdout
    assert '    "ws-core-store/package" -> "ws-core-store/store" [color="#d62728", penwidth=3];' in dot.stdout


def test_a_stale_task_tier_names_the_workstream_and_what_changed(tmp_path: Path) -> None:
    phases = copy_three_tiers(tmp_path)
    spec_file = phases / "PH-11.yaml"
    spec_file.write_text(spec_file.read_text().replace('    depends_on: ["routes"]\n', ""), encoding="utf-8")
    out = uet(tmp_path, "plan", "phases", "--tier", "task", "--check", "module_tasks.json")
    assert out.code == 1
    assert out.stderr[:4] == [
        "module_tasks.json: $.workstreams[1].batches: PH-11: batches changed: file has [['routes'], ['export']],"
        " specs give [['export'], ['routes']]",
        "module_tasks.json: $.workstreams[1].snapshot.edges: ws-http-api: added edge routes -> export: routes now"
        " depends on export",
        "module_tasks.json: $.workstreams[1].snapshot.edges: ws-http-api: removed edge export -> routes: export no"
        " longer depends on routes",
        "module_tasks.json: $.workstreams[1].snapshot.topo_levels[0]: ws-http-api: topo_levels changed from level 0"
        " on: snapshot has ['routes'], specs give ['export']",
    ]
    assert out.stderr[-1].endswith("; regenerate it with: uet plan phases --tier task -o module_tasks.json")


def test_the_module_tier_needs_manifests(tmp_path: Path) -> None:
    copy_examples(tmp_path)
    out = uet(tmp_path, "plan", "phases", "--tier", "module")
    assert (out.code, out.stdout) == (2, [])
    assert out.stderr == [
        f"uet plan: --tier module needs module manifests; none under {tmp_path.resolve() / 'modules'}"
        " (<module_id>/module.manifest.yaml), or name the folder with --modules"
    ]
    missing = uet(tmp_path, "plan", "phases", "--modules", "nope")
    assert (missing.code, missing.stderr[0]) == (2, "nope: $: --modules: no such folder")


def test_manifest_problems_stop_every_tier_and_write_nothing(tmp_path: Path) -> None:
    copy_three_tiers(tmp_path)
    (tmp_path / "modules" / "docs" / "module.manifest.yaml").unlink()
    (tmp_path / "modules" / "docs").rmdir()
    for tier in ("pipeline", "task"):
        out = uet(tmp_path, "plan", "phases", "--tier", tier, "-o", "out.json")
        assert out.code == 1
        assert out.stderr == [
            "phases/PH-12.yaml:11:7: $.file_scope.create[0]: PH-12 may write 'docs/api.md', which no module"
            " owns (modules: api, core); add it to the owns of one module",
            "uet plan: 1 problem(s), 0 warning(s) in phases; nothing written",
        ]
        assert not (tmp_path / "out.json").exists()


def test_paths_differing_only_in_case_between_parallel_phases_are_reported(tmp_path: Path) -> None:
    write(
        tmp_path / "phases",
        spec("PH-1", create=["Docs/Guide.md"]),
        spec("PH-2", create=["docs/guide.md"]),
        spec("PH-3", ["PH-1"], modify=["DOCS/GUIDE.md"]),  # after PH-1: no collision with it
    )
    out = uet(tmp_path, "plan", "phases", "-o", "dag.json")
    assert out.code == 0
    assert out.stderr[:2] == [
        "phases/PH-2.yaml:9:5: $.file_scope.create[0]: warning: 'docs/guide.md' differs only in case from "
        "'Docs/Guide.md', which PH-1 can write at the same time (phases/PH-1.yaml); on a case-insensitive "
        "filesystem (macOS, Windows) they are one file: rename one, or make one phase depend on the other",
        "phases/PH-3.yaml:11:5: $.file_scope.modify[0]: warning: 'DOCS/GUIDE.md' differs only in case from "
        "'docs/guide.md', which PH-2 can write at the same time (phases/PH-2.yaml); on a case-insensitive "
        "filesystem (macOS, Windows) they are one file: rename one, or make one phase depend on the other",
    ]
    assert out.stderr[2].endswith("2 warning(s); wrote dag.json")
