"""Codegen: byte-identical output, a drift gate that names each stale file, self-contained bundles."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from codegen.bundle import all_refs
from codegen.generate import differences, generate
from codegen.options import GENERATED_DIR, MODELS_DIR
from tests.conftest import EXAMPLE_PHASES, EXAMPLES, REPO_ROOT
from tests.uet_contracts.bad_inputs import CASES
from uet_contracts import CONTRACTS, Contract, ContractError, loads, parsing
from uet_contracts.parsing import Format

SCHEMAS = REPO_ROOT / "schemas" / "v1"
BUNDLED = REPO_ROOT / GENERATED_DIR / "bundled"


def tree(root: Path) -> dict[str, bytes]:
    """Every derived file under ``root`` with its bytes."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for folder in (MODELS_DIR, GENERATED_DIR)
        for path in sorted((root / folder).rglob("*"))
        if path.is_file()
    }


def codegen(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m codegen ARGS`` run in ``cwd``, so the codegen package (and the repository) there is used."""
    done = subprocess.run(
        [sys.executable, "-m", "codegen", *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return done


def test_generating_twice_gives_byte_identical_trees_equal_to_the_committed_one(tmp_path: Path) -> None:
    generate(tmp_path)
    first = tree(tmp_path)
    generate(tmp_path)
    assert tree(tmp_path) == first
    assert any(name.startswith("src/uet_contracts/models/") for name in first)
    assert "generated/manifest.json" in first
    assert differences(tmp_path, REPO_ROOT) == []


def test_the_drift_gate_passes_on_the_repository() -> None:
    done = codegen(REPO_ROOT, "--check")
    assert (done.returncode, done.stdout) == (0, "codegen: derived files are current\n")


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The parts of the repository codegen reads and writes, copied so that they can be edited."""
    for folder in ("schemas", "codegen", "examples", "generated", "src/uet_contracts/models"):
        shutil.copytree(REPO_ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def add_priority_property(root: Path) -> None:
    path = root / "schemas" / "v1" / "phase_spec.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    schema["properties"]["priority"] = {"description": "Scheduling priority; higher runs first.", "type": "integer"}
    path.write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")


def test_byte_code_caches_beside_the_models_are_no_drift(repo_copy: Path) -> None:
    # Any import of the models writes them (unless PYTHONDONTWRITEBYTECODE is set): never codegen's output.
    cache = repo_copy / "src" / "uet_contracts" / "models" / "__pycache__"
    cache.mkdir()
    (cache / "phase_spec_schema.cpython-311.pyc").write_bytes(b"\x00compiled")
    done = codegen(repo_copy, "--check")
    assert (done.returncode, done.stdout) == (0, "codegen: derived files are current\n")


def test_the_drift_gate_names_each_stale_file_after_a_schema_edit(repo_copy: Path) -> None:
    assert codegen(repo_copy, "--check").returncode == 0
    add_priority_property(repo_copy)
    (repo_copy / "generated" / "bundled" / "run_event.schema.json").unlink()
    (repo_copy / "src" / "uet_contracts" / "models" / "stray.py").write_text("x = 1\n", encoding="utf-8")

    done = codegen(repo_copy, "--check")
    assert done.stdout.splitlines() == [
        "CHANGED: src/uet_contracts/models/phase_spec_schema.py (differs from what codegen writes)",
        "EXTRA: src/uet_contracts/models/stray.py (codegen would delete it)",
        "CHANGED: generated/bundled/phase_spec.schema.json (differs from what codegen writes)",
        "MISSING: generated/bundled/run_event.schema.json (codegen would create it)",
        "CHANGED: generated/manifest.json (differs from what codegen writes)",
        "CHANGED: generated/reference/_field_map.md (differs from what codegen writes)",
        "CHANGED: generated/reference/phase_spec.md (differs from what codegen writes)",
        "codegen drift: 7 derived file(s) out of date; run `nox -s codegen` and commit the result",
    ]
    assert done.returncode == 1
    assert (repo_copy / "src" / "uet_contracts" / "models" / "stray.py").exists(), "--check must not write"


def test_regenerating_after_a_schema_edit_clears_the_drift(repo_copy: Path) -> None:
    add_priority_property(repo_copy)
    (repo_copy / "src" / "uet_contracts" / "models" / "stray.py").write_text("x = 1\n", encoding="utf-8")
    assert codegen(repo_copy).returncode == 0
    assert not (repo_copy / "src" / "uet_contracts" / "models" / "stray.py").exists()
    model = (repo_copy / "src" / "uet_contracts" / "models" / "phase_spec_schema.py").read_text(encoding="utf-8")
    assert "priority: int | None = None" in model
    bundle = json.loads((repo_copy / "generated" / "bundled" / "phase_spec.schema.json").read_text(encoding="utf-8"))
    assert bundle["properties"]["priority"]["type"] == "integer"
    assert codegen(repo_copy, "--check").returncode == 0


# --- bundles ------------------------------------------------------------------------------------


@cache
def canonical_validator(contract: Contract) -> Any:
    resources = [
        Resource.from_contents(json.loads(path.read_text(encoding="utf-8"))) for path in SCHEMAS.glob("*.schema.json")
    ]
    registry = Registry().with_resources((str(r.id()), r) for r in resources)
    schema = json.loads((SCHEMAS / contract.file).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def bundled_validator(contract: Contract) -> Any:
    schema = json.loads((BUNDLED / contract.file).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def verdict(validator: Any, data: Any) -> list[tuple[str, str, str]]:
    return sorted((e.json_path, e.validator, e.message) for e in validator.iter_errors(data))


def test_there_is_one_bundle_per_contract() -> None:
    assert sorted(p.name for p in BUNDLED.glob("*.schema.json")) == sorted(c.file for c in CONTRACTS)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.kind)
def test_a_bundle_has_only_local_refs_that_resolve(contract: Contract) -> None:
    bundle = json.loads((BUNDLED / contract.file).read_text(encoding="utf-8"))
    refs = all_refs(bundle)
    assert all(ref.startswith("#/$defs/") for ref in refs), refs
    assert {ref.removeprefix("#/$defs/") for ref in refs} <= set(bundle.get("$defs", {}))
    Draft202012Validator.check_schema(bundle)


def corpus() -> list[tuple[Contract, Any]]:
    """The examples and every corpus case that parses, as (contract, data)."""
    kinds = {c.kind: c for c in CONTRACTS}
    out = [(kinds["phase_spec"], loads_plain(p.read_text(encoding="utf-8"))) for p in EXAMPLE_PHASES]
    out.append((kinds["dag_snapshot"], json.loads((EXAMPLES / "dag_snapshot.json").read_text(encoding="utf-8"))))
    for case in CASES:
        if isinstance(case.content, str) and case.name.endswith((".yaml", ".json")):
            try:
                data = loads_plain(case.content, "json" if case.name.endswith(".json") else "yaml")
            except ContractError:
                continue
            out.append((kinds[case.kind], data))
    return out


def loads_plain(text: str, format: Format = "yaml") -> Any:
    return parsing.parse(text, format)


def test_bundles_and_canonical_schemas_give_the_same_verdicts() -> None:
    checked = 0
    for contract, data in corpus():
        expected = verdict(canonical_validator(contract), data)
        assert verdict(bundled_validator(contract), data) == expected, contract.kind
        checked += 1
        invalid = bool(expected)
        try:
            loads(json.dumps(data), contract.type, "json")
            assert not invalid
        except ContractError:
            assert invalid
    assert checked >= 30
