"""One glob dialect: ``uet plan``'s overlap check and ``uet run``'s scope check read entries the same way."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import REPO_ROOT
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import FileScope
from uet_engine.detection.scope import violations
from uet_engine.paths import PathIndex, matches, may_overlap, shared_path
from uet_engine.planning.phase_set import PlanError, load_phase_set


def allowed_at_run(entry: str, path: str) -> bool:
    """Whether ``uet run``'s scope check lets a workstream whose scope is ``entry`` change ``path``."""
    scope = FileScope(create=[entry], modify=[entry], read_only=[])
    return not violations(scope, {path: "modified"}, lambda _: True)


def index_says(a: str, b: str) -> bool:
    """Whether ``PathIndex`` (what ``uet plan`` uses on a whole set) finds ``a`` and ``b`` overlapping."""
    if a == b:
        return True
    pair = tuple(sorted((a, b)))
    found = PathIndex([a, b]).pairs() == [pair]
    assert PathIndex([a]).overlapping(b) == ([a] if found else [])
    assert PathIndex([b]).overlapping(a) == ([b] if found else [])
    return found


# (entry a, entry b, a sample path, whether the run-time check lets both entries write it, whether they overlap)
CASES = [
    # the two bugs of the fnmatch reading
    ("docs", "docs/a.md", "docs/a.md", True, True),
    ("src/*.py", "src/sub/x.py", "src/sub/x.py", False, False),
    # literal against literal: a folder covers what is below it
    ("docs", "docs", "docs/x", True, True),
    ("docs", "docs/sub/b.md", "docs/sub/b.md", True, True),
    ("docs", "docs.md", "docs.md", False, False),
    ("src", "src2/a.py", "src2/a.py", False, False),
    ("a/b", "a/c", "a/b", False, False),
    ("docs/", "docs", "docs/a.md", True, True),
    ("docs/", "docs", "docs", False, True),
    ("docs ", "docs/a.md", "docs/a.md", True, True),  # trailing white space is dropped
    ("setup.py", "pkg/setup.py", "pkg/setup.py", False, False),
    # literal against glob
    ("src/*.py", "src/a.py", "src/a.py", True, True),
    ("src/*.py", "src/a.pyi", "src/a.pyi", False, False),
    ("*.py", "src/a.py", "src/a.py", False, False),
    ("**/*.py", "src/sub/x.py", "src/sub/x.py", True, True),
    ("**/*.py", "setup.py", "setup.py", True, True),
    ("docs/*", "docs/sub/b.md", "docs/sub/b.md", False, False),
    ("docs/*", "docs/sub", "docs/sub/b.md", False, True),
    ("docs/**", "docs", "docs/a.md", True, True),
    ("docs/**", "docs", "docs", False, True),
    ("src/?.py", "src/ab.py", "src/ab.py", False, False),
    ("src/[ab].py", "src/b.py", "src/b.py", True, True),
    ("src/[ab].py", "src/c.py", "src/c.py", False, False),
    ("src/[!ab].py", "src/a.py", "src/a.py", False, False),
    ("*", "a/b", "a/b", False, False),
    ("**/a/b", "*", "a", False, False),  # "*" is one segment, "**/a/b" two or more
    ("**/a/b", "x/*", "x/a/b", False, False),
    ("docs/", "*", "docs", False, False),
    ("**", "a/b/c", "a/b/c", True, True),
    ("**/", "setup.py", "setup.py", False, True),  # both match setup.py/x: setup.py may be a folder
    ("*/", "src/a.py", "src/a.py", True, True),
    ("!notes", "!notes/a", "!notes/a", True, True),  # anchored: "!" and "#" are literal
    ("#notes", "notes", "notes", False, False),
    # glob against glob
    ("src/*.py", "src/a*", "src/a.py", True, True),
    ("src/*.py", "src/a*", "src/ab.txt", False, True),
    ("src/**", "src/*.py", "src/a.py", True, True),
    ("**/test_*.py", "tests/*/test_a*", "tests/x/test_ab.py", True, True),
    ("**/*.md", "src/**/*.py", "src/a.md/b.py", True, True),
    ("**/*.md", "src/**/*.py", "src/a.py", False, True),
    ("a/**/b", "a/*/c", "a/x/c/b", True, True),
    ("a/**/b", "a/*/c", "a/x/c", False, True),
    ("*/a", "*/b", "x/a", False, False),
    ("docs/*", "src/**", "src/a", False, False),
    ("a/**/b", "*/x/*", "a/x/b", True, True),
    ("*.py", "*.md", "a.py", False, False),
    ("docs/*.md", "docs/*/index.md", "docs/a.md", False, True),  # both match docs/x.md/index.md
    ("docs/*.md", "docs/*/*.txt", "docs/a.md", False, True),
    ("docs/*.md", "docs/*", "docs/a.md", True, True),
    ("docs/*", "docs/*/*.md", "docs/a/b.md", False, False),
    ("src/*.py", "docs/*.py", "src/a.py", False, False),
    ("src/[ab]*", "src/[bc]*", "src/b.py", True, True),
    ("src/[ab]*", "src/[cd]*", "src/c.py", False, False),
    ("src/[.-0]", "src/[!.0]", "src/.", False, False),  # the one character both classes hold is "/"
    ("src/[]a]", "src/]", "src/]", True, True),  # a "]" first is in the class
    ("src/[a", "src/[*", "src/[a", True, True),  # an unclosed "[" is literal
    ("src/*/", "src/*", "src/a/b", False, False),
]


