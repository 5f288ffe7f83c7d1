"""AI-tool steps: a tool profile's command line filled in, and real runs through a fake agent declared as a
profile in uet.config.yaml (no network, no real AI tool)."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import assert_every_record_validates, assert_verify_passes, git, make_repo, rows, uet
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import ExecutionRequest, FileScope, Step, ToolProfile
from uet_engine.execution.agents import request_for
from uet_engine.planning.profiles import BUILTIN

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="the fake agent is a POSIX script, which Windows cannot run: run these tests on Linux or macOS",
)

BASE = ExecutionRequest(
    operation_kind="EXEC-AI-EDIT",
    tool="fake",
    run="placeholder",
    file_scope=FileScope(create=["a.py"], modify=[], read_only=[]),
    tools_used=["fake"],
    context={"task_id": "step/0", "attempt": 1},
)


def test_placeholders_are_filled_in(tmp_path: Path) -> None:
    profile = ToolProfile(
        command=["agent", "--in", "{workdir}", "--message-file", "{prompt_file}", "{files}", "--say={prompt}"],
        env={"AGENT_MODE": "batch"},
        timeout_s=60,
    )
    step = Step(operation_kind="EXEC-AI-EDIT", tool="fake", prompt="Write a", files=["a.py", "b.py"])
    prepared = request_for(BASE, step, {"fake": profile}, tmp_path / "tree", tmp_path)
    assert not isinstance(prepared, str)
    request, env = prepared
    assert request.argv == [
        "agent",
        "--in",
        str(tmp_path / "tree"),
        "--message-file",
        str(tmp_path / "prompt.txt"),
        "a.py",
        "b.py",
        "--say=Write a",
    ]
    assert (tmp_path / "prompt.txt").read_text() == "Write a"
    assert (request.tool, request.timeout_s, env) == ("fake", 60, {"AGENT_MODE": "batch"})
    assert request.run.startswith("agent --in ")


def test_a_profile_without_files_gets_them_in_the_prompt(tmp_path: Path) -> None:
    step = Step(operation_kind="EXEC-AI-EDIT", tool="codex", prompt="Fix it", files=["a.py"], timeout_s=5)
    prepared = request_for(BASE, step, BUILTIN, tmp_path, tmp_path)
    assert not isinstance(prepared, str)
    assert prepared[0].argv == ["codex", "exec", "--full-auto", "Fix it\n\nFiles: a.py"]
    assert prepared[0].timeout_s == 5  # the step's own limit wins over the profile's


def test_a_prompt_file_is_read_from_the_tree(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.md").write_text("From the file")
    step = Step(operation_kind="EXEC-AI-EDIT", tool="claude-code", prompt_file="prompts/p.md")
    prepared = request_for(BASE, step, BUILTIN, tmp_path, tmp_path)
    assert not isinstance(prepared, str)
    assert prepared[0].argv == ["claude", "-p", "From the file", "--permission-mode", "acceptEdits"]
    missing = Step(operation_kind="EXEC-AI-EDIT", tool="claude-code", prompt_file="prompts/none.md")
    assert request_for(BASE, missing, BUILTIN, tmp_path, tmp_path) == (
        "prompt_file prompts/none.md does not exist in the workstream's tree"
    )


FAKE_AGENT = """\
#!{python}
# A stand-in for an AI coding tool: writes every file it is given, with the prompt as its content.
import sys
args = sys.argv[1:]
prompt = open(args[args.index("--message-file") + 1]).read()
for name in args[args.index("--message-file") + 2:]:
    with open(name, "w") as handle:
        handle.write(prompt + "\\n")
