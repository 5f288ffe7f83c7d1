"""No file in the repository refers to a file outside it: a document or folder that only exists beside
some checkouts (a design note, a steering folder) is not there for a reader of the repository, nor for CI."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT

# Documents and folders that exist only beside some checkouts, never in the repository.
OUTSIDE_NAMES = re.compile(r"DESIGN\.md|TOOL-NOTES|(?<![\w.-])(?:\.\./)*shared/")
# Relative link targets in Markdown (``[text](target)``) and pymdownx snippets (``--8<-- "target"``).
LINK_TARGETS = re.compile(r"\]\(([^)\s#]+)[^)]*\)|--8<-- \"([^\"]+)\"")
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yml", ".yaml", ".json", ".txt", ".cfg", ".ini", ".sh", ".html"}


def repository_files(root: Path) -> list[Path]:
    """The text files of ``root`` that git tracks or would (every text file below it when it is not a
    checkout), less this module, whose patterns and examples name what they look for."""
    command = ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    done = subprocess.run(command, cwd=root, capture_output=True, check=False)
    names = done.stdout.decode().split("\0") if done.returncode == 0 else []
    paths = [root / name for name in names if name] or [p for p in root.rglob("*") if p.is_file()]
    return sorted(
        p
        for p in paths
        if p.is_file() and (p.suffix in TEXT_SUFFIXES or p.parent.name == ".ci") and p.resolve() != Path(__file__)
    )


def outside_references(root: Path) -> list[str]:
    """Every reference in ``root``'s files to a file outside ``root``, as ``file:line: what``."""
    root = root.resolve()
    found = []
    for path in repository_files(root):
        text = path.read_text(encoding="utf-8", errors="replace")
        where = path.relative_to(root).as_posix()
        for match in OUTSIDE_NAMES.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{where}:{line}: names {match.group()!r}, which is not in the repository")
        if path.suffix != ".md":
            continue
        for match in LINK_TARGETS.finditer(text):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z]+:", target):  # https:, mailto:, …
                continue
            base = root if match.group(2) else path.parent  # snippets are read from the repository root
            if not (base / target).resolve().is_relative_to(root):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{where}:{line}: links to {target!r}, outside the repository")
    return found


def test_no_file_refers_to_a_file_outside_the_repository() -> None:
    assert outside_references(REPO_ROOT) == []


def test_references_outside_are_named(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(
        "See DESIGN.md.\n[ok](other.md) [up](../../notes.md) [web](https://example.org/x)\n"
        '--8<-- "examples/a.yaml"\n--8<-- "../shared/examples/a.yaml"\n',
        encoding="utf-8",
    )
    (tmp_path / "tool.py").write_text('"""Why: see TOOL-NOTES."""\nEXAMPLES = "../shared/examples"\n')
    (tmp_path / "fine.py").write_text('BAD_PATH = "../x"  # test data, not a reference\nshared_defs = 1\n')
    assert outside_references(tmp_path) == [
        "docs/page.md:1: names 'DESIGN.md', which is not in the repository",
        "docs/page.md:4: names '../shared/', which is not in the repository",
        "docs/page.md:2: links to '../../notes.md', outside the repository",
        "docs/page.md:4: links to '../shared/examples/a.yaml', outside the repository",
        "tool.py:1: names 'TOOL-NOTES', which is not in the repository",
        "tool.py:2: names '../shared/', which is not in the repository",
    ]
