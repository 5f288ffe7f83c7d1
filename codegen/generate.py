"""Generates every derived file from the schemas, or checks that the committed ones are current.

``generate(root)`` writes the models and artefacts under ``root`` (the repository, or a scratch
copy in ``--check`` mode). Old output is deleted first: the generator never removes modules of
schemas that are gone. Generation is deterministic, so a check is a byte comparison.
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from codegen.bundle import write_bundles
from codegen.options import (
    GENERATED_DIR,
    GENERATOR_ARGS,
    MODELS_DIR,
    REPO_ROOT,
    SCHEMA_DIR,
    generator_pins,
)
from codegen.reference import write_reference

OUTPUT_DIRS = (MODELS_DIR, GENERATED_DIR)


def _check_pins() -> dict[str, str]:
    pins = generator_pins()
    for tool, wanted in pins.items():
        installed = metadata.version(tool)
        if installed != wanted:
            raise SystemExit(
                f"codegen needs {tool}=={wanted} (pinned in pyproject.toml) but {installed} is installed: "
                f"run: python -m pip install -e '.[dev]'"
            )
    return pins


def _generate_models(schema_dir: Path, out_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="uet-codegen-") as scratch:
        raw = Path(scratch) / "models"
        env = dict(os.environ, RUFF_NO_CACHE="true")
        command = [
            sys.executable,
            "-m",
            "datamodel_code_generator",
            "--input",
            str(schema_dir),
            "--output",
            str(raw),
            *GENERATOR_ARGS,
        ]
        done = subprocess.run(command, cwd=scratch, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"datamodel-code-generator failed ({done.returncode}):\n{done.stderr.strip()}")
        shutil.rmtree(raw / ".ruff_cache", ignore_errors=True)
        (raw / "py.typed").unlink(missing_ok=True)
        shutil.copytree(raw, out_dir)


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _write_manifest(root: Path, pins: dict[str, str]) -> None:
    """Fingerprints of the inputs and outputs, so a reviewer sees what a regeneration changed."""

    def fingerprints(folder: Path) -> dict[str, str]:
        return {
            path.relative_to(root).as_posix(): _sha256(path)
            for path in sorted(folder.rglob("*"))
            if path.is_file() and path.name != "manifest.json"
        }

    manifest = {
        "generator": pins,
        "generator_args": list(GENERATOR_ARGS),
        "schemas": {
            f"schemas/{p.relative_to(SCHEMA_DIR.parent).as_posix()}": _sha256(p)
            for p in sorted(SCHEMA_DIR.glob("*.schema.json"))
        },
        "outputs": {**fingerprints(root / MODELS_DIR), **fingerprints(root / GENERATED_DIR)},
    }
    (root / GENERATED_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def generate(root: Path) -> None:
    """Deletes and rewrites every derived file under ``root``."""
    pins = _check_pins()
    for folder in OUTPUT_DIRS:
        shutil.rmtree(root / folder, ignore_errors=True)
    _generate_models(SCHEMA_DIR, root / MODELS_DIR)
    write_bundles(SCHEMA_DIR, root / GENERATED_DIR / "bundled")
    write_reference(SCHEMA_DIR, root / GENERATED_DIR / "reference", REPO_ROOT)
    _write_manifest(root, pins)


def _tree(folder: Path) -> set[str]:
    """The files below ``folder``, Python's byte-code caches left out: any import of the models writes those
    (unless ``PYTHONDONTWRITEBYTECODE`` is set), and they are never codegen's output."""
    if not folder.exists():
        return set()
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.relative_to(folder).parts
    }


def differences(expected_root: Path, actual_root: Path) -> list[str]:
    """Lines naming each derived file that is changed, missing or extra in ``actual_root``."""
    lines = []
    for folder in OUTPUT_DIRS:
        expected, actual = _tree(expected_root / folder), _tree(actual_root / folder)
        for name in sorted(expected | actual):
            rel = (folder / name).as_posix()
            if name not in actual:
                lines.append(f"MISSING: {rel} (codegen would create it)")
            elif name not in expected:
                lines.append(f"EXTRA: {rel} (codegen would delete it)")
            elif not filecmp.cmp(expected_root / folder / name, actual_root / folder / name, shallow=False):
                lines.append(f"CHANGED: {rel} (differs from what codegen writes)")
    return lines


def check(root: Path) -> int:
    """Regenerates into a scratch tree and compares; 0 when ``root`` is current, 1 otherwise."""
    with tempfile.TemporaryDirectory(prefix="uet-codegen-check-") as scratch:
        generate(Path(scratch))
        problems = differences(Path(scratch), root)
    for line in problems:
        print(line)
    if problems:
        print(f"codegen drift: {len(problems)} derived file(s) out of date; run `nox -s codegen` and commit the result")
        return 1
    print("codegen: derived files are current")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare instead of writing; exit 1 on drift")
    args = parser.parse_args(argv)
    if args.check:
        return check(REPO_ROOT)
    generate(REPO_ROOT)
    print(f"codegen: wrote {MODELS_DIR.as_posix()}/ and {GENERATED_DIR.as_posix()}/")
    return 0
