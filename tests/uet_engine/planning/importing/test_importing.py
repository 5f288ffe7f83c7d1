"""uet_engine.planning.importing over the sample sets in data/ (written from the formats' description):
each file's outcome, nothing lost silently, the mapping table used by the code, ids and dependencies."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from uet_contracts import PhaseSpec
from uet_engine.planning.importing import FileReport, import_files
from uet_engine.planning.importing import ids as idrules
from uet_engine.planning.importing.legacy import looks_like_command
from uet_engine.planning.importing.mapping import RULES
from uet_engine.planning.importing.reading import read
from uet_engine.planning.importing.render import spec_yaml
from uet_engine.planning.importing.source import normalised

DATA = Path(__file__).parent / "data"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def reports(request: pytest.FixtureRequest) -> dict[str, FileReport]:
    """Both sample sets imported, by source path relative to data/."""
    cwd = os.getcwd()
    os.chdir(DATA)
    try:
        found = {}
        for fmt in ("legacy", "v3"):
            for report in import_files(sorted(Path(fmt).iterdir()), "auto", {}):
                found[report.source] = report
        return found
    finally:
        os.chdir(cwd)


def test_the_sample_sets_are_the_size_the_issue_describes(reports: dict[str, FileReport]) -> None:
    legacy = [r for name, r in reports.items() if name.startswith("legacy/")]
    assert len(legacy) == 60
    converted = [r for r in legacy if r.spec is not None]
    assert len(converted) == 50
    edges = sum(len(r.spec.get("depends_on", [])) for r in converted if r.spec)
    assert edges == 118  # 116 depends_on entries of the files, and 2 dependencies.blocks turned around
    external = sorted({p for r in converted if r.spec for p in r.spec.get("external_depends_on", [])})
    assert external == ["PH-legacy-auth-v1", "PH-vault-bootstrap"]


def test_each_file_has_its_expected_outcome(reports: dict[str, FileReport]) -> None:
    """Hostile inputs (comments, pseudo-JSON, a second document, a deep syntax error, …) with their outcomes."""
    actual = {}
    for name, report in reports.items():
        entry: dict[str, Any] = {"outcome": report.outcome}
        if report.problems:
            entry["problems"] = [p.format() for p in report.problems]
        actual[name] = entry
    assert actual == EXPECTED


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("v3/PH-20.yaml", "v3/PH-20.yaml:124:1: $: more than one YAML document in the file (one contract per file)"),
        ("legacy/ws-worker-gpu.json", "legacy/ws-worker-gpu.json:7:1: $: JSON syntax error: Unexpected end of input"),
        (
            "legacy/ws-ui-onboarding.json",
            'legacy/ws-ui-onboarding.json:4:18: $: JSON syntax error: Unexpected "<"',
        ),
    ],
)
def test_broken_files_get_a_located_error(reports: dict[str, FileReport], name: str, problem: str) -> None:
    assert [p.format() for p in reports[name].problems] == [problem]
    assert reports[name].spec is None


def test_the_deep_yaml_syntax_error_names_its_line(reports: dict[str, FileReport]) -> None:
    (problem,) = reports["v3/PH-21.yaml"].problems
    assert (problem.line, problem.column) == (92, 6)  # where the scanner gives up: the quote opened on line 90
    assert problem.message.startswith("YAML syntax error: ")
    assert (DATA / "v3/PH-21.yaml").read_text().splitlines()[89] == '  escalation: "open an issue: for the owner'


def test_jsonc_comments_and_trailing_commas_are_read(reports: dict[str, FileReport]) -> None:
    texts = {name: (DATA / name).read_text() for name in reports if name.endswith(".json")}
    with_comments = [name for name, text in texts.items() if "/*" in text or "\n  //" in text]
    assert len([n for n in with_comments if reports[n].spec is not None]) >= 9
    assert reports["legacy/ws-core-scheduler.json"].spec is not None  # a trailing comma


def _leaves(data: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(data, dict) and data:
        for key, value in data.items():
            yield from _leaves(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        for index, item in enumerate(data):
            yield from _leaves(item, f"{prefix}[{index}]")
    else:
        yield prefix


def _accounted(report: FileReport, leaf: str, used: set[str]) -> bool:
    """A source field is used by the converter, kept in extensions, or listed as dropped (it or a parent)."""
    assert report.spec is not None
    places = set(report.spec.get("extensions", {})) | {n.field for n in report.dropped} | used
    parts = leaf.replace("[", ".[").split(".")
    return any(".".join(parts[:end]).replace(".[", "[") in places for end in range(1, len(parts) + 1))


def test_nothing_is_lost_silently(reports: dict[str, FileReport]) -> None:
    """Every field of every converted input is mapped (used), kept in extensions or reported dropped."""
    from uet_engine.planning.importing import legacy, v3
    from uet_engine.planning.importing.common import Known
    from uet_engine.planning.importing.source import Source

    for name, report in reports.items():
        if report.spec is None:
            continue
        data, _ = read(DATA / name)
        scratch = FileReport(source=name, format=report.format)
        if report.format == "v3":
            data = v3.reshape(data, scratch)
        source = Source(data, report.format or "v3", scratch)
        assert report.phase_id is not None and report.workstream_id is not None
        known = Known({r.phase_id for r in reports.values() if r.phase_id}, {})
        if report.format == "v3":
            v3.convert(source, known, report.phase_id, report.workstream_id)
        else:
            legacy.convert(source, known, report.phase_id, report.workstream_id)
        lost = [leaf for leaf in _leaves(data) if not _accounted(report, leaf, source.used)]
        assert lost == [], name


def test_every_mapped_rule_is_used_by_the_samples(reports: dict[str, FileReport]) -> None:
    """The mapping table and the code agree: each row marked mapped is used on some sample (the rest of
    the rows are exercised by the leftover walk, which reads the table itself)."""
    from uet_engine.planning.importing import legacy, v3
    from uet_engine.planning.importing.common import Known
    from uet_engine.planning.importing.source import Source

    used: dict[str, set[str]] = {"v3": set(), "legacy": set()}
    for name, report in reports.items():
        if report.spec is None or report.format is None:
            continue
        data, _ = read(DATA / name)
        scratch = FileReport(source=name, format=report.format)
        data = v3.reshape(data, scratch) if report.format == "v3" else data
        source = Source(data, report.format, scratch)
        assert report.phase_id is not None and report.workstream_id is not None
        known = Known({r.phase_id for r in reports.values() if r.phase_id}, {})
        convert = v3.convert if report.format == "v3" else legacy.convert
        convert(source, known, report.phase_id, report.workstream_id)  # type: ignore[operator]
        used[report.format] |= {normalised(path) for path in source.used}
    # Rows for alternative spellings the samples do not use; each is covered by a test of its own below.
    alternatives = {
        "pre_flight_checks[].id",
        "pre_flight_checks[].description",
        "execution_plan.steps[].inputs.prompt",
        "phase_type",
    }
    for fmt, rules in RULES.items():
        mapped = {rule.source for rule in rules if rule.fate == "mapped"} - alternatives
        assert mapped - used[fmt] == set(), fmt


def test_every_written_spec_validates_and_round_trips(reports: dict[str, FileReport]) -> None:
    for report in reports.values():
        if report.spec is None:
            continue
        text = spec_yaml(report)
        assert text.startswith(f"# Imported by `uet import` from {report.source} (")
        spec = uet_contracts.loads(text, PhaseSpec, file=report.source)
        assert uet_contracts.to_dict(spec) == report.spec


def test_v3_fields_land_where_the_table_says(reports: dict[str, FileReport]) -> None:
    spec = reports["v3/PH-13.yaml"].spec
    assert spec is not None
    assert spec["workstream_id"] == "ws-validation"
    assert spec["phase_type"] == "validation_only"
    assert spec["depends_on"] == ["PH-12A", "PH-12B"]
    assert spec["external_depends_on"] == ["PH-07"]
    assert spec["bundle_id"] == "BUNDLE-PIPELINE-PLUS"
    assert spec["pre_flight"][0] == {
        "id": "python-available",
        "run": "python --version",
        "success_pattern": "Python 3\\.1[1-9]",
        "critical": True,
        "fix_hint": "Install Python 3.11 or later and put it on PATH",
    }
    assert spec["pre_flight"][1]["critical"] is False
    assert [s["tool"] for s in spec["steps"]] == ["aider", "sh"]
    assert spec["steps"][0]["operation_kind"] == "CREATE_FILE"
    assert spec["steps"][1]["run"] == "python -m pytest -q tests/e2e/test_pipeline.py"
    assert spec["expected_artifacts"] == ["tests/e2e/test_pipeline.py"]
    assert spec["acceptance"]["sh"][0]["run"] == "pytest -q tests/e2e/test_pipeline.py"
    assert spec["acceptance"]["sh"][1]["expect_output"] == "ok"
    assert spec["acceptance"]["sh"][2]["required"] is False
    assert spec["extensions"]["environment_and_tools.target_os"] == "windows"
    assert "estimate_hours" in spec
    assert reports["v3/PH-13.yaml"].to_do == ["step S2 requires human confirmation: the engine runs it unattended"]


def test_a_powershell_plan_runs_its_commands_by_powershell(reports: dict[str, FileReport]) -> None:
    spec = reports["v3/PH-12A.yaml"].spec
    assert spec is not None
    assert list(spec["acceptance"]) == ["powershell"]
    assert spec["steps"][1]["tool"] == "powershell"
    assert spec["steps"][0]["tool"] == "copilot"  # github-copilot is the built-in copilot profile
    assert all(check["tool"] == "powershell" for check in spec["pre_flight"])


def test_a_template_zero_estimate_is_defaulted_not_kept(reports: dict[str, FileReport]) -> None:
    report = reports["v3/PH-09.yaml"]
    assert report.spec is not None and "estimate_hours" not in report.spec
    assert [n.detail for n in report.defaulted if n.field == "estimate_hours"] == [
        "absent (the source's 0 is a placeholder)"
    ]


def test_legacy_fields_land_where_the_table_says(reports: dict[str, FileReport]) -> None:
    report = reports["legacy/ws-api-auth.json"]
    spec = report.spec
    assert spec is not None
    assert spec["phase_id"] == "PH-api-auth"
    assert spec["external_depends_on"] == ["PH-legacy-auth-v1"]
    assert spec["steps"][0]["tool"] == "aider"
    assert spec["steps"][0]["prompt"].startswith(spec["objective"] + "\n\nTasks:\n- Implement api auth")
    assert spec["file_scope"]["create"] == ["src/api/auth.py", "tests/api/test_auth.py"]
    assert spec["acceptance"] == {"sh": ["python -m pytest -q tests/api/test_auth.py"]}
    assert spec["extensions"]["acceptance_tests[1]"] == "Code reviewed by a maintainer"
    assert report.outcome == "converted_with_losses"
    assert any("acceptance_tests[1] is prose" in item for item in report.to_do)


def test_blocks_become_the_blocked_workstreams_dependencies(reports: dict[str, FileReport]) -> None:
    release = reports["legacy/ws-ops-release.json"]
    assert release.spec is not None and "PH-docs-changelog" in release.spec["depends_on"]
    assert any(n.field == "depends_on" and "dependencies.blocks" in n.detail for n in release.derived)


def test_a_range_of_hours_gives_its_upper_bound(reports: dict[str, FileReport]) -> None:
    spec = reports["legacy/ws-core-state-store.json"].spec
    assert spec is not None and spec["estimate_hours"] == 14


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("WS-INFRASTRUCTURE", "ws-infrastructure"), ("Task Queue", "ws-task-queue"), ("ws", None), ("ws-a_b", "ws-a-b")],
)
def test_workstream_ids_are_normalised(raw: str, expected: str | None) -> None:
    assert idrules.workstream_id(raw) == expected


def test_a_long_workstream_id_gives_a_hashed_phase_id() -> None:
    ws = "ws-" + "very-long-name-" * 8
    phase = idrules.phase_id_for_workstream(ws)
    assert len(phase) <= 3 + 64 and phase.startswith("PH-very-long-name-")
    assert phase == idrules.phase_id_for_workstream(ws)  # deterministic
    assert phase != idrules.phase_id_for_workstream(ws + "x")


@pytest.mark.parametrize(
    ("raw", "expected"), [("./src\\a.py", "src/a.py"), ("/etc/passwd", None), ("a/../b", None), ("C:/x", None)]
)
def test_paths_become_repo_paths_or_nothing(raw: str, expected: str | None) -> None:
    assert idrules.repo_path(raw) == expected


@pytest.mark.parametrize(
    ("item", "command"),
    [
        ("pytest tests/test_a.py", True),
        ("make test", True),
        ("python -m pytest -q", True),
        ("./scripts/check.sh", True),
        ("All tests pass", False),
        ("pytest passes for every module", False),
        ("Code reviewed by a maintainer", False),
    ],
)
def test_commands_are_told_from_prose(item: str, command: bool) -> None:
    assert looks_like_command(item) is command


def _one(tmp_path: Path, name: str, text: str, fmt: str = "auto") -> FileReport:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    (report,) = import_files([path], fmt, {})  # type: ignore[arg-type]
    return report


def test_alternative_spellings_of_v3(tmp_path: Path) -> None:
    """Named pre-flight checks, a step prompt, a list of tests, an unknown phase type and tool."""
    report = _one(
        tmp_path,
        "plan.yaml",
        """phase_identity: {phase_id: "PH 7", title: T, objective: O, phase_type: magic}
