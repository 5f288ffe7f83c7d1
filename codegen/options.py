"""The pinned datamodel-code-generator invocation.

Every option here changes the generated code, so they live in one place. The generator and its
formatter (ruff) are pinned to exact versions in ``pyproject.toml``'s ``dev`` extra; ``generator_pins``
reads them from there so the version is written down exactly once.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_ROOT = REPO_ROOT / "schemas"
SCHEMA_DIR = SCHEMA_ROOT / "v1"
MODELS_DIR = Path("src/uet_contracts/models")
GENERATED_DIR = Path("generated")

# Every option changes the generated code; one that works around the generator names its issue.
GENERATOR_ARGS: tuple[str, ...] = (
    "--input-file-type",
    "jsonschema",
    "--output-model-type",
    "dataclasses.dataclass",
    # Required fields after optional ones would otherwise be a TypeError (#1283, #1559, #1966).
    "--keyword-only",
    # Without it, format: date-time stays str (#1615).
    "--output-datetime-class",
    "datetime",
    "--use-field-description",
    "--use-schema-description",
    "--enum-field-as-literal",
    "all",
    "--strict-nullable",
    "--use-standard-collections",
    "--use-union-operator",
    "--target-python-version",
    "3.11",
    "--disable-timestamp",
    # The default formatter is announced to change: name it.
    "--formatters",
    "ruff-format",
)

PINNED_TOOLS = ("datamodel-code-generator", "ruff")


def generator_pins() -> dict[str, str]:
    """The exact versions of the generator and formatter, as pinned in pyproject.toml."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    pins: dict[str, str] = {}
    for requirement in pyproject["project"]["optional-dependencies"]["dev"]:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)", requirement)
        if match and match.group(1) in PINNED_TOOLS:
            pins[match.group(1)] = match.group(2)
    missing = set(PINNED_TOOLS) - pins.keys()
    if missing:
        raise SystemExit(f"pyproject.toml: the dev extra must pin {', '.join(sorted(missing))} with '=='")
    return pins
