"""The skeleton ``uet new phase`` writes without a template (``scaffold.phase_skeleton``) and the checks
against its target folder (``scaffold.check_folder``): the text is held to a reviewed file and to the
PhaseSpec schema; ``uet init``'s files are tested through the command in tests/uet_engine/cli/test_init.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import uet_contracts
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import PhaseSpec
from uet_engine.errors import NewPhaseRefused
from uet_engine.planning import scaffold

GOLDEN = Path(__file__).parent / "skeletons" / "PH-10.yaml"


def test_the_skeleton_is_the_reviewed_text_and_validates() -> None:
    text = scaffold.phase_skeleton("PH-10", "ws-parser", ["PH-01", "PH-02.b"], "Parse the input", specs="specs")
    assert text == GOLDEN.read_text(encoding="utf-8")
    written = uet_contracts.loads(text, PhaseSpec, file=str(GOLDEN))
    assert uet_contracts.to_dict(written) == {
        "phase_id": "PH-10",
        "workstream_id": "ws-parser",
        "title": "Parse the input",
        "objective": "Replace this with what PH-10 must achieve.",
        "phase_type": "implementation",
        "file_scope": {"create": ["notes/PH-10.md"], "modify": [], "read_only": []},
        "acceptance": {
            "python": [
                "import pathlib; assert pathlib.Path('notes/PH-10.md').read_text(encoding='utf-8') == "
                "'# PH-10: Parse the input\\n'"
            ]
        },
        "depends_on": ["PH-01", "PH-02.b"],
        "may_run_parallel_with": [],
        "steps": [
            {
                "operation_kind": "EXEC-ATOMIC-CREATE",
                "tool": "python",
                "run": "import pathlib; note = pathlib.Path('notes/PH-10.md'); note.parent.mkdir(exist_ok=True); "
                "note.write_text('# PH-10: Parse the input\\n', encoding='utf-8')",
                "description": "Writes notes/PH-10.md; replace it with the phase's work.",
            }
        ],
    }


def test_every_section_says_what_to_fill_in() -> None:
    lines = scaffold.phase_skeleton("PH-10", "ws-parser").splitlines()
    assert lines[0] == "# yaml-language-server: $schema=https://uet-contracts.dev/schemas/v1/phase_spec.schema.json"
    top = [line for line in lines if re.match(r"[a-z_]+:", line)]
    assert [line.split(":")[0] for line in top] == [
        "phase_id", "workstream_id", "title", "objective", "phase_type", "depends_on", "may_run_parallel_with",
        "file_scope", "steps", "acceptance",
    ]  # fmt: skip
    assert all("  # " in line for line in top)
    replace = [line.split(":")[0] for line in top if "# replace:" in line]
    assert replace == ["title", "objective", "file_scope", "steps", "acceptance"]


@pytest.mark.parametrize(
    "title",
    [
        "quotes \" and ' and a backslash \\",
        "a newline\nand a tab\t",
        "unicode – ü 漢字 and an emoji 🎉",
        "# not a comment: {a: [b]}, &anchor *alias !tag",
        "x" * scaffold.TITLE_MAX,
    ],
)
def test_any_title_round_trips_into_the_spec_and_the_note(tmp_path: Path, title: str) -> None:
    """The step and the check run as the engine runs them (python -c in the tree): the note holds the title."""
    written = uet_contracts.loads(scaffold.phase_skeleton("PH-1", "ws-a", title=title), PhaseSpec)
    assert written.title == title
    assert written.steps is not None and written.acceptance.python is not None
    (check,) = written.acceptance.python
    for code in (written.steps[0].run, check):
        assert isinstance(code, str)
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False)
        assert (done.returncode, done.stderr) == (0, "")
    assert (tmp_path / "notes" / "PH-1.md").read_text(encoding="utf-8") == f"# PH-1: {title}\n"


def test_the_longest_ids_make_a_valid_skeleton() -> None:
    phase_id, workstream_id = "PH-" + "a" * 64, "ws-" + "b" * 128
    written = uet_contracts.loads(scaffold.phase_skeleton(phase_id, workstream_id, [phase_id[:-1]]), PhaseSpec)
    assert (written.phase_id, written.workstream_id) == (phase_id, workstream_id)
    assert written.file_scope.create == [f"notes/{phase_id}.md"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("PH-10", "ws-a", (), "x" * 201), "--title must be 1 to 200 characters, not only spaces (got 201)"),
        (("PH-10", "ws-" + "b" * 129, (), None), f"--workstream 'ws-{'b' * 129}' is not a valid id: write ws- then"),
        (("PH-10", "ws-a", ("PH-11", "PH-1 1"), None), "--depends-on 'PH-1 1' is not a valid id: write PH- then"),
        (("PH-10", "ws-a\n", (), None), "--workstream 'ws-a\\n' is not a valid id"),
    ],
)
def test_unusable_values_are_refused(args: tuple[str, str, tuple[str, ...], str | None], message: str) -> None:
    with pytest.raises(NewPhaseRefused) as raised:
        scaffold.phase_skeleton(*args)
    assert str(raised.value).startswith(message)


def test_the_folder_is_read_as_uet_plan_reads_it(tmp_path: Path) -> None:
    folder = tmp_path / "phases"
    scaffold.check_folder(folder, "PH-01", "ws-one", ["PH-00"])  # no folder yet: nothing to check against
    write(folder / "nested", spec("PH-01", workstream="ws-one"), fmt="json")
    (folder / "notes.yaml").write_text("- a list, not a spec\n")
    (folder / ".hidden").mkdir()
    (folder / ".hidden" / "PH-09.yaml").write_text(yaml.safe_dump(spec("PH-09")))
    scaffold.check_folder(folder, "PH-02", "ws-two", ["PH-01"])
    with pytest.raises(NewPhaseRefused, match=r"^phase id PH-01 is already used by .*/phases/nested/PH-01.json$"):
        scaffold.check_folder(folder, "PH-01", "ws-two", [])
    unknown = r"^--depends-on PH-09: no phase spec in .*phases defines it \(it has: PH-01\)"
    with pytest.raises(NewPhaseRefused, match=unknown):
        scaffold.check_folder(folder, "PH-02", "ws-two", ["PH-01", "PH-09"])
    scaffold.check_folder(folder, "PH-02", "ws-two", ["PH-09"], allow_unknown=True)
    # the file being replaced (--force) is not part of the set it must fit
    scaffold.check_folder(folder, "PH-01", "ws-one", [], replacing=folder / "nested" / "PH-01.json")
