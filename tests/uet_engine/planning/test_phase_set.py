"""load_phase_set: every problem of a set at once, each with its file, line and JSON path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import AcceptanceCommand
from uet_engine.errors import PlanError
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning.phase_set import PhaseSet, load_phase_set


def problems_of(folder: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load_phase_set(folder)
    return [p.format().replace(f"{folder}{os.sep}", "") for p in caught.value.problems]


def warnings_of(phase_set: PhaseSet, folder: Path) -> list[str]:
    return [p.format().replace(f"{folder}{os.sep}", "") for p in phase_set.warnings]


def test_example_set_loads_with_its_dag() -> None:
    phase_set = load_phase_set(EXAMPLES / "phases")
    assert list(phase_set.specs) == ["PH-00", "PH-01A", "PH-01B", "PH-02"]
    assert phase_set.files["PH-02"] == EXAMPLES / "phases" / "PH-02.yaml"
    assert phase_set.edges == {"PH-01A": ["PH-00"], "PH-01B": ["PH-00"], "PH-02": ["PH-01A", "PH-01B"]}
    assert phase_set.topo_levels == [["PH-00"], ["PH-01A", "PH-01B"], ["PH-02"]]
    assert phase_set.warnings == []
    assert phase_set.by_workstream("ws-pipeline-plus-1b-status").phase_id == "PH-01B"
    with pytest.raises(KeyError, match="no phase has workstream_id 'ws-nope'"):
        phase_set.by_workstream("ws-nope")


def test_missing_folder_and_folder_without_specs_are_unreadable(tmp_path: Path) -> None:
    for folder, message in ((tmp_path / "nope", "no such folder"), (tmp_path, "no .yaml, .yml or .json files")):
        with pytest.raises(PlanError) as caught:
            load_phase_set(folder)
        assert caught.value.unreadable
        assert caught.value.problems[0].format() == f"{folder}: $: {message}" + (
            " in this folder" if folder == tmp_path else ""
        )


def test_cycles_of_length_one_two_and_many_are_named_whole(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-20", ["PH-22"]),
        spec("PH-21", ["PH-20"]),
        spec("PH-22", ["PH-21"]),
        spec("PH-30", ["PH-30"]),
        spec("PH-40", ["PH-00", "PH-41"]),
        spec("PH-41", ["PH-40"]),
        spec("PH-00"),
        spec("PH-50", ["PH-41"]),  # downstream of a cycle, in none
    )
    assert problems_of(tmp_path) == [
        "PH-20.yaml:7:3: $.depends_on[0]: dependency cycle: PH-20 -> PH-22 -> PH-21 -> PH-20"
        " (each phase depends on the next)",
        "PH-30.yaml:7:3: $.depends_on[0]: dependency cycle: PH-30 -> PH-30 (each phase depends on the next)",
        "PH-40.yaml:8:3: $.depends_on[1]: dependency cycle: PH-40 -> PH-41 -> PH-40 (each phase depends on the next)",
    ]


def test_duplicate_ids_name_both_files(tmp_path: Path) -> None:
    write(tmp_path / "a", spec("PH-01"), spec("PH-02", workstream="ws-shared"))
    write(tmp_path / "b", spec("PH-01", workstream="ws-other"), spec("PH-03", workstream="ws-shared"))
    assert problems_of(tmp_path) == [
        f"b{os.sep}PH-01.yaml:1:11: $.phase_id: phase_id 'PH-01' is already declared in a{os.sep}PH-01.yaml",
        f"b{os.sep}PH-03.yaml:2:16: $.workstream_id: workstream_id 'ws-shared' is already used by PH-02 in"
        f" a{os.sep}PH-02.yaml",
    ]


def test_unknown_ids_and_invalid_files_are_reported_together(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-01", ["PH-00", "PH-99"], parallel=["PH-98"]))
    (tmp_path / "PH-00.yaml").write_text("phase_id: PH-00\n", encoding="utf-8")
    found = problems_of(tmp_path)
    assert (
        "PH-01.yaml:8:3: $.depends_on[1]: depends on unknown phase 'PH-99': no valid spec in the set declares it"
        in found
    )
    assert (
        "PH-01.yaml:7:3: $.depends_on[0]: depends on unknown phase 'PH-00': no valid spec in the set declares it"
        in found
    )
    assert (
        "PH-01.yaml:17:3: $.may_run_parallel_with[0]: names unknown phase 'PH-98': no valid spec in the set declares it"
        in found
    )
    assert "PH-00.yaml:1:1: $.workstream_id: missing required field 'workstream_id'" in found
    assert len(found) == 9  # six missing required fields of PH-00 and the three lines above


def test_may_run_parallel_with_must_not_name_ancestors_or_descendants(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-00", parallel=["PH-02", "PH-01B"]),
        spec("PH-01A", ["PH-00"], parallel=["PH-01B", "PH-01A"]),
        spec("PH-01B", ["PH-00"], parallel=["PH-01A"]),
        spec("PH-02", ["PH-01A"], parallel=["PH-01B"]),
    )
    assert problems_of(tmp_path) == [
        "PH-00.yaml:15:3: $.may_run_parallel_with[0]: names PH-02, but PH-02 depends on PH-00 (directly or through"
        " other phases), so they never run at the same time",
        "PH-00.yaml:16:3: $.may_run_parallel_with[1]: names PH-01B, but PH-01B depends on PH-00 (directly or through"
        " other phases), so they never run at the same time",
        "PH-01A.yaml:17:3: $.may_run_parallel_with[1]: names the phase itself",
    ]


def test_concurrent_phases_writing_the_same_path_clash(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-00", create=["core/__init__.py"]),
        spec("PH-01A", ["PH-00"], modify=["core/__init__.py"]),
        spec("PH-01B", ["PH-00"], create=["core/b.py"], modify=["core/__init__.py"]),
        spec("PH-02", ["PH-01A", "PH-01B"], modify=["core/__init__.py", "core/b.py"]),
    )
    assert problems_of(tmp_path) == [
        "PH-01B.yaml:12:5: $.file_scope.modify[0]: PH-01B and PH-01A can run at the same time (neither depends on"
        " the other) but both write 'core/__init__.py' (PH-01A modifies it in PH-01A.yaml);"
        " make one depend on the other",
    ]


def test_a_path_written_by_many_concurrent_phases_gives_one_line_per_neighbour(tmp_path: Path) -> None:
    write(tmp_path, *(spec(f"PH-{i}", modify=["CHANGELOG.md"]) for i in range(1, 5)))
    found = problems_of(tmp_path)
    assert [line.split(": ", 2)[2].split(" (")[0] for line in found] == [
        "PH-2 and PH-1 can run at the same time",
        "PH-3 and PH-2 can run at the same time",
        "PH-4 and PH-3 can run at the same time",
    ]


def test_globs_clash_when_some_path_matches_both(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-1", create=["src/*.py"]),
        spec("PH-2", modify=["src/a.py"]),
        spec("PH-3", modify=["src/a*"]),  # neither it nor src/*.py matches the other, but both match src/a.py
        spec("PH-4", ["PH-1"], modify=["src/**"]),  # overlaps src/*.py, but PH-1 is its ancestor
    )
    assert problems_of(tmp_path) == [
        "PH-2.yaml:10:5: $.file_scope.modify[0]: PH-2 and PH-1 can run at the same time (neither depends on the"
        " other) but both write 'src/a.py' (PH-1 creates 'src/*.py' in PH-1.yaml, and the two"
        " overlap); make one depend on the other",
        "PH-3.yaml:10:5: $.file_scope.modify[0]: PH-3 and PH-1 can run at the same time (neither depends on the"
        " other) but both write 'src/a*' (PH-1 creates 'src/*.py' in PH-1.yaml, and the two"
        " overlap); make one depend on the other",
        "PH-3.yaml:10:5: $.file_scope.modify[0]: PH-3 and PH-2 can run at the same time (neither depends on the"
        " other) but both write 'src/a*' (PH-2 modifies 'src/a.py' in PH-2.yaml, and the two"
        " overlap); make one depend on the other",
        "PH-4.yaml:11:5: $.file_scope.modify[0]: PH-4 and PH-2 can run at the same time (neither depends on the"
        " other) but both write 'src/**' (PH-2 modifies 'src/a.py' in PH-2.yaml, and the two"
        " overlap); make one depend on the other",
        "PH-4.yaml:11:5: $.file_scope.modify[0]: PH-4 and PH-3 can run at the same time (neither depends on the"
        " other) but both write 'src/**' (PH-3 modifies 'src/a*' in PH-3.yaml, and the two"
        " overlap); make one depend on the other",
    ]


def test_read_only_paths_written_by_a_non_ancestor_are_warnings(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-00", create=["config.yaml"]),
        spec("PH-01", ["PH-00"], read_only=["config.yaml", "docs/*.md"]),
        spec("PH-02", create=["docs/intro.md"]),
        spec("PH-03", ["PH-01"], modify=["config.yaml"]),
    )
    phase_set = load_phase_set(tmp_path)
    assert warnings_of(phase_set, tmp_path) == [
        "PH-01.yaml:12:5: $.file_scope.read_only[0]: warning: read_only path 'config.yaml' is written by PH-03"
        " (modifies it in PH-03.yaml), which PH-01 does not depend on: it may change before or"
        " while PH-01 reads it",
        "PH-01.yaml:13:5: $.file_scope.read_only[1]: warning: read_only path 'docs/*.md' is written by PH-02"
        " (creates 'docs/intro.md' in PH-02.yaml), which PH-01 does not depend on: it may change"
        " before or while PH-01 reads it",
    ]


def test_warnings_travel_with_the_problems(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-1", create=["a"]), spec("PH-2", read_only=["a"]), spec("PH-3", ["PH-0"]))
    with pytest.raises(PlanError) as caught:
        load_phase_set(tmp_path)
    assert [p.json_path for p in caught.value.problems] == ["$.depends_on[0]"]
    assert [p.json_path for p in caught.value.warnings] == ["$.file_scope.read_only[0]"]
    assert not caught.value.unreadable


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root can read a file without read permission: run the tests as a normal user to check unreadable specs",
)
def test_a_file_without_read_permission_is_unreadable(tmp_path: Path) -> None:
    (path,) = write(tmp_path, spec("PH-1"))
    path.chmod(0)
    with pytest.raises(PlanError) as caught:
        load_phase_set(tmp_path)
    assert caught.value.unreadable
    assert caught.value.problems[0].format() == f"{path}: $: cannot read file: permission denied"


def test_steps_name_a_runner_with_run_or_a_known_tool_with_a_prompt(tmp_path: Path) -> None:
    data = spec("PH-01")
    data["steps"] = [
        {"operation_kind": "EXEC-STEP", "tool": "sh"},
        {"operation_kind": "EXEC-AI-EDIT", "tool": "aider"},
        {"operation_kind": "EXEC-AI-EDIT", "tool": "bash", "prompt": "x"},
        {"operation_kind": "EXEC-AI-EDIT", "tool": "codex", "prompt": "ok"},
    ]
    write(tmp_path, data)
    assert problems_of(tmp_path) == [
        "PH-01.yaml:15:3: $.steps[0]: a sh step needs `run`: the command (or code) to execute",
        "PH-01.yaml:17:3: $.steps[1]: a aider step needs `prompt` or `prompt_file`: the instructions for the tool",
        "PH-01.yaml:20:9: $.steps[2].tool: unknown tool 'bash': not a runner (sh, python, powershell) nor a tool"
        " profile (aider, claude-code, codex, copilot); define tool_profiles.bash in uet.config.yaml",
    ]


def test_a_tool_of_the_config_is_known(tmp_path: Path) -> None:
    data = spec("PH-01")
    data["steps"] = [{"operation_kind": "EXEC-AI-EDIT", "tool": "my-agent", "prompt": "x"}]
    write(tmp_path, data)
    assert list(load_phase_set(tmp_path, tools={"my-agent"}).specs) == ["PH-01"]


def test_external_dependencies_warn_until_assumed_done(tmp_path: Path) -> None:
    first = spec("PH-01")
    first["external_depends_on"] = ["PH-99"]
    second = spec("PH-02", ["PH-01"])
    second["external_depends_on"] = ["PH-01"]
    write(tmp_path, first, second)
    assert problems_of(tmp_path) == [
        "PH-02.yaml:16:3: $.external_depends_on[0]: PH-01 is in this set: list it in depends_on instead"
    ]
    write(tmp_path, spec("PH-02", ["PH-01"]))
    assert warnings_of(load_phase_set(tmp_path), tmp_path) == [
        "PH-01.yaml:15:3: $.external_depends_on[0]: warning: PH-01 waits for PH-99, outside this set: `uet run`"
        " leaves it (and what depends on it) out until PH-99 is declared done with --assume-done PH-99"
    ]
    declared = load_phase_set(tmp_path, assume_done=["PH-99"])
    assert (declared.warnings, declared.assumed_done) == ([], ("PH-99",))


def test_an_acceptance_without_checks_is_a_warning(tmp_path: Path) -> None:
    data = spec("PH-01")
    data["acceptance"] = {"sh": [], "python": []}
    write(tmp_path, data)
    assert warnings_of(load_phase_set(tmp_path), tmp_path) == [
        "PH-01.yaml:12:3: $.acceptance: warning: acceptance has no checks, so it proves nothing: add a command that"
        " checks the work"
    ]


def with_checks(phase_id: str, *checks: object) -> dict[str, object]:
    data = spec(phase_id)
    data["acceptance"] = {"sh": list(checks)}
    return data


def test_verify_checks_are_replaced_by_the_commands_they_stand_for(tmp_path: Path) -> None:
    ref = {"verify": "ruff-clean", "with": {"paths": "src"}}
    write(tmp_path / "specs", with_checks("PH-01", "true", ref))
    phase_set = load_phase_set(tmp_path / "specs", TemplateLibrary(tmp_path).resolver())
    assert phase_set.specs["PH-01"].acceptance.sh == [
        "true",
        AcceptanceCommand(
            run="python -m ruff check --no-cache src && python -m ruff format --no-cache --check src", timeout_s=300
        ),
    ]


def test_verify_checks_that_cannot_be_resolved_are_located_problems(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    write(
        folder,
        with_checks("PH-01", {"verify": "nope"}),
        with_checks("PH-02", "true", {"verify": "ruff-clean", "with": {"x": 1}}),
    )
    with pytest.raises(PlanError) as caught:
        load_phase_set(folder, TemplateLibrary(tmp_path).resolver())
    assert [p.format().replace(f"{folder}{os.sep}", "") for p in caught.value.problems] == [
        "PH-01.yaml:13:13: $.acceptance.sh[0].verify: templates/verification_templates: $: no verification template "
        "named 'nope' (known: pytest-green, ruff-clean)",
        "PH-02.yaml:14:13: $.acceptance.sh[1].verify: verification template 'ruff-clean': unknown parameter 'x' (the "
        "template declares: paths)",
    ]
    assert problems_of(folder)[0] == (
        "PH-01.yaml:13:13: $.acceptance.sh[0].verify: verification templates cannot be used here (no template library "
        "was given)"
    )
