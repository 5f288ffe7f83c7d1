"""Developer sessions. They run in the current environment (``pip install -e '.[dev]'`` first), so
CI and a laptop run exactly the same commands: ``nox -s codegen``, ``nox -s codegen -- --check``,
``nox -s compat`` (released schemas stay compatible), ``nox -s tests``, ``nox -s lint``, ``nox -s bench``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
# Every session runs in the current environment (no virtualenv backend), yet nox still looks for uv
# before each one and logs "uv binary not found.", which means nothing here: drop that one message.
logging.getLogger("nox").addFilter(lambda record: record.getMessage() != "uv binary not found.")
nox.options.sessions = ["codegen_check", "compat", "lint", "tests", "docs"]


@nox.session(python=False)
def codegen(session: nox.Session) -> None:
    """Regenerate the models and artefacts from schemas/ (``-- --check`` only compares)."""
    session.run("python", "-m", "codegen", *session.posargs)


@nox.session(name="codegen_check", python=False)
def codegen_check(session: nox.Session) -> None:
    """Fail when the committed generated files differ from what codegen writes (the drift gate)."""
    session.run("python", "-m", "codegen", "--check")


@nox.session(python=False)
def compat(session: nox.Session) -> None:
    """Fail when schemas/vN breaks a released version (the frozen copies in schemas/released/vN.x.y).

    A breaking change belongs in a new major version folder (schemas/vN+1), never in a released one.
    """
    released = sorted(Path("schemas/released").glob("v*.*.*"))
    if not released:
        session.error("no released schema versions under schemas/released/")
    for folder in released:
        major = folder.name.split(".")[0]
        session.run("python", "-m", "uet_engine", "schema", "diff", str(folder), f"schemas/{major}")


@nox.session(python=False)
def tests(session: nox.Session) -> None:
    """The test suite."""
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python=False)
def lint(session: nox.Session) -> None:
    """ruff, mypy --strict over src/ (generated code included; also as on macOS and Windows, where plans run too:
    a POSIX-only call outside a platform check fails there) and the import layering contracts."""
    session.run("ruff", "check", "src", "codegen", "tests", "benchmarks", "docs/hooks.py", "noxfile.py")
    session.run("ruff", "format", "--check", "src", "codegen", "tests", "benchmarks", "docs/hooks.py", "noxfile.py")
    for platform in ("linux", "darwin", "win32"):
        session.run("mypy", "--platform", platform)
    session.run("lint-imports")


@nox.session(python=False)
def docs(session: nox.Session) -> None:
    """The docs site into site/ with ``mkdocs build --strict``: any warning (a broken link or anchor, a page
    missing from the nav, a failing ``uet plan`` for the DAG) fails the build. Preview with ``mkdocs serve``."""
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs, env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against the obvious alternatives; prints ratios (no timed assertions)."""
    session.run("python", "-m", "benchmarks", *session.posargs)