@pytest.mark.parametrize(("a", "b", "path", "both", "overlap"), CASES)
def test_the_plan_and_the_run_read_entries_alike(a: str, b: str, path: str, both: bool, overlap: bool) -> None:
    assert (allowed_at_run(a, path) and allowed_at_run(b, path)) == both
    assert (matches(a, path) and matches(b, path)) == both
    assert may_overlap(a, b) == may_overlap(b, a) == index_says(a, b) == overlap
    assert overlap or not both  # a path both may write: the plan must have seen it
    found = shared_path(a, b)
    if a != b:
        assert (found is not None) == overlap
    if found is not None:
        assert allowed_at_run(a, found) and allowed_at_run(b, found)


def test_a_line_break_in_a_path_is_a_character_like_any_other() -> None:
    # Python's "$" also matches before a final line break, so pathspec alone says "docs" covers "docs\n".
    assert not matches("docs", "docs\n")
    assert not matches("docs/*", "docs/a\n/b")
    assert matches("*", "a\n")
    assert matches("**/x", "a\nb/x")  # "." in the expressions matches a line break too
    assert not may_overlap("docs", "docs?")


# --- uet plan on real files ---------------------------------------------------------------------------


def plan_problems(folder: Path) -> list[str]:
    try:
        load_phase_set(folder)
    except PlanError as caught:
        return [p.format().replace(f"{folder}{os.sep}", "") for p in caught.problems]
    return []


