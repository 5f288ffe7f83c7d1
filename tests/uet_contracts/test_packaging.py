"""The distribution other repositories install: build the sdist and the wheel (from that sdist, as
``python -m build`` does), check what they carry, install the wheel into a fresh venv outside the
repository (its dependencies from PyPI, no system site-packages) and use ``uet_contracts`` there."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import uet_contracts
from tests.conftest import EXAMPLE_PHASES, REPO_ROOT
from tests.docs.test_guides import titled_blocks
from uet_contracts.evolution import diff_dirs

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

VERSION_SCHEMAS = sorted(p.name for p in (REPO_ROOT / "schemas" / "v1").glob("*.schema.json"))
RELEASED_SCHEMAS = sorted(p.name for p in (REPO_ROOT / "schemas" / "released" / "v1.0.0").glob("*.schema.json"))
BUNDLES = sorted(p.name for p in (REPO_ROOT / "generated" / "bundled").glob("*.schema.json"))
BUILTIN = REPO_ROOT / "src" / "uet_engine" / "patterns" / "builtin"
BUILTIN_TEMPLATES = sorted(p.relative_to(BUILTIN).as_posix() for p in BUILTIN.rglob("*.template.yaml"))


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    return subprocess.run(list(map(str, args)), cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(sdist, wheel) built from the working tree."""
    out = tmp_path_factory.mktemp("dist")
    done = run(sys.executable, "-m", "build", "--outdir", out, REPO_ROOT, cwd=out)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


