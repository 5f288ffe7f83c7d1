"""The expected-artifacts check: does every path a phase promises exist after its steps?

A plain path must exist (a file or a folder); a glob (the file-scope dialect, ``uet_engine.paths``) must
match at least one file of the tree. ``.git`` is never looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from uet_engine.paths import matches


def missing_artifacts(tree: Path, expected: Iterable[str]) -> list[str]:
    """The entries of ``expected`` that nothing in ``tree`` satisfies, in their order."""
    missing: list[str] = []
    files: list[str] | None = None
    for entry in expected:
        if not any(wildcard in entry for wildcard in "*?["):
            if not (tree / entry).exists():
                missing.append(entry)
            continue
        if files is None:
            files = _files(tree)
        if not any(matches(entry, name) for name in files):
            missing.append(entry)
    return missing


def _files(tree: Path) -> list[str]:
    found: list[str] = []
    for folder, dirs, names in os.walk(tree):
        dirs[:] = [d for d in dirs if d != ".git"]
        base = Path(folder).relative_to(tree)
        found.extend((base / name).as_posix() for name in names)
    return found
