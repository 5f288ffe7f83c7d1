"""The pre-commit hooks of ``.pre-commit-hooks.yaml``, run by pre-commit itself in a consumer repository.

The hook repository is a fresh git repo holding a copy of this working tree (pre-commit clones a commit,
so uncommitted work would be invisible otherwise). pre-commit builds its environment from PyPI once per
module (a shared ``PRE_COMMIT_HOME``); the faster tests call the console script directly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_PHASES, REPO_ROOT
from uet_contracts.hooks import MISSING, check_phase_specs

BAD_WORKSTREAM = "workstream_id: 'WS-bad'"


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def invalid_phase() -> str:
    """The first example with a workstream id that breaks its pattern, on line 3."""
    text = EXAMPLE_PHASES[0].read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[2].startswith("workstream_id:")
    lines[2] = BAD_WORKSTREAM
    return "\n".join(lines) + "\n"


# -- the console script, in process and as a process ------------------------------------------------------------


def test_script_passes_valid_files(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_phase_specs([str(p) for p in EXAMPLE_PHASES]) == 0
    assert capsys.readouterr().out == "ok -- validation done\n"


def test_script_names_the_invalid_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "phases" / "PH-00.yaml"
    bad.parent.mkdir()
    bad.write_text(invalid_phase(), encoding="utf-8")
    assert check_phase_specs([str(EXAMPLE_PHASES[1]), str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}::$.workstream_id: 'WS-bad' does not match '^ws-[a-z0-9][a-z0-9-]{{0,127}}$'" in out
    assert str(EXAMPLE_PHASES[1]) not in out


def test_script_without_check_jsonschema_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['check_jsonschema'] = None\n"
        "from uet_contracts.hooks import check_phase_specs\n"
        f"sys.exit(check_phase_specs([{str(EXAMPLE_PHASES[0])!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", MISSING + "\n")


def test_installed_console_script_runs() -> None:
    script = shutil.which("uet-check-phase-specs")
    assert script is not None, "pip install -e . declares the uet-check-phase-specs console script"
    done = subprocess.run([script, *map(str, EXAMPLE_PHASES)], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "ok -- validation done\n")


def test_default_files_pattern() -> None:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["uet-validate-phase-specs", "uet-validate", "uet-plan-check"]
    for hook in hooks:
        pattern = re.compile(hook["files"])
        matched = ["phases/PH-01A.yaml", "a/b/phases/x.yml", "phases/archive/PH-00.yaml"]
        unmatched = ["PH-01A.yaml", "phases/notes.md", "myphases/x.yaml", "phases.yaml", "phases/x.yaml.bak"]
        assert [p for p in matched + unmatched if pattern.search(p)] == matched


# -- pre-commit itself in a consumer repository --------------------------------------------------------------


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A git repo with this working tree (tracked and untracked, not ignored) in one commit: (path, rev)."""
    dest = tmp_path_factory.mktemp("hook-repo")
    listed = git("ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=REPO_ROOT).split("\0")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    git("init", "-q", cwd=dest)
    git("add", "-A", cwd=dest)
    git("commit", "-q", "-m", "snapshot of the working tree", cwd=dest)
    return dest, git("rev-parse", "HEAD", cwd=dest).strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by every test of the module, so pre-commit installs the hook environment only once."""
    return tmp_path_factory.mktemp("pre-commit-home")


def consumer(
    root: Path,
    hook_repo: tuple[Path, str],
    files: dict[str, str],
    phases: str | None = None,
    hooks: tuple[str, ...] = ("uet-validate-phase-specs", "uet-validate", "uet-plan-check"),
) -> Path:
    """A git repo with ``files`` staged and ``hooks`` configured (``uet-plan-check`` over ``phases``)."""
    repo, rev = hook_repo
    chosen = [{"id": hook, **({"args": [phases]} if phases and hook == "uet-plan-check" else {})} for hook in hooks]
    config = {"repos": [{"repo": str(repo), "rev": rev, "hooks": chosen}]}
    root.mkdir()
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def pre_commit(root: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never", "SKIP": ""}
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "run", "--all-files", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def statuses(output: str) -> dict[str, str]:
    """``{hook name: Passed|Failed|(no files to check)Skipped}`` from pre-commit's summary lines."""
    found = re.findall(r"^(.+?)\.{3,}(Passed|Failed|\(no files to check\)Skipped)$", output, re.MULTILINE)
    return dict(found)


VALID = {f"phases/{p.name}": p.read_text(encoding="utf-8") for p in EXAMPLE_PHASES}
# The one hook docs/guides/pre-commit.md recommends: it checks each file and then the set, reporting each
# problem once (two hooks that both check the schema report every problem twice).
RECOMMENDED = ("uet-plan-check",)
NAMES = (
    "validate UET phase specs (check-jsonschema)",
    "validate UET phase specs (uet validate)",
    "check the UET phase set (uet plan)",
)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_pre_commit_passes_a_valid_phase_set(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    # A YAML file outside any phases/ folder is not a phase spec and is left alone.
    root = consumer(tmp_path / "ok", hook_repo, {**VALID, "config/settings.yaml": "not: [a, phase, spec]\n"})
    done = pre_commit(root, pre_commit_home)
    assert statuses(done.stdout) == dict.fromkeys(NAMES, "Passed"), done.stdout + done.stderr
    assert done.returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_pre_commit_fails_an_invalid_phase_file_naming_it(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    files = {**{f"a/b/{name}": text for name, text in VALID.items()}}
    files["a/b/phases/PH-00.yml"] = invalid_phase()
    del files["a/b/phases/PH-00.yaml"]
    root = consumer(tmp_path / "bad", hook_repo, files, phases="a/b/phases")
    done = pre_commit(root, pre_commit_home)
    assert done.returncode == 1
    assert statuses(done.stdout) == dict.fromkeys(NAMES, "Failed"), done.stdout
    lines = done.stdout.splitlines()
    pattern = "'^ws-[a-z0-9][a-z0-9-]{0,127}$'"
    assert f"  a/b/phases/PH-00.yml::$.workstream_id: 'WS-bad' does not match {pattern}" in lines
    assert (
        "a/b/phases/PH-00.yml:3:16: $.workstream_id: 'WS-bad' is not a valid WorkstreamId. Identifier of a "
        "workstream, e.g. ws-pipeline-plus-1a-task-queue: 'ws-' then lowercase letters, digits and '-'."
    ) in lines
    # The per-file hooks name only the invalid file; the set check also names the phases left dangling by it.
    per_file = done.stdout.split(NAMES[2])[0]
    assert "PH-01A" not in per_file
    assert "a/b/phases/PH-00.yml" in done.stdout.split(NAMES[2])[1]


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_pre_commit_plan_check_reports_a_set_level_problem(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    files = dict(VALID)
    files["phases/PH-00.yaml"] = files["phases/PH-00.yaml"].replace("depends_on: []", 'depends_on: ["PH-99"]')
    root = consumer(tmp_path / "set", hook_repo, files)
    done = pre_commit(root, pre_commit_home)
    assert done.returncode == 1
    assert statuses(done.stdout) == {NAMES[0]: "Passed", NAMES[1]: "Passed", NAMES[2]: "Failed"}, done.stdout
    assert (
        "phases/PH-00.yaml:7:14: $.depends_on[0]: depends on unknown phase 'PH-99': "
        "no valid spec in the set declares it"
    ) in done.stdout.splitlines()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_recommended_hook_reports_each_problem_once(
    tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path
) -> None:
    files = dict(VALID)
    files["phases/PH-00.yaml"] = invalid_phase().replace('title: "Package skeleton"', 'title: ""')
    root = consumer(tmp_path / "once", hook_repo, files, hooks=RECOMMENDED)
    done = pre_commit(root, pre_commit_home)
    assert done.returncode == 1
    assert statuses(done.stdout) == {NAMES[2]: "Failed"}
    problems = [line for line in done.stdout.splitlines() if re.match(r"\S+:\d+:\d+: \$", line)]
    assert len(problems) >= 2  # the bad workstream id and the empty title, each on its own line
    assert len(problems) == len(set(problems))
    assert any("$.workstream_id: 'WS-bad'" in line for line in problems)
    assert any("$.title" in line for line in problems)


def test_the_guide_recommends_one_hook_that_exists() -> None:
    guide = (REPO_ROOT / "docs" / "guides" / "pre-commit.md").read_text(encoding="utf-8")
    config = yaml.safe_load(re.findall(r"^```yaml\n(.*?)^```$", guide, re.M | re.S)[0])
    hooks = [hook["id"] for repo in config["repos"] for hook in repo["hooks"]]
    assert tuple(hooks) == RECOMMENDED
    published = {h["id"] for h in yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))}
    assert set(hooks) <= published
