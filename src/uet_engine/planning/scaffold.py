"""What ``uet init`` puts in a repository so that its first phase can be checked, planned and run.

Why a module of its own: the files are the product (a commented example spec that validates and plans,
the repository's config, a pre-commit hook, ``.runs/`` kept out of git, and the editor's schema mapping),
and their text is decided here, away from the command that writes them, so tests can hold the text to
the schemas. Nothing here touches the disk except to read what is already there: ``plan`` says what to
create or change and ``uet init`` writes it.

Editors find the phase schema at its ``$id`` (the stable URL the docs site serves it under) unless asked
for the copy installed with the package (``local=True``), which works offline but names this machine's
path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from uet_contracts import CONTRACTS, Contract, contract_files, contract_named

SPECS_DIR = "phases"
CONFIG_FILE = "uet.config.yaml"
PRE_COMMIT_FILE = ".pre-commit-config.yaml"
VSCODE_SETTINGS = Path(".vscode") / "settings.json"
IGNORED = ".runs/"
# The files an editor should read as phase specs (VS Code's yaml.schemas globs, relative to the workspace).
PHASE_GLOBS = [f"{SPECS_DIR}/*.yaml", f"{SPECS_DIR}/*.yml", f"{SPECS_DIR}/**/*.yaml", f"{SPECS_DIR}/**/*.yml"]

EXAMPLE_SPEC = """\
{modeline}#
# A phase spec: one phase of work, done by one workstream in a git worktree of its own.
#   uet validate {specs}        checks each file against the PhaseSpec schema
#   uet plan {specs}            checks the set (ids, dependencies, cycles) and prints its DAG
#   uet run {specs}             runs the workstreams and records what happened in .runs/
# Every field is described at {docs}reference/phase_spec/
phase_id: "PH-01"                 # PH- then letters, digits, '.', '_' or '-'; unique in the folder
workstream_id: "ws-hello"         # ws- then lowercase letters, digits and '-'; uet run --ws-id picks it
title: "Say hello"
objective: "Write hello.txt, to show how a phase is run and checked."
phase_type: "implementation"      # or integration, refactor, test, documentation, infrastructure, ...
depends_on: []                    # phase ids that must succeed before this one starts
may_run_parallel_with: []         # phases that may run at the same time as this one

file_scope:                       # where the workstream may write: any other change fails it
  create:
    - "hello.txt"
  modify: []
  read_only: []

steps:                            # commands run in order, in the workstream's worktree
  - operation_kind: "EXEC-ATOMIC-CREATE"
    tool: "python"                # sh, python or powershell; python runs the text with python -c
    run: "open('hello.txt', 'w').write('hello\\\\n')"

acceptance:                       # checks run after the steps; every one must pass
  python:
    - "assert open('hello.txt').read() == 'hello\\\\n'"
"""

CONFIG = """\
{modeline}# The settings uet reads for this repository.
# project_id is written into every run record of the repository's runs.
project_id: "{project}"
"""

PRE_COMMIT_HOOK = """\
  - repo: local
    hooks:
      # One hook, so each problem is reported once: uet plan checks every phase spec (file, line,
      # column, JSON path), then the set (unknown or cyclic depends_on, duplicate ids, clashing writes).
      - id: uet-plan-check
        name: check the phase specs (uet plan)
        entry: uet plan {specs}
        language: system
        pass_filenames: false
        files: ^{specs}/.*\\.ya?ml$
"""

PRE_COMMIT = """\
# pre-commit (https://pre-commit.com): run `pre-commit install` once per clone; every commit is then
# checked. The hook runs the uet installed in your environment; {docs}guides/pre-commit/ says which
# other hooks exist and when to use them.
repos:
{hook}"""

GITIGNORE_LINES = "# uet's run records and worktrees (uet runs list reads them)\n.runs/\n"


@dataclass(frozen=True)
class Change:
    """One file ``uet init`` writes: its path relative to the repository, its new text and why."""

    path: Path
    text: str
    what: str  # "created" or "updated"


@dataclass(frozen=True)
class Plan:
    """What ``uet init`` would do in a folder: the files to write, and notes on what it leaves alone."""

    changes: list[Change]
    kept: list[str]  # one line per file left as it was, saying what to add by hand (if anything)


def schema_ref(contract: Contract, local: bool) -> str:
    """Where an editor gets a contract's schema: its ``$id`` URL, or the installed bundle's path."""
    if local:
        return contract.bundled_path.as_posix()
    return str(json.loads(contract.bundled_path.read_text(encoding="utf-8"))["$id"])


def docs_url() -> str:
    """The docs site's address: the schemas' ``$id``s are served by it under ``schemas/``."""
    return schema_ref(contract_named("phase_spec"), local=False).split("schemas/", 1)[0]


def _modeline(kind: str, local: bool) -> str:
    """A yaml-language-server modeline for files of ``kind``, when that contract exists."""
    found = next((c for c in CONTRACTS if c.kind == kind), None)
    return f"# yaml-language-server: $schema={schema_ref(found, local)}\n" if found else ""


def project_name(root: Path) -> str:
    """A project id from the folder's name (the RepoConfig's ``project_id``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", root.resolve().name).strip("-")[:200] or "project"


