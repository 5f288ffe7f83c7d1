"""The run ids and the file stamps the engine's checks rely on."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from uet_engine import clock


def test_run_ids_sort_by_the_time_they_were_made() -> None:
    first = clock.new_run_id(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    second = clock.new_run_id(datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=UTC))
    assert re.fullmatch(r"run-20260102T030405000006Z-[0-9a-f]{6}", first)
    assert first < second


def test_a_file_with_whole_second_times_is_racy_for_the_wide_window(tmp_path: Path) -> None:
    """A file system that keeps whole seconds shows it in the times: two writes within that second look alike."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    os.utime(path, ns=(1_700_000_000_000_000_000, 1_700_000_000_000_000_000))
    assert clock.racy_window(path.stat()) == clock.RACY_NS


@pytest.mark.skipif(
    os.name == "nt", reason="Windows keeps the wide window whatever the times say: run on Linux or macOS"
)
def test_a_file_with_fine_times_is_racy_for_a_few_clock_ticks(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x")
    os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    info = path.stat()
    if info.st_ctime_ns % 1_000_000_000 == 0:  # pragma: no cover - a file system keeping whole seconds
        pytest.skip("this file system keeps whole seconds: run the tests on one with finer times (ext4, tmpfs, APFS)")
    assert clock.racy_window(info) == clock.FINE_RACY_NS
    assert clock.FINE_RACY_NS < clock.RACY_NS