print("fake agent edited", len(args) - args.index("--message-file") - 2, "file(s)")
"""


def _agent_repo(tmp_path: Path, config: str, tool: str) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    agent = bin_dir / "fake-agent"
    agent.write_text(FAKE_AGENT.format(python=sys.executable))
    agent.chmod(agent.stat().st_mode | stat.S_IXUSR)
    repo = make_repo(tmp_path / "repo", {"uet.config.yaml": config, "README.md": "# demo\n"})
    data = spec("PH-01", create=["src/a.py"])
    data["steps"] = [{"operation_kind": "CREATE_FILE", "tool": tool, "prompt": "Write module a", "files": ["src/a.py"]}]
    data["acceptance"] = {"sh": [{"run": "cat src/a.py", "expect_output": "Write module a"}]}
    (repo / "src").mkdir()
    (repo / "src" / ".keep").write_text("")
    write(repo / "phases", data)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "specs")
    return repo, {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


CONFIG = textwrap.dedent(
    """\
    project_id: pipeline-plus
    tool_profiles:
      fake-agent:
        command: [fake-agent, --message-file, "{prompt_file}", "{files}"]
        env: {FAKE_AGENT_MODE: batch}
        timeout_s: 60
    """
)


def test_a_step_runs_through_a_profile_of_the_repo_config(tmp_path: Path) -> None:
    repo, env = _agent_repo(tmp_path, CONFIG, "fake-agent")
    done = uet(repo, "run", "phases", "--jobs", "1", env=env)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src" / "a.py").read_text() == "Write module a\n"
    record = rows(repo, "uet_runs")[-1]
    assert (record["status"], record["project_id"]) == ("succeeded", "pipeline-plus")
    step = next(a for a in rows(repo, "step_attempts") if a["kind"] == "step" and a.get("result"))
    assert step["request"]["tool"] == "fake-agent"
    assert step["request"]["argv"][0] == "fake-agent" and step["request"]["argv"][-1] == "src/a.py"
    assert step["result"]["stdout"] == "fake agent edited 1 file(s)\n"
    assert step["result"]["files_touched"] == ["src/a.py"]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


def test_a_config_profile_replaces_a_built_in_one(tmp_path: Path) -> None:
    config = CONFIG.replace("fake-agent:\n", "aider:\n", 1)
    repo, env = _agent_repo(tmp_path, config, "aider")
    done = uet(repo, "run", "phases", "--jobs", "1", env=env)
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "src" / "a.py").exists()


def test_a_missing_executable_fails_the_step_naming_the_tool(tmp_path: Path) -> None:
    repo, _ = _agent_repo(tmp_path, "project_id: p\n", "aider")
    done = uet(repo, "run", "phases", "--jobs", "1", env={"PATH": "/usr/bin:/bin"})
    assert done.code == 1
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "failed"
    assert record["reason"] == (
        "step/0 (aider) failed: tool 'aider': 'aider' is not installed or not on PATH; install it, or define"
        " tool_profiles.aider.command in uet.config.yaml at the repository root with the command line that runs it"
    )
    assert [e["error_type"] for e in rows(repo, "error_events")] == ["tool_missing"]
    assert not (repo / "src" / "a.py").exists()


def test_an_unknown_tool_is_a_plan_problem(tmp_path: Path) -> None:
    repo, env = _agent_repo(tmp_path, "project_id: p\n", "fake-agent")
    done = uet(repo, "run", "phases", "--jobs", "1", env=env)
    assert done.code == 1
    assert "$.steps[0].tool: unknown tool 'fake-agent': not a runner (sh, python, powershell) nor a tool profile" in (
        done.stderr
    )
    assert "define tool_profiles.fake-agent in uet.config.yaml" in done.stderr
    assert not (repo / ".runs").exists()


def test_an_invalid_repo_config_is_refused_with_its_location(tmp_path: Path) -> None:
    repo, env = _agent_repo(tmp_path, "tool_profiles:\n  fake-agent:\n    cmd: [x]\n", "fake-agent")
    done = uet(repo, "run", "phases", "--jobs", "1", env=env)
    assert done.code == 2
    assert f"{repo}/uet.config.yaml:3:5: $.tool_profiles['fake-agent'].cmd: unknown field 'cmd'" in done.stderr
    assert done.stderr.endswith("is not a valid RepoConfig; nothing run\n")
