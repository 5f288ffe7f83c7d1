"""Error plugins: the built-in parsers on real tool output, the registry's rules, a plugin that misbehaves.

``outputs/*.out`` are outputs captured from the real tools (pytest in each ``--tb`` layout, ruff in both
formats, mypy plain and ``--pretty``, a chained traceback, a compiler, and hostile bytes); ``expected.json``
holds what each must give. The tools are also run for real here, on files written for the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from uet_contracts import ErrorEvent, ExecutionRequest, ExecutionResult, FileScope
from uet_engine.detection.plugins.base import finding, repo_path
from uet_engine.detection.plugins.registry import BUILTIN, MAX_FINDINGS, NamedPlugin, Registry, installed

OUTPUTS = Path(__file__).parent / "outputs"
EXPECTED: dict[str, dict[str, Any]] = json.loads((OUTPUTS / "expected.json").read_text(encoding="utf-8"))
T = datetime(2026, 12, 1, tzinfo=UTC)
CWD = Path("/work/repo")


def request(run: str, task: str = "acceptance/0") -> ExecutionRequest:
    return ExecutionRequest(
        operation_kind="ACCEPTANCE-CHECK" if task.startswith("acceptance") else "EXEC-A",
        tool="sh",
        run=run,
        file_scope=FileScope(create=[], modify=[], read_only=[]),
        tools_used=["sh"],
        context={"task_id": task, "attempt": 3},
        run_id="run-1",
        workstream_id="ws-a",
        phase_id="PH-A",
    )


def result(stdout: str = "", stderr: str = "", *, timed_out: bool = False) -> ExecutionResult:
    return ExecutionResult(
        success=False,
        exit_code=1,
        stdout=stdout,
        stderr=stderr,
        files_touched=[],
        started_at=T,
        finished_at=T,
        duration_s=1.0,
        timed_out=timed_out,
    )


def shown(event: ErrorEvent) -> dict[str, Any]:
    fields = ("plugin", "tool", "path", "line", "column", "code", "category", "severity", "message")
    return {name: getattr(event, name) for name in fields if getattr(event, name) is not None}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_each_captured_output_gives_its_findings(case: str) -> None:
    spec = EXPECTED[case]
    text = (OUTPUTS / f"{case}.out").read_text(encoding="utf-8")
    out = result(**{spec["stream"]: text})
    found, broken = Registry(BUILTIN).findings(request(spec["run"]), out, CWD)
    assert broken == []
    assert [shown(e) for e in found] == spec["findings"]
    for event in found:
        uet_contracts.check(uet_contracts.to_dict(event), ErrorEvent)
        assert (event.run_id, event.workstream_id, event.phase_id, event.task_id) == (
            "run-1",
            "ws-a",
            "PH-A",
            "acceptance/0",
        )
        assert event.error_code == "UET-E102" and (event.context or {})["attempt"] == 3
        assert event.fingerprint is not None and event.fingerprint.startswith("sha256:")


def test_the_same_finding_twice_has_one_fingerprint_and_another_finding_another() -> None:
    text = (OUTPUTS / "pytest_long.out").read_text(encoding="utf-8")
    first, _ = Registry(BUILTIN).findings(request("pytest"), result(text), CWD)
    again, _ = Registry(BUILTIN).findings(request("pytest"), result(text.replace("1.00s", "7.31s")), Path("/elsewhere"))
    assert [e.fingerprint for e in first] == [e.fingerprint for e in again]
    assert len({e.fingerprint for e in first}) == len(first)


# -- the tools, run for real -------------------------------------------------------------------------------


def run_tool(cwd: Path, command: list[str]) -> tuple[str, ExecutionResult]:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return " ".join(command), result(done.stdout, done.stderr)


def test_real_pytest_output(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_q.py").write_text("def test_fifo():\n    queue = [1, 2]\n    assert queue.pop() == 1\n")
    run, out = run_tool(tmp_path, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"])
    found, _ = Registry(BUILTIN).findings(request(run), out, tmp_path)
    assert [shown(e) for e in found] == [
        {
            "plugin": "pytest",
            "tool": "pytest",
            "path": "tests/test_q.py",
            "line": 3,
            "category": "test_failure",
            "severity": "error",
            "message": "test_fifo failed: assert 2 == 1",
        }
    ]


@pytest.mark.skipif(
    shutil.which("ruff") is None,
    reason="ruff is not installed: run pip install -e '.[dev]' to test the ruff plugin on its real output",
)
def test_real_ruff_output(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    ruff = str(shutil.which("ruff"))
    for extra in ([], ["--output-format=concise"]):
        run, out = run_tool(tmp_path, [ruff, "check", "--no-cache", "--isolated", *extra, "a.py"])
        found, _ = Registry(BUILTIN).findings(request(run), out, tmp_path)
        assert [(e.plugin, e.path, e.line, e.column, e.code, e.category) for e in found] == [
            ("ruff", "a.py", 1, 8, "F401", "style")
        ]


def test_real_mypy_output(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x: int = 'text'\n")
    command = [sys.executable, "-m", "mypy", "--no-incremental", "--show-column-numbers", "m.py"]
    run, out = run_tool(tmp_path, command)
    found, _ = Registry(BUILTIN).findings(request(run), out, tmp_path)
    assert [(e.plugin, e.path, e.line, e.column, e.code, e.category) for e in found] == [
        ("mypy", "m.py", 1, 10, "assignment", "type")
    ]


def test_real_traceback_in_the_repository(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "mod.py").write_text("def parse(text):\n    return int(text)\n")
    code = "import sys; sys.path.insert(0, '.'); from pkg.mod import parse; parse('x')"
    run, out = run_tool(tmp_path, [sys.executable, "-c", code])
    found, _ = Registry(BUILTIN).findings(request(run), out, tmp_path)
    assert [shown(e) for e in found] == [
        {
            "plugin": "python-traceback",
            "tool": "python",
            "path": "pkg/mod.py",
            "line": 2,
            "code": "ValueError",
            "category": "runtime",
            "severity": "error",
            "message": "ValueError: invalid literal for int() with base 10: 'x'",
        }
    ]


# -- the registry's rules ----------------------------------------------------------------------------------


class Fixed:
    """A test plugin that returns what it is given."""

    def __init__(self, events: list[Any], *, fallback: bool = False) -> None:
        self.events = events
        self.fallback = fallback

    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        return True

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        return self.events


class Raising:
    def matches(self, request: ExecutionRequest, result: ExecutionResult) -> bool:
        raise KeyError("no such thing")

    def parse(self, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        return []


def test_a_plugin_that_raises_costs_only_its_own_findings() -> None:
    ok = finding(request("x"), result(), "found it", tool="t", path="a.py", line=2)
    registry = Registry([NamedPlugin("bad", Raising()), NamedPlugin("good", Fixed([ok]))])
    found, broken = registry.findings(request("x"), result(), CWD)
    assert [e.message for e in found] == ["found it"]
    assert [(e.error_type, e.error_code, e.task_id, e.context) for e in broken] == [
        ("plugin_failed", "UET-E113", "acceptance/0", {"plugin": "bad", "attempt": 3})
    ]
    assert broken[0].message == (
        "error plugin bad failed on acceptance/0: KeyError: 'no such thing' "
        "(its findings are missing; the raw output is kept in the attempt)"
    )
    uet_contracts.check(uet_contracts.to_dict(broken[0]), ErrorEvent)


@pytest.mark.parametrize(
    ("returned", "why"),
    [
        (["not an event"], "ValueError: parse returned a str, not an ErrorEvent"),
        (
            [finding(request("x"), result(), "m", tool="t", category="bogus")],  # type: ignore[arg-type]
            'ValueError: it returned an invalid ErrorEvent: $.category: "bogus" is not one of',
        ),
    ],
)
def test_a_plugin_returning_what_is_not_a_valid_event_is_reported(returned: list[Any], why: str) -> None:
    found, broken = Registry([NamedPlugin("odd", Fixed(returned))]).findings(request("x"), result(), CWD)
    assert found == []
    assert len(broken) == 1 and why in broken[0].message


def test_the_fallback_runs_only_when_nothing_else_found_anything() -> None:
    specific = finding(request("x"), result(), "specific", tool="t")
    generic = finding(request("x"), result(), "generic", tool="t")
    both = Registry([NamedPlugin("generic", Fixed([generic], fallback=True)), NamedPlugin("s", Fixed([specific]))])
    assert [e.message for e in both.findings(request("x"), result(), CWD)[0]] == ["specific"]
    alone = Registry([NamedPlugin("generic", Fixed([generic], fallback=True)), NamedPlugin("s", Fixed([]))])
    assert [e.message for e in alone.findings(request("x"), result(), CWD)[0]] == ["generic"]


def test_findings_are_deduplicated_capped_and_placed() -> None:
    many = [
        finding(request("x"), result(), f"issue {i}", tool="t", path="/work/repo/src/a.py", line=i)
        for i in range(1, 80)
    ]
    twice = Registry([NamedPlugin("one", Fixed(many)), NamedPlugin("two", Fixed(many[:5]))])
    found, _ = twice.findings(request("x"), result(), CWD)
    assert len(found) == MAX_FINDINGS
    assert {e.plugin for e in found} == {"one"}
    assert {e.path for e in found} == {"src/a.py"}


def test_a_fix_step_finding_names_its_task() -> None:
    event = finding(request("x", "fix/0"), result(), "m", tool="t")
    found, _ = Registry([NamedPlugin("p", Fixed([event]))]).findings(request("x", "fix/0"), result(), CWD)
    assert (found[0].task_id, found[0].context, found[0].error_type) == ("fix/0", {"attempt": 3}, "step_failed")


def test_a_task_the_error_event_schema_cannot_name_goes_to_the_context() -> None:
    event = finding(request("x", "batch/0"), result(), "m", tool="t")
    found, _ = Registry([NamedPlugin("p", Fixed([event]))]).findings(request("x", "batch/0"), result(), CWD)
    assert (found[0].task_id, found[0].context) == (None, {"attempt": 3, "task": "batch/0"})


def test_a_timed_out_task_s_findings_are_timeouts() -> None:
    assert finding(request("x"), result(timed_out=True), "m", tool="t").error_type == "timeout"


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("tests/test_a.py", "tests/test_a.py"),
        ("./tests/test_a.py", "tests/test_a.py"),
        ("/work/repo/src/a.py", "src/a.py"),
        ("/work/repository/a.py", None),
        ("/usr/lib/python3.11/json/decoder.py", None),
        ("../outside.py", None),
        ("tests/../../outside.py", None),
        ("src/../a.py", "a.py"),
        ("", None),
        (".", None),
        ("'quoted.py'", "quoted.py"),
    ],
)
def test_printed_paths_become_repository_paths(printed: str, expected: str | None) -> None:
    assert repo_path(printed, dataclass_with_cwd()) == expected


def dataclass_with_cwd() -> ExecutionRequest:
    base = request("x")
    return ExecutionRequest(**{**base.__dict__, "context": {**base.context, "cwd": str(CWD)}})


def test_installed_plugins_come_after_the_built_in_ones_and_broken_ones_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "extra_plugins.py").write_text(
        "class Mine:\n    def matches(self, request, result):\n        return False\n"
        "    def parse(self, request, result):\n        return []\n"
    )
    dist = tmp_path / "extra_plugins-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-plugins\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[uet.error_plugins]\nmine = extra_plugins:Mine\npytest = extra_plugins:Mine\nbroken = extra_plugins:Gone\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = installed()
    assert [p.name for p in registry.plugins] == [*(p.name for p in BUILTIN), "mine"]
    assert registry.problems == [
        "error plugin broken (extra_plugins:Gone) cannot be loaded: "
        "AttributeError: module 'extra_plugins' has no attribute 'Gone'"
    ]
