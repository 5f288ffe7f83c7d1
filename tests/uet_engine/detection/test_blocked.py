"""Reading which writes a sandbox refused from what a command printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from uet_engine.detection.blocked import blocked_writes, describe

WT = Path("/repo/.runs/worktrees/run-1/slot-0")
TMP = Path("/tmp")


@pytest.mark.parametrize(
    ("text", "paths", "read_only_fs"),
    [
        ("/bin/sh: 1: cannot create ../../../../escaped.txt: Read-only file system\n", ["/repo/escaped.txt"], True),
        ("touch: cannot touch '/etc/x': Read-only file system\n", ["/etc/x"], True),
        ("PermissionError: [Errno 13] Permission denied: '/home/me/x'\n", ["/home/me/x"], False),
        ("mkdir: cannot create directory ‘/opt/d’: Operation not permitted\n", ["/opt/d"], False),
        ("sh: 1: cannot create out.txt: Permission denied\n", [], False),  # inside the worktree: not the sandbox
        ("cannot create /tmp/x: Permission denied\n", [], False),  # the private temporary folder is writable
        ("ssh: Permission denied (publickey).\n", [], False),
        ("error: could not lock config file /repo/.git/config: Read-only file system\n", ["/repo/.git/config"], True),
        ("all fine\n", [], False),
    ],
)
def test_blocked_writes(text: str, paths: list[str], read_only_fs: bool) -> None:
    assert blocked_writes(text, WT, writable) == ([Path(p) for p in paths], read_only_fs)


def writable(path: Path) -> bool:
    return path != WT / "config.yaml" and (WT in path.parents or TMP in path.parents)


def test_a_protected_path_inside_the_worktree_counts() -> None:
    text = "sh: 1: cannot create config.yaml: Read-only file system\n"
    assert blocked_writes(text, WT, writable) == ([WT / "config.yaml"], True)


def test_describe_names_paths_as_a_person_reads_them() -> None:
    root = Path("/repo")
    assert describe(Path("/repo/escaped.txt"), root, WT) == "escaped.txt (in the repository, outside the worktree)"
    assert describe(WT / "config.yaml", root, WT) == "config.yaml (read-only)"
    assert describe(Path("/etc/x"), root, WT) == "/etc/x"
