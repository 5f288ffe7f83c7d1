"""``uet_engine.execution.worker`` pieces that do not need a run: the order acceptance checks run in."""

from __future__ import annotations

import dataclasses
from typing import get_args

from uet_contracts import Acceptance, Runner
from uet_engine.execution.worker import ACCEPTANCE_RUNNERS


def test_acceptance_runs_in_the_order_of_the_schemas_runners_and_acceptance_fields() -> None:
    """The runner enum and Acceptance's fields agree, so reordering one cannot renumber stored checks silently."""
    assert ACCEPTANCE_RUNNERS == get_args(Runner) == tuple(f.name for f in dataclasses.fields(Acceptance))
    assert ACCEPTANCE_RUNNERS == ("sh", "python", "powershell")
