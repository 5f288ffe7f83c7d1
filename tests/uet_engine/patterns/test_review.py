"""Approving and rejecting candidates: the template file, the registry entry and the row, in that order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

import uet_contracts
from tests.uet_engine.patterns.records import attempt, log, store_with
from tests.uet_engine.patterns.test_mining import LATER, five_similar, stored
from uet_contracts import PatternIndex, PhaseTemplate
from uet_engine.errors import PatternNotFound, RegistryError, ReviewRefused
from uet_engine.patterns import registry, review
from uet_engine.patterns.mining import Options, mine
from uet_engine.patterns.templates import TemplateLibrary, instantiate
from uet_engine.saving.store import RunStore

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def mined(repo: Path) -> str:
    attempts = [attempt("run-1", "ws-a", "step", 0, "touch src/a.py", ["src/a.py"])]
    store_with(repo, five_similar(), attempts=attempts)
    (candidate,) = mine(repo, Options(), now=LATER).candidates
    return candidate.candidate_id


def test_approve_writes_the_template_the_entry_and_the_status(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    done = review.approve(tmp_path, candidate_id, "make-module", now=NOW)
    assert done.template == tmp_path / "templates" / "phase_templates" / "make-module.template.yaml"
    template = uet_contracts.load(done.template, PhaseTemplate)
    assert (template.template_id, template.pattern_id) == ("make-module", "PAT-make-module")
    assert list(uet_contracts.to_dict(template)["body"])[:4] == ["phase_id", "workstream_id", "title", "objective"]
    entry = done.entry
    assert (entry.pattern_id, entry.name, entry.status, entry.category, entry.candidate_id) == (
        "PAT-make-module",
        "make-module",
        "active",
        "EXEC-ATOMIC-CREATE",
        candidate_id,
    )
    assert entry.paths.spec == "templates/phase_templates/make-module.template.yaml"
    assert (entry.created_at, entry.updated_at, entry.proven_uses) == (NOW, NOW, 0)
    assert registry.read(tmp_path) == PatternIndex(index_version=1, patterns=[entry])
    (candidate,), _ = stored(tmp_path)
    assert (candidate.status, candidate.name, candidate.pattern_id) == ("approved", "make-module", "PAT-make-module")
    # the approved template writes specs that carry the pattern
    spec = instantiate(
        TemplateLibrary(tmp_path).get("phase", "make-module"),
        {"phase_id": "PH-2", "workstream_id": "ws-two", "create_1": "src/b.py"},
        label="PH-2.yaml",
    )
    assert (spec.pattern_id, spec.template_id) == ("PAT-make-module", "make-module")


def test_approving_twice_changes_nothing(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    first = review.approve(tmp_path, candidate_id, now=NOW)
    text = registry.index_path(tmp_path).read_text(encoding="utf-8")
    again = review.approve(tmp_path, candidate_id, "other-name", now=LATER)
    assert (again.already, again.entry, again.template) == (True, first.entry, first.template)
    assert registry.index_path(tmp_path).read_text(encoding="utf-8") == text
    assert first.entry.pattern_id == "PAT-exec-atomic-create-py"


def test_mining_after_approval_keeps_the_pattern_and_counts_its_uses(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    review.approve(tmp_path, candidate_id, "make-module", now=NOW)
    store_with(tmp_path, [log(20, pattern="PAT-make-module", run="run-20", ws="ws-two")])
    (candidate,) = mine(tmp_path, Options(), now=LATER).candidates
    assert (candidate.status, candidate.pattern_id, candidate.proven_uses, candidate.occurrences) == (
        "approved",
        "PAT-make-module",
        1,
        6,
    )
    (entry,) = registry.read(tmp_path).patterns
    assert (entry.proven_uses, entry.updated_at, entry.created_at) == (1, LATER, NOW)


@pytest.mark.parametrize("name", ["Bad Name", "-x", "a" * 65])
def test_a_bad_name_is_refused(tmp_path: Path, name: str) -> None:
    candidate_id = mined(tmp_path)
    with pytest.raises(ReviewRefused, match="is not a template name"):
        review.approve(tmp_path, candidate_id, name)
    assert not (tmp_path / "templates").exists()


def test_a_name_taken_by_another_pattern_or_file_is_refused(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    review.approve(tmp_path, candidate_id, "taken", now=NOW)
    (candidate,), _ = stored(tmp_path)
    with RunStore.open(tmp_path, audit=False) as store:  # a second candidate, as a later mining would add
        store.put_patterns(
            [replace(candidate, candidate_id="PC-other-1", status="pending", name="other", pattern_id=None)], []
        )
    with pytest.raises(ReviewRefused, match=r"^PAT-taken is already in the registry \(from PC-"):
        review.approve(tmp_path, "PC-other-1", "taken")
    path = tmp_path / "templates" / "phase_templates" / "mine.template.yaml"
    path.write_text("# someone's own\n", encoding="utf-8")
    with pytest.raises(ReviewRefused, match="already exists and is not this pattern's template"):
        review.approve(tmp_path, "PC-other-1", "mine")
    assert path.read_text(encoding="utf-8") == "# someone's own\n"


def test_a_broken_registry_refuses_approval_before_anything_is_written(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    path = registry.index_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("patterns: 3\n", encoding="utf-8")
    with pytest.raises(RegistryError):
        review.approve(tmp_path, candidate_id)
    assert path.read_text(encoding="utf-8") == "patterns: 3\n"
    assert not (tmp_path / "templates").exists()
    (candidate,), _ = stored(tmp_path)
    assert candidate.status == "pending"


def test_unknown_ids_are_named(tmp_path: Path) -> None:
    mined(tmp_path)
    with pytest.raises(PatternNotFound, match=r"^no pattern candidate 'PC-nope' in .*uet\.sqlite \(see: uet patterns"):
        review.approve(tmp_path, "PC-nope")
    with pytest.raises(PatternNotFound):
        review.reject(tmp_path, "PC-nope")


def test_reject_a_pending_candidate_but_not_an_approved_one(tmp_path: Path) -> None:
    candidate_id = mined(tmp_path)
    assert review.reject(tmp_path, candidate_id).status == "rejected"
    assert stored(tmp_path)[0][0].status == "rejected"
    assert mine(tmp_path, Options(), now=LATER).candidates[0].status == "rejected"
    review.approve(tmp_path, candidate_id, now=NOW)  # a person may change their mind
    with pytest.raises(ReviewRefused, match="is approved as PAT-exec-atomic-create-py: set its status to deprecated"):
        review.reject(tmp_path, candidate_id)
