"""The file-scope check: did a workstream touch only what its ``file_scope`` allows?

Entries are read in the one glob dialect of ``uet_engine.paths`` (gitignore lines anchored at the
repository root: ``*`` stays within a segment, ``**`` crosses them, ``docs`` covers ``docs/a/b.md``,
``setup.py`` is the top-level file only), the same reading ``uet plan`` uses to find phases that may
write the same file, so what the plan lets run side by side cannot collide here.

A touched path is allowed when it matches ``create`` or ``modify`` and matches neither ``read_only``
nor ``forbidden_paths`` (those win when a path matches both). ``create`` means the path did not exist
before the workstream ran; ``modify`` means it did (deleting counts as modifying). A path matching
both lists may be either.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from uet_contracts import FileScope
from uet_engine.paths import compile_entries


def violations(
    file_scope: FileScope,
    changes: Mapping[str, str],
    existed_before: Callable[[str], bool],
) -> dict[str, str]:
    """Each touched path the scope does not allow, mapped to why, in path order."""
    forbidden = compile_entries(file_scope.forbidden_paths or [])
    read_only = compile_entries(file_scope.read_only)
    create = compile_entries(file_scope.create)
    modify = compile_entries(file_scope.modify)
    found: dict[str, str] = {}
    for path in sorted(changes):
        if forbidden.match_file(path):
            found[path] = "it is a forbidden path"
        elif read_only.match_file(path):
            found[path] = "it is read-only"
        else:
            in_create, in_modify = create.match_file(path), modify.match_file(path)
            if not in_create and not in_modify:
                found[path] = "it is outside the file scope (not under create or modify)"
            elif not in_modify and existed_before(path):
                found[path] = "it is listed only under create and existed before"
            elif not in_create and not existed_before(path):
                found[path] = "it is listed only under modify and did not exist before"
    return found


def check_scope(
    file_scope: FileScope,
    changes: Mapping[str, str],
    existed_before: Callable[[str], bool],
) -> list[str]:
    """One message per touched path the scope does not allow, in path order; empty when all is well.

    ``changes`` maps each touched repository path (POSIX) to its change kind (added, modified,
    deleted, renamed); ``existed_before`` tells whether a path existed when the workstream started.
    Each message reads ``PATH: KIND, but WHY``.
    """
    return describe(changes, violations(file_scope, changes, existed_before))


def describe(changes: Mapping[str, str], found: Mapping[str, str]) -> list[str]:
    """``PATH: KIND, but WHY`` for each violation found by ``violations``."""
    return [f"{path}: {changes[path]}, but {why}" for path, why in found.items()]
