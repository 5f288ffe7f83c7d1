"""Fingerprints: repeats of one failure agree, different failures differ."""

from __future__ import annotations

import re

import pytest

from uet_engine.detection.fingerprints import fingerprint, normalise

SHA = re.compile(r"^sha256:[0-9a-f]{64}$")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "acceptance/0 (sh) failed: exit code 1, expected 0",
            "acceptance/<n> (sh) failed: exit code <n>, expected <n>",
        ),
        ("at 2026-12-01T09:15:48.123Z: boom", "at <time>: boom"),
        ("took 12.5s then 300 ms", "took <duration> then <duration>"),
        ("object at 0x7f3a2b1c0d and commit 3ae025b", "object at <hex> and commit <hex>"),
        ("cannot open /tmp/pytest-of-root/pytest-7/x/a.py: denied", "cannot open <tmp>: denied"),
        ("in /repo/.runs/worktrees/run-1/slot-0/a.py line 3", "in <tmp> line <n>"),
        ("  two   spaces\n and a newline ", "two spaces and a newline"),
    ],
)
def test_normalise_strips_what_varies(message: str, expected: str) -> None:
    assert normalise(message) == expected


def test_the_same_failure_in_two_runs_has_one_fingerprint() -> None:
    first = fingerprint(
        "UET-E102", "ws-a", "tests/test_q.py", "test_fifo failed at 2026-12-01T09:00:00Z after 0.31s (pid 4121)"
    )
    second = fingerprint(
        "UET-E102", "ws-a", "tests/test_q.py", "test_fifo failed at 2026-12-02T17:45:10Z after 1.02s (pid 977)"
    )
    assert first == second
    assert SHA.match(first)


@pytest.mark.parametrize(
    "other",
    [
        ("UET-E101", "ws-a", "tests/test_q.py", "test_fifo failed"),  # another code
        ("UET-E102", "ws-b", "tests/test_q.py", "test_fifo failed"),  # another workstream
        ("UET-E102", "ws-a", "tests/test_r.py", "test_fifo failed"),  # another file
        ("UET-E102", "ws-a", None, "test_fifo failed"),  # no file
        ("UET-E102", "ws-a", "tests/test_q.py", "test_lifo failed"),  # another message
    ],
)
def test_different_failures_have_different_fingerprints(other: tuple[str, str, str | None, str]) -> None:
    assert fingerprint(*other) != fingerprint("UET-E102", "ws-a", "tests/test_q.py", "test_fifo failed")


def test_normalising_is_linear_on_hostile_text() -> None:
    """Long runs of digits, hex and spaces: one pass each (a backtracking pattern would not return)."""
    hostile = ("9" * 50_000) + " " * 50_000 + ("a" * 50_000) + "!"
    assert normalise(hostile).startswith("<n>")
