"""Tool profiles: how a step with ``tool: aider`` (an AI coding tool, or any program) is run.

A profile maps a tool id to a command line with placeholders, extra environment variables and a default
time limit (RepoConfig's ToolProfile). Four are built in, for the tools the users' plans name; the
repository's ``uet.config.yaml`` adds more, or replaces a built-in one with its own command line. Which
tools exist is a planning question (``uet plan`` refuses a step naming an unknown one); filling in the
placeholders and starting the tool is execution's (``uet_engine.execution.agents``).

The built-in command lines run each tool once, non-interactively, in the workstream's worktree, and let
it edit files without asking (the engine's file-scope check and patch review are the guard rails):

- ``aider``: Aider (``--message-file``, ``--yes-always``, no commits or .gitignore edits of its own);
- ``codex``: the OpenAI Codex CLI (``codex exec --full-auto``);
- ``claude-code``: Claude Code (``claude -p`` with ``--permission-mode acceptEdits``);
- ``copilot``: the GitHub Copilot CLI (``copilot -p`` with ``--allow-all-tools``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final, get_args

import uet_contracts
from uet_contracts import RepoConfig, Runner, ToolProfile

CONFIG_FILE: Final = "uet.config.yaml"
"""The repository config file, at the root of the repository (RepoConfig)."""

AI_TIMEOUT_S: Final = 1800.0

BUILTIN: Final[Mapping[str, ToolProfile]] = {
    "aider": ToolProfile(
        command=[
            "aider",
            "--yes-always",
            "--no-auto-commits",
            "--no-gitignore",
            "--no-check-update",
            "--message-file",
            "{prompt_file}",
            "{files}",
        ],
        timeout_s=AI_TIMEOUT_S,
        description="Aider, one message, non-interactive, no commits of its own",
    ),
    "codex": ToolProfile(
        command=["codex", "exec", "--full-auto", "{prompt}"],
        timeout_s=AI_TIMEOUT_S,
        description="OpenAI Codex CLI, non-interactive (codex exec)",
    ),
    "claude-code": ToolProfile(
        command=["claude", "-p", "{prompt}", "--permission-mode", "acceptEdits"],
        timeout_s=AI_TIMEOUT_S,
        description="Claude Code in print mode, allowed to edit files",
    ),
    "copilot": ToolProfile(
        command=["copilot", "-p", "{prompt}", "--allow-all-tools"],
        timeout_s=AI_TIMEOUT_S,
        description="GitHub Copilot CLI, non-interactive",
    ),
}

ALIASES: Final[Mapping[str, str]] = {
    "claude": "claude-code",
    "claude_code": "claude-code",
    "github-copilot": "copilot",
    "github_copilot": "copilot",
    "copilot-cli": "copilot",
    "openai-codex": "codex",
}
"""Other names the users' plans give the built-in tools (``uet import`` maps them)."""

RUNNERS: Final[frozenset[str]] = frozenset(get_args(Runner))


def is_runner(tool: str) -> bool:
    """Whether a step's ``tool`` is a runner (sh, python, powershell) rather than a tool profile."""
    return tool in RUNNERS


def profiles(config: RepoConfig | None) -> dict[str, ToolProfile]:
    """The profiles a repository has: the built-in ones, with its config's added or put in their place."""
    found = dict(BUILTIN)
    if config is not None and config.tool_profiles:
        found.update(config.tool_profiles)
    return dict(sorted(found.items()))


def builtin_id(name: str) -> str | None:
    """The built-in profile a plan's tool name means (``github-copilot`` → ``copilot``), None for others."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    return key if key in BUILTIN else None


def read_config(explicit: str | None, root: Path) -> RepoConfig | None:
    """The RepoConfig of ``explicit`` (a ``--config FILE``), else of ``root/uet.config.yaml`` when there is one.

    ``ContractError`` (located) when the file cannot be read or is not a valid RepoConfig.
    """
    path = Path(explicit) if explicit is not None else root / CONFIG_FILE
    if explicit is None and not path.is_file():
        return None
    return uet_contracts.load(path, RepoConfig)


def how_to_configure(tool: str) -> str:
    """The hint that ends every "tool not found" message."""
    return (
        f"install it, or define tool_profiles.{tool}.command in {CONFIG_FILE} at the repository root "
        "with the command line that runs it"
    )