@pytest.fixture(scope="module")
def venv(dist: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (outside the repository) with only the wheel and its declared dependencies: its python."""
    root = tmp_path_factory.mktemp("venv")
    done = run(sys.executable, "-m", "venv", root / "env", cwd=root)
    assert done.returncode == 0, done.stderr
    python = root / "env" / "bin" / "python"
    done = run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", dist[1], cwd=root)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return python


def test_sdist_carries_the_sources_schemas_and_hooks(dist: tuple[Path, Path]) -> None:
    sdist, _ = dist
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    expected = {
        "pyproject.toml",
        ".pre-commit-hooks.yaml",
        "src/uet_contracts/py.typed",
        "src/uet_contracts/__init__.py",
        "schemas/released/v1.0.0/SHA256SUMS",
        *(f"schemas/v1/{name}" for name in VERSION_SCHEMAS),
        *(f"schemas/released/v1.0.0/{name}" for name in RELEASED_SCHEMAS),
        *(f"generated/bundled/{name}" for name in BUNDLES),
    }
    assert expected - names == set()


def test_wheel_carries_package_data_and_entry_points(dist: tuple[Path, Path]) -> None:
    _, wheel = dist
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = archive.read(info).decode()
    expected = {
        "uet_contracts/py.typed",
        "uet_contracts/evolution.py",
        "uet_contracts/hooks.py",
        *(f"uet_contracts/_data/schemas/v1/{name}" for name in VERSION_SCHEMAS),
        *(f"uet_contracts/_data/bundled/{name}" for name in BUNDLES),
        *(f"uet_engine/patterns/builtin/{name}" for name in BUILTIN_TEMPLATES),
    }
    assert expected - names == set()
    assert {n.split("/")[0] for n in names if not n.startswith("uet_contracts-")} == {"uet_contracts", "uet_engine"}
    assert "uet = uet_engine.cli:main" in entry_points.splitlines()
    assert "uet-check-phase-specs = uet_contracts.hooks:check_phase_specs" in entry_points.splitlines()


USE = """
import json, sys, sysconfig
from importlib import resources
from pathlib import Path
import uet_contracts
from uet_contracts import ContractError, PhaseSpec, load, schema
from uet_contracts import _resources

spec = load(sys.argv[1], PhaseSpec)
try:
    load(sys.argv[2], PhaseSpec)
    bad = None
except ContractError as error:
    bad = [p.format() for p in error.errors]
site = Path(sysconfig.get_paths()["purelib"]).resolve()
print(json.dumps({
    "phase_id": spec.phase_id,
    "bad": bad,
    "package_in_site": Path(uet_contracts.__file__).resolve().is_relative_to(site),
    "schema_dir_in_site": _resources.schema_dir().resolve().is_relative_to(site),
    "bundled_dir_in_site": _resources.bundled_dir().resolve().is_relative_to(site),
    "py_typed": resources.files("uet_contracts").joinpath("py.typed").is_file(),
    "schema_id": schema(PhaseSpec)["$id"],
}))
"""


def test_installed_package_loads_a_phase_spec(venv: Path, tmp_path: Path) -> None:
    """Loads as in the source tree (the same problems for a bad file), with data and types from site-packages."""
    good = tmp_path / "PH-00.yaml"
    good.write_text(EXAMPLE_PHASES[0].read_text(encoding="utf-8"), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text(encoding="utf-8").replace('title: "Package skeleton"', "title: 5"), encoding="utf-8")
    done = run(venv, "-c", USE, good, bad, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "phase_id": "PH-00",
        "bad": [problem.format() for problem in uet_contracts.check_file(bad, uet_contracts.PhaseSpec)],
        "package_in_site": True,
        "schema_dir_in_site": True,
        "bundled_dir_in_site": True,
        "py_typed": True,
        "schema_id": "https://uet-contracts.dev/schemas/v1/phase_spec.schema.json",
    }


def test_import_pulls_in_no_engine_only_dependency(venv: Path, tmp_path: Path) -> None:
    code = (
        "import sys, uet_contracts\n"
        "print(sorted({'rich', 'uet_engine', 'jsonschema', 'sqlite3', '_sqlite3'} & set(sys.modules)))\n"
    )
    done = run(venv, "-c", code, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_installed_commands(venv: Path, tmp_path: Path) -> None:
    bin_dir = venv.parent
    done = run(bin_dir / "uet", "validate", *EXAMPLE_PHASES, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        0,
        f"{len(EXAMPLE_PHASES)} file(s) checked as phase_spec: 4 valid, 0 invalid\n",
    )
    released = run(venv, "-c", "import uet_contracts._resources as r; print(r.schema_dir().parent)", cwd=tmp_path)
    data = Path(released.stdout.strip())
    done = run(bin_dir / "uet", "schema", "diff", data / "released" / "v1.0.0", data / "v1", cwd=tmp_path)
    # The installed schemas are the repository's: the same changes since the release, each one compatible.
    in_repo = diff_dirs(REPO_ROOT / "schemas" / "released" / "v1.0.0", REPO_ROOT / "schemas" / "v1")
    assert done.stdout.splitlines() == [c.format() for c in in_repo]
    assert (done.returncode, done.stderr.endswith(" 0 breaking, 0 unclassified\n")) == (0, True), done.stderr
    # the built-in templates are package data: listed (and valid) in the installed copy
    done = run(bin_dir / "uet", "templates", "list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [line.split()[:3] for line in done.stdout.splitlines()[1:]] == [
        ["python-module", "phase", "built-in"],
        ["pytest-green", "verification", "built-in"],
        ["ruff-clean", "verification", "built-in"],
    ]
    # check-jsonschema is not a dependency of the package: the hook script says how to get it.
    done = run(bin_dir / "uet-check-phase-specs", *EXAMPLE_PHASES, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "uet-check-phase-specs: check-jsonschema is not installed; install it with: "
        "pip install 'check-jsonschema>=0.39,<1' (the pre-commit hook installs it itself)\n"
    )


def test_an_installed_plugin_package_takes_part_in_a_real_run(venv: Path, tmp_path: Path) -> None:
    """The hooks-and-plugins guide's package, pip-installed into the fresh venv: its entry points are found."""
    files = titled_blocks("hooks-and-plugins.md")
    package = tmp_path / "package"
    package.mkdir()
    for name in ("my_hooks.py", "my_plugins.py", "pyproject.toml"):
        (package / name).write_text(files[name], encoding="utf-8")
    pyproject = (package / "pyproject.toml").read_text(encoding="utf-8")
    (package / "pyproject.toml").write_text(  # the hook as an entry point too, so no --hook is needed
        pyproject.replace(
            "[tool.setuptools]",
            '[project.entry-points."uet.hooks"]\ntimeline = "my_hooks:Timeline"\n\n[tool.setuptools]',
        ),
        encoding="utf-8",
    )
    done = run(venv, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", package, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    (repo / "src" / "app.py").write_text("x = 1  # TODO: name it\n", encoding="utf-8")
    (repo / "check_todos.py").write_text(files["check_todos.py"], encoding="utf-8")
    (tmp_path / "phases").mkdir()
    (tmp_path / "phases" / "PH-01.yaml").write_text(files["phases/PH-01.yaml"], encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    command = [str(venv.parent / "uet"), "run", str(tmp_path / "phases"), "--repo", str(repo), "--init"]
    ran = subprocess.run(
        command, cwd=tmp_path, env={**env, "TIMELINE_DIR": str(tmp_path)}, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (repo / "src" / "app.py").read_text(encoding="utf-8") == "x = 1  # DONE: name it\n"
    with sqlite3.connect(repo / ".runs" / "uet.sqlite") as db:
        events = [json.loads(text) for (text,) in db.execute("SELECT record FROM error_events ORDER BY id")]
    assert [(e.get("plugin"), e.get("path"), e.get("line")) for e in events if e.get("plugin")] == [
        ("todos", "src/app.py", 1)
    ] * 2
    seen = [json.loads(line) for line in (tmp_path / "errors-seen.jsonl").read_text(encoding="utf-8").splitlines()]
    assert seen == events
