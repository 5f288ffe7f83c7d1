"""The coordinator end to end, as a real process in a real git repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_dirty_tree_is_the_base_and_survives_the_run(tmp_path: Path) -> None:
    """Uncommitted work is not refused: workstreams build on it and it is still there afterwards."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True)
    (repo / "notes.txt").write_text("mine\n")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "PH-A.json").write_text(
        '{"phase_id": "PH-A", "workstream_id": "ws-a", "title": "t", "objective": "o",'
        ' "phase_type": "implementation", "file_scope": {"create": ["copy.txt"], "modify": [], "read_only": []},'
        ' "steps": [{"operation_kind": "EXEC-ATOMIC-CREATE", "tool": "sh", "run": "cp notes.txt copy.txt"}],'
        ' "acceptance": {"sh": ["test -f copy.txt"]}}'
    )
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "run", str(specs)], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "copy.txt").read_text() == "mine\n"
    assert (repo / "notes.txt").read_text() == "mine\n"
