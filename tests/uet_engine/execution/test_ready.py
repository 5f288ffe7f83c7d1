"""The ready set: dependency order, skips with reasons, misuse refused."""

from __future__ import annotations

import pytest

from uet_engine.execution.ready import ReadySet
from uet_engine.planning.graph import prerequisites_of

# ---- ReadySet ----------------------------------------------------------------------------------

EXAMPLE_EDGES = {"PH-01A": ["PH-00"], "PH-01B": ["PH-00"], "PH-02": ["PH-01A", "PH-01B"], "PH-03": ["PH-02"]}
EXAMPLE_NODES = ["PH-00", "PH-01A", "PH-01B", "PH-02", "PH-03", "PH-10"]


def test_ready_set_runs_in_dependency_order() -> None:
    ready = ReadySet(EXAMPLE_EDGES, EXAMPLE_NODES)
    assert ready.ready() == ["PH-00", "PH-10"]
    ready.start("PH-00")
    assert ready.ready() == ["PH-10"] and ready.running() == ["PH-00"]
    ready.finish("PH-00", succeeded=True)
    assert ready.ready() == ["PH-01A", "PH-01B", "PH-10"]
    for phase in ("PH-01A", "PH-01B", "PH-10"):
        ready.start(phase)
    ready.finish("PH-01A", True)
    assert ready.ready() == []
    ready.finish("PH-01B", True)
    assert ready.ready() == ["PH-02"] and not ready.done()
    ready.finish("PH-10", True)
    ready.start("PH-02")
    ready.finish("PH-02", True)
    ready.start("PH-03")
    ready.finish("PH-03", True)
    assert ready.done() and ready.skipped == {} and ready.succeeded == set(EXAMPLE_NODES)


def test_a_failed_phase_skips_its_descendants_with_reasons() -> None:
    ready = ReadySet(EXAMPLE_EDGES, EXAMPLE_NODES)
    ready.start("PH-00")
    ready.finish("PH-00", True)
    ready.start("PH-01A")
    ready.finish("PH-01A", False)
    assert ready.skipped == {"PH-02": "prerequisite PH-01A failed", "PH-03": "prerequisite PH-02 was skipped"}
    assert ready.ready() == ["PH-01B", "PH-10"]
    for phase in ("PH-01B", "PH-10"):
        ready.start(phase)
        ready.finish(phase, True)
    assert ready.ready() == [] and ready.done() and ready.failed == {"PH-01A"}


def test_assume_succeeded_and_misuse() -> None:
    ready = ReadySet(EXAMPLE_EDGES, EXAMPLE_NODES)
    ready.assume_succeeded(["PH-00", "PH-01A"])
    assert ready.ready() == ["PH-01B", "PH-10"]
    with pytest.raises(ValueError, match=r"PH-02 is not ready to start \(waiting for PH-01B\)"):
        ready.start("PH-02")
    with pytest.raises(ValueError, match=r"PH-10 is not running \(ready\)"):
        ready.finish("PH-10", True)
    with pytest.raises(ValueError, match=r"PH-99 is not ready to start \(unknown phase\)"):
        ready.start("PH-99")
    ready.start("PH-01B")
    with pytest.raises(ValueError, match=r"PH-01B cannot be marked succeeded \(running\)"):
        ready.assume_succeeded(["PH-01B"])
    with pytest.raises(ValueError, match="PH-02 depends on PH-01A, which is not among the nodes"):
        ReadySet(EXAMPLE_EDGES, ["PH-02"])
    with pytest.raises(ValueError, match=r"^dependency cycle: PH-1 -> PH-2 -> PH-1$"):
        ReadySet({"PH-1": ["PH-2"], "PH-2": ["PH-1"]}, ["PH-1", "PH-2"])


def test_prerequisites_of_is_the_transitive_closure() -> None:
    assert prerequisites_of(EXAMPLE_EDGES, ["PH-03"]) == {"PH-00", "PH-01A", "PH-01B", "PH-02"}
    assert prerequisites_of(EXAMPLE_EDGES, ["PH-01B", "PH-10"]) == {"PH-00"}
    assert prerequisites_of(EXAMPLE_EDGES, ["PH-00"]) == set()
