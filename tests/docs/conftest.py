"""The docs site built once per test session with ``mkdocs build --strict`` into a temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT


def build_site(site: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``mkdocs build --strict`` of this repository into ``site`` (the environment as given, or this one)."""
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(site)],
        cwd=REPO_ROOT,
        env=dict(os.environ if env is None else env),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site's folder; the build must succeed with no warning (``--strict``)."""
    site = tmp_path_factory.mktemp("site")
    done = build_site(site, dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert done.returncode == 0, done.stderr
    return site
