"""The pattern registry, ``<repo>/patterns/registry/PATTERN_INDEX.yaml`` (a PatternIndex).

It is a file people read, review in pull requests and edit, so it is handled with care:

- validated on every read (the contract, plus what a schema cannot say: each ``pattern_id`` once) and
  before every write; a broken file gives located problems (file, line, column, JSON path) and is
  **never overwritten** while broken — every write goes through ``update``, which reads it first;
- written atomically (``saving.atomic``), patterns sorted by ``pattern_id`` and fields in the
  contract's order, so a change shows as a small diff; a missing file reads as an empty registry.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

import yaml

import uet_contracts
from uet_contracts import ContractError, PatternIndex, Problem
from uet_engine.errors import RegistryError
from uet_engine.saving.atomic import write_atomic

INDEX_FILE: Final = Path("patterns") / "registry" / "PATTERN_INDEX.yaml"

HEADER: Final = (
    "# The pattern registry (PatternIndex, schemas/v1/pattern_index.schema.json), kept by `uet patterns approve`\n"
    "# and `uet patterns mine` (proven uses). Edit it by hand if you like: uet validates it on every read and\n"
    "# write, keeps the patterns sorted by pattern_id, and never overwrites it while it is broken.\n"
)


def index_path(repo: Path) -> Path:
    """Where a repository's pattern registry lives."""
    return Path(repo) / INDEX_FILE


def read(repo: Path) -> PatternIndex:
    """The repository's registry (empty when there is none); ``RegistryError`` with every problem if broken."""
    path = index_path(repo)
    if not path.exists():
        return PatternIndex(index_version=1, patterns=[])
    try:
        index = uet_contracts.load(path, PatternIndex)
    except ContractError as exc:
        raise RegistryError(exc.errors, f"{path} is broken; fix it first (it is left as it is)") from None
    problems = _duplicates(path, index)
    if problems:
        raise RegistryError(problems, f"{path} is broken; fix it first (it is left as it is)")
    return index


def _duplicates(path: Path, index: PatternIndex) -> list[Problem]:
    seen: dict[str, int] = {}
    problems = []
    text: str | None = None
    for i, entry in enumerate(index.patterns):
        first = seen.setdefault(entry.pattern_id, i)
        if first != i:
            text = text if text is not None else uet_contracts.read_text(path)
            parts: list[str | int] = ["patterns", i, "pattern_id"]
            line, column = uet_contracts.locate(text, parts)
            message = f"pattern_id {entry.pattern_id!r} is already listed at patterns[{first}]"
            problems.append(Problem(message, f"$.patterns[{i}].pattern_id", str(path), line, column))
    return problems


def render(index: PatternIndex) -> str:
    """The registry's text: the header, then the index as YAML, patterns sorted by id (validated first)."""
    ordered = PatternIndex(
        index_version=index.index_version, patterns=sorted(index.patterns, key=lambda p: p.pattern_id)
    )
    data = uet_contracts.to_dict(ordered)
    uet_contracts.check(data, PatternIndex)
    return HEADER + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def update(repo: Path, change: Callable[[PatternIndex], PatternIndex]) -> PatternIndex:
    """Reads the registry (refusing a broken one), applies ``change`` and writes the result atomically.

    Nothing is written when the result equals what was read. Returns the registry as written.
    """
    current = read(repo)
    changed = change(current)
    path = index_path(repo)
    text = render(changed)
    if path.exists() and render(current) == text:
        return changed
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text)
    return changed
