"""The file-scope check: every offending path is named, with why."""

from __future__ import annotations

from uet_contracts import FileScope
from uet_engine.detection.scope import check_scope
from uet_engine.paths import compile_entries


def scope(create: list[str], modify: list[str], read_only: list[str], forbidden: list[str] | None = None) -> FileScope:
    return FileScope(create=create, modify=modify, read_only=read_only, forbidden_paths=forbidden)


EXISTING = {"core/state/__init__.py", "config/router.yaml", "README.md", "docs/a.md"}


def existed(path: str) -> bool:
    return path in EXISTING


def test_changes_inside_scope_pass() -> None:
    s = scope(["core/state/task_queue.py", "tests/**"], ["core/state/__init__.py"], ["config/router.yaml"])
    changes = {"core/state/task_queue.py": "added", "tests/a/test_x.py": "added", "core/state/__init__.py": "modified"}
    assert check_scope(s, changes, existed) == []


def test_every_offending_path_is_named_in_path_order() -> None:
    s = scope(["core/new.py"], ["core/state/__init__.py"], ["config/router.yaml"], forbidden=["secrets/**"])
    changes = {
        "secrets/key.pem": "added",
        "config/router.yaml": "modified",
        "elsewhere.txt": "added",
        "core/new.py": "added",
        "README.md": "deleted",
    }
    assert check_scope(s, changes, existed) == [
        "README.md: deleted, but it is outside the file scope (not under create or modify)",
        "config/router.yaml: modified, but it is read-only",
        "elsewhere.txt: added, but it is outside the file scope (not under create or modify)",
        "secrets/key.pem: added, but it is a forbidden path",
    ]


def test_creating_a_path_listed_only_under_modify_is_reported() -> None:
    s = scope([], ["core/*.py"], [])
    assert check_scope(s, {"core/brand_new.py": "added"}, existed) == [
        "core/brand_new.py: added, but it is listed only under modify and did not exist before"
    ]


def test_changing_an_existing_path_listed_only_under_create_is_reported() -> None:
    s = scope(["core/state/__init__.py", "docs/a.md"], [], [])
    assert check_scope(s, {"core/state/__init__.py": "modified", "docs/a.md": "deleted"}, existed) == [
        "core/state/__init__.py: modified, but it is listed only under create and existed before",
        "docs/a.md: deleted, but it is listed only under create and existed before",
    ]


def test_path_in_create_and_modify_may_be_either() -> None:
    s = scope(["core/**"], ["core/**"], [])
    assert check_scope(s, {"core/state/__init__.py": "modified", "core/x.py": "added"}, existed) == []


def test_read_only_wins_over_modify() -> None:
    s = scope([], ["docs/**"], ["docs/a.md"])
    assert check_scope(s, {"docs/a.md": "modified"}, existed) == ["docs/a.md: modified, but it is read-only"]


def test_glob_semantics() -> None:
    spec = compile_entries(["core/*.py", "docs", "a/**/b.txt", "setup.py", "!literal"])
    matches = {p: spec.match_file(p) for p in ["core/a.py", "core/s/a.py", "docs/x/y.md", "a/b.txt", "a/q/r/b.txt"]}
    assert matches == {
        "core/a.py": True,
        "core/s/a.py": False,
        "docs/x/y.md": True,
        "a/b.txt": True,
        "a/q/r/b.txt": True,
    }
    assert spec.match_file("setup.py") and not spec.match_file("pkg/setup.py")
    assert spec.match_file("!literal")
