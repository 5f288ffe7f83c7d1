"""Shared fixtures: where the repository, its schemas and its example files are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = REPO_ROOT / "examples"
EXAMPLE_PHASES = sorted((EXAMPLES / "phases").glob("*.yaml"))


@pytest.fixture
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture
def examples_dir() -> Path:
    return EXAMPLES