def plan(root: Path, *, local: bool = False) -> Plan:
    """The files to write in ``root`` (nothing in it is overwritten: existing files are merged or kept)."""
    docs = docs_url()
    changes: list[Change] = []
    kept: list[str] = []

    specs = root / SPECS_DIR
    if specs.is_dir() and contract_files(specs):
        kept.append(f"{SPECS_DIR}/ already holds phase specs; no example added")
    else:
        spec = EXAMPLE_SPEC.format(modeline=_modeline("phase_spec", local), specs=SPECS_DIR, docs=docs)
        changes.append(Change(Path(SPECS_DIR) / "PH-01.yaml", spec, "created"))

    if (root / CONFIG_FILE).exists():
        kept.append(f"{CONFIG_FILE} exists; left as it is")
    else:
        config = CONFIG.format(modeline=_modeline("repo_config", local), project=project_name(root))
        changes.append(Change(Path(CONFIG_FILE), config, "created"))

    hook = PRE_COMMIT_HOOK.format(specs=SPECS_DIR)
    pre_commit = root / PRE_COMMIT_FILE
    if pre_commit.is_file() and re.search(r"uet[- ]plan", pre_commit.read_text(encoding="utf-8", errors="replace")):
        kept.append(f"{PRE_COMMIT_FILE} already checks the phase specs")
    elif pre_commit.exists():
        kept.append(f"{PRE_COMMIT_FILE} exists; to check the phase specs on commit, add under repos:\n{hook.rstrip()}")
    else:
        changes.append(Change(Path(PRE_COMMIT_FILE), PRE_COMMIT.format(docs=docs, hook=hook), "created"))

    ignore = root / ".gitignore"
    current = ignore.read_text(encoding="utf-8") if ignore.is_file() else ""
    if any(line.strip() in {".runs", ".runs/", "/.runs", "/.runs/"} for line in current.splitlines()):
        kept.append(".gitignore already keeps .runs/ out of git")
    else:
        glue = "\n" if current and not current.endswith("\n") else ""
        changes.append(
            Change(Path(".gitignore"), current + glue + GITIGNORE_LINES, "updated" if current else "created")
        )

    changes.extend(_vscode(root, local, kept))
    return Plan(changes, kept)


def _vscode(root: Path, local: bool, kept: list[str]) -> list[Change]:
    """``.vscode/settings.json`` with ``yaml.schemas`` mapping the phase specs (and the config) to their schemas."""
    mapping: dict[str, str | list[str]] = {schema_ref(contract_named("phase_spec"), local): PHASE_GLOBS}
    config = next((c for c in CONTRACTS if c.kind == "repo_config"), None)
    if config is not None:
        mapping[schema_ref(config, local)] = CONFIG_FILE
    path = root / VSCODE_SETTINGS
    settings: dict[str, object] = {}
    if path.is_file():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            loaded = None
        if not isinstance(loaded, dict):
            snippet = json.dumps({"yaml.schemas": mapping}, indent=2)
            kept.append(f"{VSCODE_SETTINGS.as_posix()} is not plain JSON (comments?); add by hand:\n{snippet}")
            return []
        settings = loaded
    schemas = settings.get("yaml.schemas")
    merged = {**(schemas if isinstance(schemas, dict) else {}), **mapping}
    if merged == schemas:
        kept.append(f"{VSCODE_SETTINGS.as_posix()} already maps the phase specs to their schema")
        return []
    text = json.dumps({**settings, "yaml.schemas": merged}, indent=2, ensure_ascii=False) + "\n"
    return [Change(VSCODE_SETTINGS, text, "updated" if path.is_file() else "created")]
