"""Fixtures the CLI tests share."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.uet_engine.run_records import RUN, RUN2, record, succeed
from uet_engine.saving.store import RunStore


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-b")])
        succeed(store, RUN, "ws-a")
        store.transition(RUN, "ws-b", "skipped", reason="prerequisite ws-a failed")
        store.queue(RUN2, [record(RUN2, "ws-a")])
        store.transition(RUN2, "ws-a", "running")
    return tmp_path
