"""The record builders of a run."""

from __future__ import annotations

from tests.conftest import EXAMPLES
from uet_engine.execution.records import spec_sha256
from uet_engine.planning.phase_set import load_phase_set

PHASES = load_phase_set(EXAMPLES / "phases")


def test_spec_hash_is_the_canonical_json_digest() -> None:
    spec = PHASES.specs["PH-00"]
    assert spec_sha256(spec).startswith("sha256:") and len(spec_sha256(spec)) == 71
    assert spec_sha256(spec) == spec_sha256(load_phase_set(EXAMPLES / "phases").specs["PH-00"])
    assert spec_sha256(spec) != spec_sha256(PHASES.specs["PH-01A"])
