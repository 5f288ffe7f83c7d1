"""The GitHub workflows parse, run only nox sessions that exist, and publish the way they claim.

They cannot run here, so the test checks what can go wrong without running them: the YAML, the job
graph, every ``nox -s`` name against the noxfile's sessions, trusted publishing, and the tag check.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT

WORKFLOWS = REPO_ROOT / ".github" / "workflows"


def _workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    # YAML 1.1 (PyYAML) reads the key `on` as True; GitHub reads it as "on".
    data["on"] = data.pop(True)
    return data


def _steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


@functools.cache
def _nox_sessions() -> frozenset[str]:
    """The sessions noxfile.py defines, as nox itself lists them."""
    done = subprocess.run(
        [sys.executable, "-m", "nox", "--list", "--json"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return frozenset(entry["session"] for entry in json.loads(done.stdout))


def _uses(workflow: dict[str, Any], job: str) -> list[str]:
    return [step["uses"].split("@")[0] for step in workflow["jobs"][job]["steps"] if "uses" in step]


@pytest.mark.parametrize("name", ["publish.yml", "ci.yml"])
def test_workflow_jobs_need_only_existing_jobs_and_run_only_existing_nox_sessions(name: str) -> None:
    workflow = _workflow(name)
    jobs = workflow["jobs"]
    for job in jobs.values():
        needs = job.get("needs", [])
        assert set([needs] if isinstance(needs, str) else needs) <= set(jobs)
        assert all(("run" in step) != ("uses" in step) for step in job["steps"])
    named = {s for step in _steps(workflow) for s in re.findall(r"\bnox -s (\w+)", step.get("run", ""))}
    assert named <= _nox_sessions()


def test_publish_runs_on_version_tags_only() -> None:
    assert _workflow("publish.yml")["on"] == {"push": {"tags": ["v*"]}}


def test_publish_checks_with_ci_then_builds_the_site_with_nox_and_deploys_it_to_pages() -> None:
    workflow = _workflow("publish.yml")
    jobs = workflow["jobs"]
    assert [step.get("run") for step in jobs["check"]["steps"]][-1] == "bash .ci/run"
    assert "nox -s docs" in [step.get("run") for step in jobs["docs"]["steps"]]
    assert {"docs", "codegen_check", "compat", "lint", "tests"} <= _nox_sessions()
    upload = next(s for s in jobs["docs"]["steps"] if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "site"  # where `nox -s docs` writes the site
    assert jobs["docs"]["needs"] == "check"
    assert jobs["deploy-docs"]["needs"] == "docs"
    assert _uses(workflow, "deploy-docs") == ["actions/deploy-pages"]
    assert jobs["deploy-docs"]["permissions"] == {"pages": "write", "id-token": "write"}
    assert jobs["deploy-docs"]["environment"]["name"] == "github-pages"


def test_publish_builds_the_package_then_uploads_it_with_trusted_publishing() -> None:
    workflow = _workflow("publish.yml")
    jobs = workflow["jobs"]
    assert "python -m build" in [step.get("run") for step in jobs["package"]["steps"]]
    assert jobs["package"]["needs"] == "check"
    assert jobs["pypi"]["needs"] == "package"
    assert _uses(workflow, "pypi") == ["actions/download-artifact", "pypa/gh-action-pypi-publish"]
    publish = jobs["pypi"]["steps"][-1]
    assert "with" not in publish  # no password or token: PyPI trusts the workflow's OIDC identity
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    assert workflow["permissions"] == {"contents": "read"}


@pytest.mark.parametrize("tag_matches", [True, False])
def test_publish_refuses_a_tag_that_is_not_the_package_version(tag_matches: bool, tmp_path: Path) -> None:
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    step = next(s for s in _workflow("publish.yml")["jobs"]["check"]["steps"] if "TAG" in s.get("env", {}))
    tag = f"v{version}" if tag_matches else "v0.0.0-other"
    env = dict(os.environ, TAG=tag)
    done = subprocess.run(["bash", "-c", step["run"]], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    if tag_matches:
        assert (done.returncode, done.stderr) == (0, "")
    else:
        assert done.returncode == 1
        assert done.stderr == f"tag v0.0.0-other does not match version {version} in pyproject.toml\n"
