"""The engine's error-code table against the schema's ErrorType enum and ErrorCode pattern."""

from __future__ import annotations

import json
import re
from typing import get_args

import pytest

import uet_contracts
from tests.conftest import REPO_ROOT
from uet_contracts import ErrorEvent, ErrorType
from uet_engine.detection.error_codes import ERROR_CODES

DEFS = json.loads((REPO_ROOT / "schemas" / "v1" / "error_event.schema.json").read_text(encoding="utf-8"))["$defs"]


def test_every_error_type_of_the_schema_has_a_code_and_no_other() -> None:
    assert set(ERROR_CODES) == set(DEFS["ErrorType"]["enum"]) == set(get_args(ErrorType))


def test_each_code_is_distinct() -> None:
    assert len(set(ERROR_CODES.values())) == len(ERROR_CODES)


@pytest.mark.parametrize(("error_type", "code"), sorted(ERROR_CODES.items()))
def test_each_code_is_valid_by_the_schema(error_type: str, code: str) -> None:
    assert re.search(DEFS["ErrorCode"]["pattern"], code)
    event = {
        "timestamp": "2026-11-25T10:15:00Z",
        "run_id": "run-1",
        "workstream_id": "ws-one",
        "error_type": error_type,
        "error_code": code,
        "message": "m",
        "severity": "error",
    }
    assert uet_contracts.validate(event, ErrorEvent).error_code == code
