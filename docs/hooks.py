"""mkdocs hooks: put the generated parts into the site, so no page can drift from what it documents.

- ``on_files`` adds the schema reference pages that ``python -m codegen`` writes to ``generated/reference/``
  (files starting with ``_`` are tables that other pages include, not pages), and serves every schema at
  its ``$id`` below ``site_url`` (each contract's self-contained bundle, and ``common.schema.json``) with a
  SchemaStore-style catalog of them at ``schemas/catalog.json``, so editors and tools can fetch them;
- ``on_page_markdown`` replaces two markers with output rendered at build time:
  ``<!-- uet:cli -->`` becomes the help of ``uet`` and every subcommand, taken from
  ``uet_engine.cli.build_parser()``; ``<!-- uet:plan-mermaid DIR -->`` becomes the Mermaid diagram that
  ``uet plan DIR --format mermaid`` prints, and ``<!-- uet:plan-mermaid DIR --tier TIER -->`` that of
  ``uet plan DIR --tier TIER --format mermaid`` (the module or task tier); ``<!-- uet:import-mapping
  v3|legacy -->`` becomes the field mapping table of ``uet import`` for that format, rendered from the
  mapping data the importer runs on.

Any failure (a missing generated folder, a command that fails, an unknown marker) stops the build
with a message saying what to run; a page is never published with a stale or empty block.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

MARKER = re.compile(r"<!--\s*uet:(?P<name>[a-z-]+)(?P<args>[^>]*?)\s*-->")
HELP_WIDTH = "80"


def _root(config: Any) -> Path:
    return Path(config.config_file_path).resolve().parent


def on_files(files: Files, config: Any) -> Files:
    """Adds ``generated/reference/*.md`` as ``reference/*.md``."""
    folder = _root(config) / "generated" / "reference"
    pages = sorted(p for p in folder.glob("*.md") if not p.name.startswith("_"))
    if not pages:
        raise PluginError(f"{folder}: no reference pages; run `python -m codegen` first")
    for path in pages:
        files.append(File.generated(config, f"reference/{path.name}", abs_src_path=str(path)))
    for uri, source in schema_files(_root(config), config.site_url or "").items():
        files.append(File.generated(config, uri, abs_src_path=str(source)))
    files.append(File.generated(config, CATALOG, content=catalog(config.site_url or "")))
    return files


CATALOG = "schemas/catalog.json"


def schema_files(root: Path, site_url: str) -> dict[str, Path]:
    """``{path on the site: file}`` of every schema, each at the path its ``$id`` names below ``site_url``."""
    sources = sorted((root / "generated" / "bundled").glob("*.schema.json"))
    sources.append(root / "schemas" / "v1" / "common.schema.json")  # referenced by the canonical schemas
    served = {}
    for source in sources:
        schema_id = json.loads(source.read_text(encoding="utf-8"))["$id"]
        if not site_url or not schema_id.startswith(site_url):
            raise PluginError(f"{source}: $id {schema_id} is not below site_url {site_url!r} in mkdocs.yml")
        served[schema_id.removeprefix(site_url)] = source
    return served


def catalog(site_url: str) -> str:
    """A SchemaStore-style catalog (https://json.schemastore.org/schema-catalog.json) of the served schemas."""
    from uet_contracts import CONTRACTS
    from uet_engine.planning import scaffold

    file_match = {"phase_spec": scaffold.PHASE_GLOBS, "repo_config": [scaffold.CONFIG_FILE]}
    entries = []
    for contract in CONTRACTS:
        schema = json.loads(contract.bundled_path.read_text(encoding="utf-8"))
        entry = {
            "name": f"UET {schema.get('title', contract.type_name)}",
            "description": schema["description"].split(". ")[0].rstrip(".") + ".",
            "url": schema["$id"],
        }
        if contract.kind in file_match:
            entry["fileMatch"] = file_match[contract.kind]
        entries.append(entry)
    document = {"$schema": "https://json.schemastore.org/schema-catalog.json", "version": 1, "schemas": entries}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command line, parser)`` for a parser and, depth first, every subcommand under it."""
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, f"{prefix} {name}")


def cli_reference() -> str:
    """Markdown with the ``--help`` of ``uet`` and of each subcommand, in ``uet --help`` order."""
    from uet_engine.cli import build_parser

    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = HELP_WIDTH  # argparse wraps to the terminal width: fix it so builds are identical
    try:
        sections = []
        for command, parser in _subcommands(build_parser(), "uet"):
            level = "#" * min(2 + command.count(" "), 4)
            sections.append(f"{level} `{command}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
    finally:
        if saved is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(sections)


def plan_mermaid(specs_dir: str, root: Path, tier: str | None = None) -> str:
    """A ``mermaid`` fence with what ``uet plan SPECS_DIR [--tier TIER] --format mermaid`` prints."""
    options = ["--tier", tier] if tier else []
    command = [sys.executable, "-m", "uet_engine", "plan", specs_dir, *options, "--format", "mermaid"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not done.stdout.strip():
        detail = done.stderr.strip() or "no output"
        shown = " ".join([specs_dir, *options])
        raise PluginError(f"`uet plan {shown} --format mermaid` failed (exit {done.returncode}): {detail}")
    return f"```mermaid\n{done.stdout.strip()}\n```"


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Expands the ``<!-- uet:... -->`` markers of a page."""

    def expand(match: re.Match[str]) -> str:
        name, args = match.group("name"), match.group("args").split()
        if name == "cli" and not args:
            return cli_reference()
        if name == "plan-mermaid" and len(args) == 1:
            return plan_mermaid(args[0], _root(config))
        if name == "plan-mermaid" and len(args) == 3 and args[1] == "--tier":
            return plan_mermaid(args[0], _root(config), args[2])
        if name == "import-mapping" and len(args) == 1 and args[0] in ("v3", "legacy"):
            from uet_engine.planning.importing.mapping import markdown_table

            return markdown_table(args[0])
        raise PluginError(f"{page.file.src_uri}: unknown marker {match.group(0)!r}")

    return MARKER.sub(expand, markdown)
