"""The engine's dependency rules (docs/architecture.md), checked two ways: import-linter, and a reading of the source.

- ``uet_contracts`` never imports ``uet_engine``;
- ``uet_engine`` takes contract types from the ``uet_contracts`` root, never from ``uet_contracts.models``;
- ``uet_engine`` defines no class of its own under the name of a generated contract type (it would be a
  second, unchecked description of something a contract already describes).

import-linter follows imports as Python resolves them; the AST reading also sees imports inside
functions and ``TYPE_CHECKING`` blocks, and class definitions, which import-linter does not look at.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import uet_contracts.models
from tests.conftest import REPO_ROOT

SRC = REPO_ROOT / "src"


def generated_type_names() -> set[str]:
    """Names of every dataclass the generator wrote (the contracts and their nested types)."""
    names = set()
    for info in pkgutil.iter_modules(uet_contracts.models.__path__):
        module = importlib.import_module(f"uet_contracts.models.{info.name}")
        names |= {
            name
            for name, value in vars(module).items()
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__
        }
    return names


def imported_modules(tree: ast.AST, package: str) -> list[tuple[int, list[str]]]:
    """Per import statement: its line and the absolute module names it may bind (relative ones resolved).

    ``from a import b`` may import the module ``a.b`` or just the name ``b`` of ``a``: both are listed.
    """
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, [base, *(f"{base}.{alias.name}" for alias in node.names)]))
    return found


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(f"{package}.")


def violations(path: Path, package: str, contract_names: set[str]) -> list[str]:
    """Every break of the rules above in one source file, as ``file:line: what``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    where = path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else path.name
    out = []
    for line, names in imported_modules(tree, package):
        if _inside(package, "uet_contracts"):
            hit = next((name for name in names if _inside(name, "uet_engine")), None)
            if hit:
                out.append(f"{where}:{line}: uet_contracts imports {hit}")
        if _inside(package, "uet_engine"):
            hit = next((name for name in names if _inside(name, "uet_contracts.models")), None)
            if hit:
                out.append(f"{where}:{line}: uet_engine imports {hit}; import contract types from uet_contracts")
    if _inside(package, "uet_engine"):
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and node.name in contract_names:
                out.append(f"{where}:{node.lineno}: uet_engine defines class {node.name}, a generated contract type")
    return out


def modules(package: str) -> list[tuple[Path, str]]:
    """(file, package the file's relative imports are resolved against) for every module of ``package``."""
    root = SRC / package
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        out.append((path, ".".join(parts if path.name == "__init__.py" else parts[:-1]).removesuffix(".__init__")))
    return out


def test_lint_imports_keeps_every_contract() -> None:
    command = shutil.which("lint-imports")
    assert command is not None, "import-linter is part of the dev extra"
    done = subprocess.run([command], cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^Contracts: [1-9][0-9]* kept, 0 broken\.$", done.stdout, re.MULTILINE), done.stdout


def test_the_generated_types_are_known() -> None:
    names = generated_type_names()
    assert {"PhaseSpec", "DagSnapshot", "StepAttempt", "FileScope", "AcceptanceCommand"} <= names


@pytest.mark.parametrize("package", ["uet_contracts", "uet_engine"])
def test_the_source_keeps_the_dependency_rules(package: str) -> None:
    names = generated_type_names()
    found = [problem for path, pkg in modules(package) for problem in violations(path, pkg, names)]
    assert found == []
    assert len(modules(package)) > 3


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("uet_contracts", "import uet_engine.cli\n", ["bad.py:1: uet_contracts imports uet_engine.cli"]),
        ("uet_contracts.sub", "from uet_engine import run\n", ["bad.py:1: uet_contracts imports uet_engine"]),
        (
            "uet_engine",
            "from uet_contracts.models.phase_spec_schema import PhaseSpec\n",
            [
                "bad.py:1: uet_engine imports uet_contracts.models.phase_spec_schema; "
                "import contract types from uet_contracts"
            ],
        ),
        (
            "uet_engine",
            "def f():\n    from uet_contracts import models\n",
            ["bad.py:2: uet_engine imports uet_contracts.models; import contract types from uet_contracts"],
        ),
        (
            "uet_engine.cli",
            "from dataclasses import dataclass\n\n@dataclass\nclass RunRecord:\n    run_id: str\n",
            ["bad.py:4: uet_engine defines class RunRecord, a generated contract type"],
        ),
        ("uet_engine", "from uet_contracts import PhaseSpec\n\nclass Plan:\n    pass\n", []),
    ],
)
def test_the_source_check_finds_each_kind_of_break(
    tmp_path: Path, package: str, source: str, expected: list[str]
) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(source, encoding="utf-8")
    assert violations(bad, package, generated_type_names()) == expected


# Where a module of the engine may live: a stage package, the CLI, or one of the few domain modules.
ENGINE_PACKAGES = {"planning", "execution", "detection", "saving", "patterns", "cli"}
ENGINE_DOMAIN_MODULES = {"__init__", "__main__", "paths", "states", "errors", "clock", "jsonl"}


def misplaced_engine_modules(root: Path) -> list[str]:
    """Every module of the engine at ``root`` outside the stage packages and the domain modules."""
    out = []
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if len(parts) == 1 and path.stem not in ENGINE_DOMAIN_MODULES:
            out.append(f"{path.name}: not a domain module; put it in the stage package it serves")
        elif len(parts) > 1 and parts[0] not in ENGINE_PACKAGES:
            out.append(f"{parts[0]}/: not a stage package ({', '.join(sorted(ENGINE_PACKAGES))})")
    return sorted(set(out))


def test_every_engine_module_sits_in_a_stage_package() -> None:
    assert misplaced_engine_modules(SRC / "uet_engine") == []


def test_a_module_outside_the_stage_packages_is_named(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("", encoding="utf-8")
    (tmp_path / "clock.py").write_text("", encoding="utf-8")
    (tmp_path / "misc").mkdir()
    (tmp_path / "misc" / "x.py").write_text("", encoding="utf-8")
    (tmp_path / "saving").mkdir()
    (tmp_path / "saving" / "store.py").write_text("", encoding="utf-8")
    assert misplaced_engine_modules(tmp_path) == [
        "helpers.py: not a domain module; put it in the stage package it serves",
        "misc/: not a stage package (cli, detection, execution, patterns, planning, saving)",
    ]
