"""Which store and which run a person means: ``find_repo`` from any folder, ``resolve_run`` from short names."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.uet_engine.run_records import RUN, RUN2, record
from uet_engine.errors import StoreError, UnknownRun
from uet_engine.saving.lookup import find_repo, resolve_run
from uet_engine.saving.store import RunStore

RUN3 = "run-20261125T111500000000Z-cccccc"  # shares "run-20261125T1115" with RUN2


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore.open(tmp_path) as store:
        for run_id in (RUN, RUN2, RUN3):
            store.queue(run_id, [record(run_id, "ws-a")])
        yield store


def test_a_full_id_names_its_run(store: RunStore) -> None:
    assert resolve_run(store, RUN) == RUN
    assert resolve_run(store, f"  {RUN2} ") == RUN2


def test_latest_is_the_most_recently_started_run(store: RunStore) -> None:
    assert resolve_run(store, "latest") == RUN3


def test_a_unique_start_names_its_run_with_or_without_run_prefix(store: RunStore) -> None:
    assert resolve_run(store, "run-20261125T10") == RUN
    assert resolve_run(store, "20261125T10") == RUN
    assert resolve_run(store, "run-20261125T111500000000Z-c") == RUN3


def test_an_ambiguous_start_lists_the_matches_newest_first(store: RunStore) -> None:
    with pytest.raises(UnknownRun) as caught:
        resolve_run(store, "20261125T11")
    assert str(caught.value) == f"20261125T11 is the start of several runs: {RUN3}, {RUN2}; give more of the run id"


def test_many_matches_are_cut_and_counted(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        ids = [f"run-20261125T1015000000{n:02d}Z-aaaaaa" for n in range(8)]
        for run_id in ids:
            store.queue(run_id, [record(run_id, "ws-a")])
        with pytest.raises(UnknownRun) as caught:
            resolve_run(store, "run-")
    shown = ", ".join(reversed(ids[3:]))
    assert str(caught.value) == f"run- is the start of several runs: {shown} and 3 more; give more of the run id"


def test_no_match_says_where_it_looked(store: RunStore) -> None:
    with pytest.raises(UnknownRun) as caught:
        resolve_run(store, "run-2027")
    assert str(caught.value) == f"no run run-2027 in {store.path}; uet runs list shows the recorded runs"
    assert isinstance(caught.value, StoreError) and caught.value.exit_code == 2
    with pytest.raises(UnknownRun, match=r"^a run id cannot be empty"):
        resolve_run(store, " ")


def test_latest_in_an_empty_store(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store, pytest.raises(UnknownRun, match=r"so there is no latest run$"):
        resolve_run(store, "latest")


def test_find_repo_walks_up_to_the_store(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = store.repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_repo(deep) == store.repo.absolute()
    assert find_repo(store.repo) == store.repo
    monkeypatch.chdir(store.repo)
    assert find_repo(Path(".")) == Path(".")  # as the person wrote it, so messages name .runs/uet.sqlite
    assert find_repo(Path("src/pkg")) == store.repo.absolute()


def test_a_name_no_run_has_may_be_kept(store: RunStore) -> None:
    assert resolve_run(store, "run-2027", missing_ok=True) == "run-2027"
    assert resolve_run(store, "latest", missing_ok=True) == RUN3
    with pytest.raises(UnknownRun, match="is the start of several runs"):
        resolve_run(store, "20261125T11", missing_ok=True)


def test_find_repo_stops_at_the_top_of_a_git_repository(tmp_path: Path) -> None:
    RunStore.open(tmp_path).close()  # an enclosing folder's store must not be picked up
    inner = tmp_path / "project"
    (inner / "docs").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(inner)], check=True)
    assert find_repo(inner / "docs") == inner
    assert find_repo(tmp_path / "elsewhere") == tmp_path


def test_find_repo_outside_any_repository_is_the_folder_itself(tmp_path: Path) -> None:
    # tmp_path's parents hold neither a store nor .git (pytest's temporary root)
    assert find_repo(tmp_path / "a") == tmp_path / "a"
