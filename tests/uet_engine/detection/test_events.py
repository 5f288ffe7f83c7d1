"""The engine's ErrorEvent builder: the code, a category, one line, and always the fingerprint."""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

import uet_contracts
from uet_contracts import ErrorEvent, ErrorType
from uet_engine.detection.events import MESSAGE_LIMIT, error_event, one_line, stamp
from uet_engine.detection.fingerprints import fingerprint


def test_every_error_type_builds_a_valid_fingerprinted_event() -> None:
    for error_type in get_args(ErrorType):
        event = error_event(error_type, "it broke", run_id="run-1", workstream_id="ws-a", context={"x": None, "y": 1})
        uet_contracts.check(uet_contracts.to_dict(event), ErrorEvent)
        assert event.fingerprint == fingerprint(event.error_code, "ws-a", None, "it broke")
        assert event.context == {"y": 1}


def test_categories_follow_the_type_unless_told() -> None:
    assert error_event("scope_violation", "m", run_id="run-1").category == "scope"
    assert error_event("hook_failed", "m", run_id="run-1").category == "infrastructure"
    assert error_event("acceptance_failed", "m", run_id="run-1").category is None
    assert error_event("acceptance_failed", "m", run_id="run-1", category="test_failure").category == "test_failure"


def test_a_run_wide_event_has_no_workstream_and_still_a_fingerprint() -> None:
    event = error_event("preflight_failed", "refused", run_id="run-1")
    assert event.workstream_id is None and event.fingerprint == fingerprint("UET-E109", "", None, "refused")


def test_stamp_keeps_a_fingerprint_and_adds_a_missing_one() -> None:
    event = error_event("internal", "bug", run_id="run-1")
    assert stamp(event) is event
    bare = replace(event, fingerprint=None, path="a.py", message="bug 7")
    assert stamp(bare).fingerprint == fingerprint("UET-E199", "", "a.py", "bug 7")


def test_messages_are_one_line_and_bounded() -> None:
    assert one_line("a\n  b\tc ") == "a b c"
    assert one_line("   ") == "(no message)"
    cut = one_line("x" * 1000)
    assert len(cut) == MESSAGE_LIMIT and cut.endswith("…")
