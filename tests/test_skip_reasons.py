"""Every skipped test tells the person reading ``pytest -ra`` why it skipped and what would make it run.

A skip reason has the form ``why: what to do``, and the part after the colon starts with an instruction
("install …", "run …", "put …"), so "pwsh is not installed" alone, or a reason that names an internal
folder, fails here. The reasons are read from the source (``pytest.skip``, ``pytest.mark.skipif`` and
``pytest.importorskip`` calls), so a skip that never happens on this machine is checked too.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

INSTRUCTIONS = ("install ", "run ", "put ", "set ", "use ")


def skip_reasons(root: Path) -> list[tuple[str, str]]:
    """``(file:line, reason text)`` of every skip in the test sources; f-string parts read as ``{}``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            reason: ast.expr | None = None
            if name == "pytest.skip" and node.args:
                reason = node.args[0]
            elif name in ("pytest.mark.skipif", "pytest.importorskip"):
                reason = next((k.value for k in node.keywords if k.arg == "reason"), None)
                if reason is None:
                    reason = ast.Constant("")  # a skip without a reason is reported as an empty one
            if reason is not None:
                found.append((f"{path.relative_to(REPO_ROOT).as_posix()}:{node.lineno}", _text(reason)))
    return found


def _text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(part) if isinstance(part, ast.Constant) else "{}" for part in node.values)
    return "{}"


def unhelpful(reasons: list[tuple[str, str]]) -> list[str]:
    """The reasons that do not say what to do, as ``file:line: reason``."""
    bad = []
    for where, text in reasons:
        why, _, what = text.rpartition(": ")
        if not why or not what.startswith(INSTRUCTIONS):
            bad.append(f"{where}: {text!r}")
    return bad


def test_every_skip_says_why_and_how_to_run_the_test() -> None:
    reasons = skip_reasons(REPO_ROOT / "tests")
    assert len(reasons) >= 10  # the scan found the skips (there are more than ten)
    assert unhelpful(reasons) == []


def test_a_reason_without_instruction_is_reported() -> None:
    assert unhelpful([("t.py:1", "pwsh is not installed"), ("t.py:2", "no pwsh: install PowerShell")]) == [
        "t.py:1: 'pwsh is not installed'"
    ]