pre_flight_checks:
  disk: {id: ignored-name, description: Disk space, cmd: "df .", criticality: low}
execution_plan:
  - {tool_id: aider, inputs: {prompt: "Do it"}, operation_kind: "write file"}
  - {tool_id: my-agent}
acceptance_tests:
  - "true"
""",
    )
    spec = report.spec
    assert spec is not None, report.problems
    assert (spec["phase_id"], spec["workstream_id"], spec["phase_type"]) == ("PH-7", "ws-7", "implementation")
    assert spec["pre_flight"] == [{"id": "disk", "description": "Disk space", "run": "df .", "critical": False}]
    assert spec["steps"][0] == {"operation_kind": "WRITE-FILE", "tool": "aider", "prompt": "Do it"}
    assert spec["steps"][1]["tool"] == "my-agent"
    assert spec["acceptance"] == {"sh": ["true"]}
    assert [n.field for n in report.dropped] == ["phase_identity.phase_type"]
    assert any("define tool_profiles.my-agent" in item for item in report.to_do)
    assert spec["extensions"] == {"pre_flight_checks[0].id": "ignored-name"}


def test_a_legacy_file_with_a_phase_type_keeps_it(tmp_path: Path) -> None:
    report = _one(tmp_path, "ws.json", '{"id": "ws-x", "phase_type": "refactor", "acceptance_tests": ["true"]}')
    assert report.spec is not None and report.spec["phase_type"] == "refactor"
    assert "no steps" in report.to_do[-1] or any("no steps" in item for item in report.to_do)


def test_a_phase_spec_is_not_converted(tmp_path: Path) -> None:
    spec = (Path(__file__).parents[4] / "examples/phases/PH-01A.yaml").read_text()
    report = _one(tmp_path, "PH-01A.yaml", spec)
    assert [p.message for p in report.problems] == [
        "already a PhaseSpec (nothing to convert: uet plan reads it as it is)"
    ]


def test_two_inputs_with_one_phase_id_are_refused(tmp_path: Path) -> None:
    for name in ("a.json", "b.json"):
        (tmp_path / name).write_text('{"id": "ws-same", "files_scope": ["x.py"], "tasks": ["t"]}')
    first, second = import_files([tmp_path / "a.json", tmp_path / "b.json"], "auto", {})
    assert first.outcome != "not_convertible"
    assert [p.message for p in second.problems] == [
        f"phase PH-same is also what {(tmp_path / 'a.json').as_posix()} becomes; give one of them another id"
    ]


def test_dependencies_on_specs_already_in_the_output_folder_stay_internal(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    path.write_text('{"id": "ws-b", "depends_on": ["ws-a"], "files_scope": ["b.py"]}')
    (inside,) = import_files([path], "legacy", {"PH-a": "out/PH-a.yaml"})
    (outside,) = import_files([path], "legacy", {})
    assert inside.spec is not None and inside.spec["depends_on"] == ["PH-a"]
    assert outside.spec is not None and outside.spec["external_depends_on"] == ["PH-a"]
