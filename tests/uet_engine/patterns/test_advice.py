"""Anti-patterns feed planning: a planned task with an active anti-pattern's signature is a located warning."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.uet_engine.patterns.records import START
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import AntiPattern, FileScope
from uet_engine.detection.execution_log import ACCEPTANCE_KIND, task_signature
from uet_engine.patterns.advice import active_anti_patterns, warnings
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.saving.store import RunStore


def anti(signature: str, **more: object) -> AntiPattern:
    return AntiPattern(
        anti_pattern_id="AP-sig-0123456789abcdef",
        signature=signature,
        operation_kind=ACCEPTANCE_KIND,
        occurrences=4,
        failure_rate=1.0,
        first_seen=START,
        last_seen=START,
        name="ACCEPTANCE-CHECK (grep, sh) failing with UET-E102",
        recommendation="fix the check",
        status="active",
        **more,  # type: ignore[arg-type]
    )


def test_a_matching_check_is_a_located_warning(tmp_path: Path) -> None:
    data = spec("PH-01", create=["docs/a.md"])
    data["acceptance"] = {"sh": ["test -f docs/a.md", "grep -q TODO docs/a.md"]}
    data["steps"] = [{"operation_kind": "EXEC-DOCS", "tool": "sh", "run": "echo x > docs/a.md"}]
    (path,) = write(tmp_path / "specs", data)
    phase_set = load_phase_set(tmp_path / "specs")
    scope = FileScope(create=["docs/other.md"], modify=[], read_only=[])  # other names, same shape
    signature = task_signature(ACCEPTANCE_KIND, "sh", "grep -q CHANGELOG docs/other.md", scope)
    (found,) = warnings(phase_set, [anti(signature)])
    assert found.format() == (
        f"{path}:{found.line}:{found.column}: $.acceptance.sh[1]: warning: this acceptance check matches anti-pattern "
        "AP-sig-0123456789abcdef (ACCEPTANCE-CHECK (grep, sh) failing with UET-E102, 4 failures): fix the check"
    )
    assert path.read_text(encoding="utf-8").splitlines()[found.line - 1].strip() == "- grep -q TODO docs/a.md"
    step = task_signature("EXEC-DOCS", "sh", "echo y > docs/z.md", scope)
    (on_step,) = warnings(phase_set, [replace(anti(step), operation_kind="EXEC-DOCS")])
    assert on_step.json_path == "$.steps[0]" and "this step matches" in on_step.message
    assert warnings(phase_set, []) == []


def test_only_active_anti_patterns_are_read(tmp_path: Path) -> None:
    assert active_anti_patterns(tmp_path) == []  # nothing run here: no store, no warnings
    active = anti("sha256:" + "a" * 64)
    resolved = replace(anti("sha256:" + "b" * 64), anti_pattern_id="AP-sig-resolved", status="resolved")
    with RunStore.open(tmp_path, audit=False) as store:
        store.put_patterns([], [active, resolved])
    assert active_anti_patterns(tmp_path) == [active]


def test_uet_plan_keeps_the_specs_it_checks_when_anti_patterns_will_read_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With anti-patterns to match, ``uet plan`` keeps every spec it checked: none is loaded a second time from
    its file (one by one, in the planning process) to be matched."""
    from uet_engine import cli
    from uet_engine.planning import loading

    data = spec("PH-01", create=["docs/a.md"])
    data["acceptance"] = {"sh": ["grep -q TODO docs/a.md"]}
    write(tmp_path / "specs", data)
    scope = FileScope(create=["docs/a.md"], modify=[], read_only=[])
    with RunStore.open(tmp_path, audit=False) as store:
        store.put_patterns([], [anti(task_signature(ACCEPTANCE_KIND, "sh", "grep -q TODO docs/a.md", scope))])
    loads: list[object] = []
    real = loading.uet_contracts.load
    monkeypatch.setattr(loading.uet_contracts, "load", lambda *a, **k: (loads.append(a[0]), real(*a, **k))[1])
    monkeypatch.chdir(tmp_path)
    code = cli.main(["plan", "specs", "--repo", str(tmp_path), "-o", str(tmp_path / "plan.json")])
    assert code == 0
    assert "matches anti-pattern AP-sig-0123456789abcdef" in capsys.readouterr().err
    assert loads == []