def test_uet_plan_sees_a_folder_and_a_file_in_it_clash(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-1", modify=["docs"]), spec("PH-2", create=["docs/a.md"]))
    assert plan_problems(tmp_path) == [
        "PH-2.yaml:9:5: $.file_scope.create[0]: PH-2 and PH-1 can run at the same time (neither depends on the"
        " other) but both write 'docs/a.md' (PH-1 modifies 'docs' in PH-1.yaml, and the two overlap);"
        " make one depend on the other"
    ]


def test_uet_plan_lets_a_star_and_a_deeper_file_run_side_by_side(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-1", modify=["src/*.py"]), spec("PH-2", create=["src/sub/x.py"]))
    assert plan_problems(tmp_path) == []


def test_uet_plan_warns_of_a_read_only_folder_written_below(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-1", read_only=["docs"]), spec("PH-2", create=["docs/sub/b.md"]))
    (warning,) = load_phase_set(tmp_path).warnings
    assert "read_only path 'docs' is written by PH-2 (creates 'docs/sub/b.md'" in warning.message


# --- properties -----------------------------------------------------------------------------------------

SEGMENTS = ["a", "b", "ab", "a.py", "b.py", ".x"]
GLOB_SEGMENTS = [*SEGMENTS, "*", "**", "?", "a*", "*.py", "*b", "?b", "a?", "[ab]", "[!a]*"]
# Every path of up to four segments over SEGMENTS: 1,554 paths, enough to hold a path both of two
# patterns of up to three segments match whenever one exists.
UNIVERSE = ["/".join(p) for n in range(1, 5) for p in itertools.product(SEGMENTS, repeat=n)]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    body = "/".join(draw(st.lists(st.sampled_from(GLOB_SEGMENTS), min_size=1, max_size=3)))
    return body + ("/" if draw(st.booleans()) else "")


@settings(max_examples=300, deadline=None)
@given(patterns(), patterns())
def test_entries_said_not_to_overlap_share_no_path(a: str, b: str) -> None:
    both = [path for path in UNIVERSE if matches(a, path) and matches(b, path)]
    if not may_overlap(a, b):
        assert both == []
    found = shared_path(a, b)
    if found is None:
        assert both == []
    else:  # the overlap is real: no false positive
        assert matches(a, found) and matches(b, found)


@settings(max_examples=500, deadline=None)
@given(patterns(), patterns())
def test_the_shortcuts_agree_with_the_full_search(a: str, b: str) -> None:
    assert may_overlap(a, b) == (a == b or shared_path(a, b) is not None)


def test_the_shortcuts_agree_with_the_full_search_on_every_short_pair() -> None:
    few = ["a", "ab", "*", "**", "a*", "?", "[ab]", "*.py"]
    short = [p + end for n in (1, 2) for p in map("/".join, itertools.product(few, repeat=n)) for end in ("", "/")]
    differ = [(a, b) for a in short for b in short if may_overlap(a, b) != (a == b or shared_path(a, b) is not None)]
    assert differ == []


@settings(max_examples=300, deadline=None)
@given(patterns(), patterns(), st.lists(st.sampled_from(["a", "b", "ab", "x.py", "a b", "-"]), min_size=1))
def test_a_random_path_both_match_means_an_overlap(a: str, b: str, segments: list[str]) -> None:
    path = "/".join(segments)
    if matches(a, path) and matches(b, path):
        assert may_overlap(a, b)


@settings(max_examples=100, deadline=None)
@given(st.lists(patterns(), min_size=1, max_size=12), patterns())
def test_the_index_finds_every_overlapping_pair(entries: list[str], probe: str) -> None:
    everything = sorted(set(entries))
    brute = [(a, b) for a, b in itertools.combinations(everything, 2) if may_overlap(a, b)]
    index = PathIndex(entries)
    assert index.pairs() == brute
    assert index.overlapping(probe) == [e for e in everything if e != probe and may_overlap(e, probe)]


# --- the guide ------------------------------------------------------------------------------------------

GUIDE = REPO_ROOT / "docs" / "guides" / "phase-spec.md"


def guide_table(header: str) -> list[list[str]]:
    """The rows of the guide's table whose header line is ``header``, as cells."""
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(header + "\n")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_guide_says_what_each_entry_matches() -> None:
    rows = guide_table("| Entry | Matches | Does not match |")
    assert [code(row[0]) for row in rows] == [["docs"], ["docs/"], ["docs/*"], ["docs/**"], ["*.py"], ["**/*.py"]]
    for entry_cell, yes, no in rows:
        (entry,) = code(entry_cell)
        assert code(yes) and code(no)
        assert [p for p in code(yes) if not allowed_at_run(entry, p)] == [], entry
        assert [p for p in code(no) if allowed_at_run(entry, p)] == [], entry


def test_the_guide_says_which_entries_overlap() -> None:
    rows = guide_table("| Entry | Other entry | Overlap | A path both match |")
    assert len(rows) >= 6
    for a_cell, b_cell, overlap, example in rows:
        (a,), (b,) = code(a_cell), code(b_cell)
        assert may_overlap(a, b) == (overlap == "yes"), (a, b)
        assert [p for p in code(example) if not (matches(a, p) and matches(b, p))] == []
        assert bool(code(example)) == (overlap == "yes")
