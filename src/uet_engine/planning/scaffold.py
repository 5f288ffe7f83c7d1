"""What ``uet init`` puts in a repository so that its first phase can be checked, planned and run.

Why a module of its own: the files are the product (a commented example spec that validates and plans,
the repository's config, a pre-commit hook, ``.runs/`` kept out of git, and the editor's schema mapping),
and their text is decided here, away from the command that writes them, so tests can hold the text to
the schemas. Nothing here touches the disk except to read what is already there: ``plan`` says what to
create or change and ``uet init`` writes it.

The same goes for the skeleton ``uet new phase`` writes without a template (``phase_skeleton``): a
commented PhaseSpec that validates, plans and runs as it is, for the user to fill in, and the checks
against the folder it goes into (``check_folder``), so the new file does not break ``uet plan``.

Editors find the phase schema at its ``$id`` (the stable URL the docs site serves it under) unless asked
for the copy installed with the package (``local=True``), which works offline but names this machine's
path.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from uet_contracts import CONTRACTS, Contract, ContractError, contract_files, contract_named, read_text
from uet_engine.errors import NewPhaseRefused

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


# -- the skeleton of ``uet new phase`` (no template) -------------------------------------------------------

NOTES_DIR = "notes"  # where the skeleton's one step writes its note, notes/PHASE_ID.md
TITLE_MAX = 200  # PhaseSpec.title's maxLength
# What the schema's id patterns say, in the words an error message uses.
ID_RULES = {
    "PhaseId": "PH- then a letter or digit, then up to 63 letters, digits, '.', '_' or '-' (e.g. PH-10)",
    "WorkstreamId": "ws- then a lowercase letter or digit, then up to 127 lowercase letters, digits or '-' "
    "(e.g. ws-parser)",
}

SKELETON_HEAD = """\
{modeline}#
# Phase {phase_id}, written by `uet new phase`. As it is, it validates, plans and runs: its one
# step writes {note} and its check reads the note back. Replace each part marked "replace"
# with the phase's real work.
{commands}# Every field is described at {docs}reference/phase_spec/
"""
SKELETON_COMMANDS = {
    "validate": "checks each file against the PhaseSpec schema",
    "plan": "checks the set (ids, dependencies, cycles) and prints its DAG",
    "run": "runs the workstreams and records what happened in .runs/",
}


@functools.cache
def _id_pattern(name: str) -> re.Pattern[str]:
    """The schema's pattern for the id ``name`` (a ``$defs`` entry of the bundled PhaseSpec schema)."""
    bundled = json.loads(contract_named("phase_spec").bundled_path.read_text(encoding="utf-8"))
    return re.compile(bundled["$defs"][name]["pattern"])


def _check_id(option: str, value: str, kind: str) -> None:
    found = _id_pattern(kind).search(value)
    if found is None or found.group(0) != value:  # "$" also matches before a final newline
        raise NewPhaseRefused(f"{option} {value!r} is not a valid id: write {ID_RULES[kind]}")


def check_arguments(phase_id: str, workstream_id: str, depends_on: Sequence[str], title: str | None) -> None:
    """``NewPhaseRefused`` for values that cannot make a valid skeleton, naming the option (first problem)."""
    _check_id("PHASE_ID", phase_id, "PhaseId")
    _check_id("--workstream", workstream_id, "WorkstreamId")
    seen: set[str] = set()
    for dependency in depends_on:
        _check_id("--depends-on", dependency, "PhaseId")
        if dependency == phase_id:
            raise NewPhaseRefused(f"--depends-on {dependency}: a phase cannot depend on itself")
        if dependency in seen:
            raise NewPhaseRefused(f"--depends-on {dependency}: given twice")
        seen.add(dependency)
    if title is not None and (not title.strip() or len(title) > TITLE_MAX):
        raise NewPhaseRefused(f"--title must be 1 to {TITLE_MAX} characters, not only spaces (got {len(title)})")


def _commented(text: str, comment: str) -> str:
    """``text`` and its comment, the comments aligned at column 35 as in the example spec."""
    return f"{text.ljust(33)} # {comment}" if len(text) < 34 else f"{text}  # {comment}"


def _quoted(value: object) -> str:
    """A YAML flow value: JSON is valid YAML, and json.dumps escapes what a YAML scalar cannot hold."""
    return json.dumps(value, ensure_ascii=False)


