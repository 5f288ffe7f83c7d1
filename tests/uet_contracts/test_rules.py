"""The phase-spec rules beyond the schema: a character range that runs backwards is refused at validation,
exactly when the run's scope matcher could not compile the entry (so no run ever meets one)."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uet_contracts.rules import scope_entry_problem
from uet_engine import paths


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ("src/[z-a].py", ("z-a", "a-z")),
        ("x[]z-a]", ("z-a", "a-z")),  # ']' first in a class is a member
        ("[!9-0]", ("9-0", "0-9")),
        ("a[0-9]/[c-b]x", ("c-b", "b-c")),
        ("src/[a-z].py", None),
        ("[a-c-a]", None),  # a-c, then '-' and 'a'
        ("[z-a", None),  # never closed: a literal '['
        ("a/[]-]", None),  # ']' and '-'
        ("[b-/]a", None),  # no class reaches over a '/': '[b-' and ']a' are literal segments
    ],
)
def test_a_backwards_range_is_named_with_the_range_to_write(entry: str, named: tuple[str, str] | None) -> None:
    expected = None
    if named is not None:
        expected = (
            f"{entry!r} has the character range {named[0]!r}, which runs backwards and matches nothing: "
            f"write {named[1]}"
        )
    assert scope_entry_problem(entry, "create") == expected


def _compiles(entry: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        try:
            paths.compile_entry(entry)
        except Exception:
            return False
    return True


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="az09-[]!^/*?.", min_size=1, max_size=14))
def test_the_rule_refuses_exactly_the_entries_the_scope_matcher_cannot_compile(entry: str) -> None:
    problem = scope_entry_problem(entry, "forbidden_paths")
    refused = problem is not None and "character range" in problem
    assert refused == (not _compiles(entry))
