"""docs/architecture.md stays true to the code: every engine module is on it, every module it names
exists, and the layers it shows are import-linter's."""

from __future__ import annotations

import re
import tomllib

from tests.conftest import REPO_ROOT

ENGINE = REPO_ROOT / "src" / "uet_engine"
PAGE = (REPO_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")


def engine_modules() -> set[str]:
    """``planning/graph.py``, ``paths.py``, ``cli/__init__.py``: every module, relative to the package."""
    modules = {path.relative_to(ENGINE).as_posix() for path in ENGINE.rglob("*.py")}
    # A stage package's __init__ only holds its docstring; the package itself has a section.
    return {m for m in modules if not (m.endswith("/__init__.py") and m != "cli/__init__.py")} - {
        "__init__.py",
        "__main__.py",
    }


def modules_in_tables() -> set[str]:
    """The modules the page describes: the first cell of each table row that names a ``.py`` file."""
    return set(re.findall(r"^\| `([a-z0-9_/]+\.py)` \|", PAGE, re.MULTILINE))


def test_every_engine_module_is_described_and_every_described_module_exists() -> None:
    described, actual = modules_in_tables(), engine_modules()
    assert sorted(actual - described) == [], "modules missing from docs/architecture.md"
    assert sorted(described - actual) == [], "docs/architecture.md describes modules that do not exist"


def test_every_module_path_the_page_mentions_exists() -> None:
    for path in re.findall(r"`((?:src|tests|codegen|docs|schemas)/[\w./-]+\.(?:py|json|md|toml))`", PAGE):
        assert (REPO_ROOT / path).exists(), path


def test_the_layers_shown_are_the_import_linter_contract() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    assert contract["containers"] == ["uet_engine"]
    assert f"\n{' → '.join(contract['layers'])}\n" in PAGE


def test_every_command_group_has_its_row() -> None:
    from uet_engine.cli import COMMANDS, MODULES

    for name in COMMANDS:
        assert re.search(rf"^\| `cli/{MODULES.get(name, name)}\.py` \| `uet {name}", PAGE, re.MULTILINE), name