def phase_skeleton(
    phase_id: str,
    workstream_id: str,
    depends_on: Sequence[str] = (),
    title: str | None = None,
    *,
    specs: str = SPECS_DIR,
    local: bool = False,
) -> str:
    """The commented YAML text of a new phase's skeleton (``NewPhaseRefused`` for unusable values).

    Its one step writes ``notes/PHASE_ID.md`` (the file scope's one ``create`` entry, named after the phase
    so that two skeletons never claim the same file) with Python, the runner every machine with uet has;
    its acceptance check reads the note back. ``specs`` is the folder named in the comments' commands.
    """
    check_arguments(phase_id, workstream_id, depends_on, title)
    note = f"{NOTES_DIR}/{phase_id}.md"
    title = title if title is not None else f"New phase {phase_id}"
    content = f"# {phase_id}: {title}\n"
    write = (
        f"import pathlib; note = pathlib.Path({note!r}); note.parent.mkdir(exist_ok=True); "
        f"note.write_text({content!r}, encoding='utf-8')"
    )
    check = f"import pathlib; assert pathlib.Path({note!r}).read_text(encoding='utf-8') == {content!r}"
    width = max(len(f"uet {command} {specs}") for command in SKELETON_COMMANDS) + 2
    commands = "".join(f"#   {f'uet {c} {specs}'.ljust(width)}{what}\n" for c, what in SKELETON_COMMANDS.items())
    head = SKELETON_HEAD.format(
        modeline=_modeline("phase_spec", local), phase_id=phase_id, note=note, commands=commands, docs=docs_url()
    )
    lines = [
        _commented(f"phase_id: {_quoted(phase_id)}", "unique in the folder; other phases name it in depends_on"),
        _commented(f"workstream_id: {_quoted(workstream_id)}", "unique in the folder; uet run --ws-id picks it"),
        _commented(f"title: {_quoted(title)}", f"replace: a short title (up to {TITLE_MAX} characters)"),
        _commented(
            f"objective: {_quoted(f'Replace this with what {phase_id} must achieve.')}",
            "replace: one or two sentences",
        ),
        _commented('phase_type: "implementation"', "or integration, refactor, test, documentation, ..."),
        _commented(f"depends_on: {_quoted(list(depends_on))}", "phase ids that must succeed before this one starts"),
        _commented("may_run_parallel_with: []", "phases that may run at the same time as this one"),
        "",
        _commented("file_scope:", "replace: where the workstream may write; any other change fails it"),
        _commented("  create:", "files the steps create (they must not exist yet)"),
        f"    - {_quoted(note)}",
        _commented("  modify: []", "existing files the steps change"),
        _commented("  read_only: []", "files the steps only read"),
        "",
        _commented("steps:", "replace: the commands run in order, in the workstream's worktree"),
        '  - operation_kind: "EXEC-ATOMIC-CREATE"',
        _commented('    tool: "python"', "sh, python or powershell; python runs the text with python -c"),
        f"    description: {_quoted(f'Writes {note}; replace it with the phase' + chr(39) + 's work.')}",
        f"    run: {_quoted(write)}",
        "",
        _commented("acceptance:", "replace: the checks that prove the phase succeeded; every one must pass"),
        "  python:",
        f"    - {_quoted(check)}",
    ]
    return head + "\n".join(lines) + "\n"


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it: several times faster


def _spec_ids(path: Path) -> tuple[str, str | None] | None:
    """(phase_id, workstream_id) of a file that holds a phase spec, None when it is not one (or unreadable)."""
    try:
        data = yaml.load(read_text(path), Loader=_LOADER)
    except (ContractError, yaml.YAMLError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("phase_id"), str):
        return None
    workstream = data.get("workstream_id")
    return data["phase_id"], workstream if isinstance(workstream, str) else None


def check_folder(
    folder: Path,
    phase_id: str,
    workstream_id: str,
    depends_on: Sequence[str],
    *,
    replacing: Path | None = None,
    allow_unknown: bool = False,
) -> None:
    """``NewPhaseRefused`` when the new spec would break the phase set of ``folder`` (the output's folder).

    The set is what ``uet plan FOLDER`` reads: every YAML or JSON file below it that holds a ``phase_id``,
    except in hidden folders (``.runs/`` keeps worktrees with copies of the specs) and except ``replacing``
    (the file being overwritten with --force). The new phase's id and workstream id must be new to it;
    when it holds specs, every dependency must be one of them unless ``allow_unknown``. A folder without
    specs takes any dependency: its phases may be written in any order.
    """
    if not folder.is_dir():
        return
    skip = replacing.resolve() if replacing is not None and replacing.exists() else None
    phases: dict[str, Path] = {}
    workstreams: dict[str, str] = {}
    for path in contract_files(folder):
        if any(part.startswith(".") for part in path.relative_to(folder).parts[:-1]) or path.resolve() == skip:
            continue
        ids = _spec_ids(path)
        if ids is None:
            continue
        phases.setdefault(ids[0], path)
        if ids[1] is not None:
            workstreams.setdefault(ids[1], ids[0])
    if phase_id in phases:
        raise NewPhaseRefused(f"phase id {phase_id} is already used by {phases[phase_id].as_posix()}")
    if workstream_id in workstreams:
        owner = workstreams[workstream_id]
        raise NewPhaseRefused(f"--workstream {workstream_id} is already used by {owner} in {phases[owner].as_posix()}")
    unknown = [dependency for dependency in depends_on if dependency not in phases]
    if phases and unknown and not allow_unknown:
        known = ", ".join(sorted(phases))
        raise NewPhaseRefused(
            f"--depends-on {unknown[0]}: no phase spec in {folder.as_posix()} defines it (it has: {known}); "
            "pass --allow-unknown to write it anyway"
        )
