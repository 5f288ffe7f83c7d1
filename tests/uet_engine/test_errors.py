"""The engine's exception family: one base, each failure a person sees mapped to an exit code in one place."""

from __future__ import annotations

import ast
import io
from contextlib import redirect_stderr
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from uet_contracts import Problem
from uet_engine import errors
from uet_engine.cli import report_failure
from uet_engine.errors import (
    BackendError,
    BadHook,
    EngineError,
    GitError,
    IllegalTransition,
    LockHeld,
    MergeConflict,
    NewPhaseRefused,
    NotAGitRepo,
    PatternNotFound,
    PlanError,
    ProblemsFound,
    RecordsUnwritable,
    RegistryError,
    ReviewRefused,
    RunRefused,
    SavingInvariantError,
    StoreError,
    StoreMissing,
    TemplateError,
    UnknownRun,
)

ENGINE = REPO_ROOT / "src" / "uet_engine"


def exception_classes_outside_errors_module() -> list[str]:
    """Classes of the engine that derive from an exception but are not defined in ``uet_engine.errors``."""
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        if path == ENGINE / "errors.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base) for base in node.bases}
                if any(base.endswith(("Error", "Exception", "Refused", "Held")) for base in bases):
                    found.append(f"{path.relative_to(REPO_ROOT).as_posix()}: {node.name}")
    return found


def test_every_engine_exception_is_defined_in_the_errors_module() -> None:
    assert exception_classes_outside_errors_module() == []


def test_every_error_of_the_family_derives_from_engine_error() -> None:
    family = [value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, Exception)]
    assert set(family) == {
        EngineError,
        PlanError,
        RunRefused,
        GitError,
        MergeConflict,
        NotAGitRepo,
        BackendError,
        BadHook,
        StoreError,
        StoreMissing,
        RecordsUnwritable,
        UnknownRun,
        IllegalTransition,
        SavingInvariantError,
        LockHeld,
        PatternNotFound,
        ReviewRefused,
        ProblemsFound,
        RegistryError,
        TemplateError,
        NewPhaseRefused,
    }
    assert all(issubclass(kind, EngineError) for kind in family)
    assert issubclass(RegistryError, ProblemsFound) and issubclass(TemplateError, ProblemsFound)
    assert issubclass(StoreMissing, StoreError) and issubclass(SavingInvariantError, StoreError)
    assert issubclass(UnknownRun, StoreError)
    assert issubclass(MergeConflict, GitError)
    assert issubclass(RecordsUnwritable, StoreError)


def _problem() -> Problem:
    return Problem(message="bad", json_path="$", file="phases/a.yaml", line=3, column=1)


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (RunRefused("unknown workstream 'ws-x'"), "uet run: unknown workstream 'ws-x'", 2),
        (
            LockHeld(Path("/repo"), "RUN-1", 42),
            "uet run: another uet run (RUN-1, pid 42) is using this repo: /repo",
            2,
        ),
        (StoreMissing("no run store at .runs/uet.sqlite"), "uet run: no run store at .runs/uet.sqlite", 2),
        (
            RecordsUnwritable(".runs/audit.jsonl: cannot write the audit log: No space left on device"),
            "uet run: .runs/audit.jsonl: cannot write the audit log: No space left on device",
            2,
        ),
        (
            SavingInvariantError("RUN-1", "ws-a", ["no step attempt"]),
            "uet run: RUN-1 ws-a: cannot mark succeeded: no step attempt",
            2,
        ),
        (PlanError([_problem()]), "uet run: phases/a.yaml:3:1: $: bad", 1),
        (PlanError([_problem()], unreadable=True), "uet run: phases/a.yaml:3:1: $: bad", 2),
        (PatternNotFound("no pattern candidate 'PC-x'"), "uet run: no pattern candidate 'PC-x'", 2),
        (NewPhaseRefused("--depends-on PH-1: given twice"), "uet run: --depends-on PH-1: given twice", 2),
        (ReviewRefused("PAT-x is already in the registry"), "uet run: PAT-x is already in the registry", 1),
        (
            RegistryError([_problem()], "PATTERN_INDEX.yaml is broken"),
            "phases/a.yaml:3:1: $: bad\nuet run: PATTERN_INDEX.yaml is broken",
            1,
        ),
        (
            TemplateError([_problem(), _problem()], "2 problem(s)"),
            "phases/a.yaml:3:1: $: bad\nphases/a.yaml:3:1: $: bad\nuet run: 2 problem(s)",
            1,
        ),
    ],
)
def test_the_cli_maps_each_error_to_one_line_and_its_exit_code(error: EngineError, line: str, code: int) -> None:
    err = io.StringIO()
    with redirect_stderr(err):
        assert report_failure("run", error) == code
    assert err.getvalue() == line + "\n"


def test_a_problems_error_needs_a_problem() -> None:
    with pytest.raises(ValueError, match="RegistryError needs at least one problem"):
        RegistryError([], "broken")
