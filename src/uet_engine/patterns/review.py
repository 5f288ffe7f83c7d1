"""Review of pattern candidates: ``approve`` into the registry with a phase template, or ``reject``.

Approving writes, in this order, so that a crash at any point leaves files a repeated ``approve``
completes: the phase template ``templates/phase_templates/NAME.template.yaml`` (atomically, validated),
the registry entry (``registry.update``: a broken registry refuses before anything is written), then the
candidate's row (``approved``, its ``pattern_id``). The pattern id is ``PAT-NAME``; a name another
pattern or another template already uses is refused. Approving an approved candidate changes nothing.
Rejecting marks a pending candidate ``rejected`` (mining keeps it so); an approved one is refused:
deprecate it in the registry instead.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

import uet_contracts
from uet_contracts import (
    ContractError,
    PatternCandidate,
    PatternEntry,
    PatternIndex,
    PatternPaths,
    PhaseSpec,
    PhaseTemplate,
    Step,
)
from uet_engine import clock
from uet_engine.errors import PatternNotFound, ReviewRefused
from uet_engine.patterns import registry
from uet_engine.patterns.templates import FOLDERS, SUFFIX, template_file
from uet_engine.saving.atomic import write_atomic
from uet_engine.saving.store import RunStore

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True)
class Approved:
    """The outcome of an approval: the registry entry, the template file, whether it was already done."""

    entry: PatternEntry
    template: Path
    already: bool = False


def find_candidate(store: RunStore, candidate_id: str) -> PatternCandidate:
    """The stored candidate ``candidate_id``; ``PatternNotFound`` naming the store otherwise."""
    for candidate in store.pattern_candidates():
        if candidate.candidate_id == candidate_id:
            return candidate
    raise PatternNotFound(f"no pattern candidate {candidate_id!r} in {store.path} (see: uet patterns list)")


def _ordered(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    order = {name: i for i, name in enumerate(names)}
    return dict(sorted(data.items(), key=lambda item: (order.get(item[0], len(order)), item[0])))


def template_text(template: PhaseTemplate) -> str:
    """A phase template's file: a comment, then the template as YAML (validated first), its body's fields in
    the order of the PhaseSpec schema (the store keeps JSON keys sorted)."""
    data = uet_contracts.to_dict(template)
    uet_contracts.check(data, PhaseTemplate)
    body = _ordered(data["body"], list(uet_contracts.schema(PhaseSpec)["properties"]))
    step_fields = [field.name for field in dataclasses.fields(Step)]
    if isinstance(body.get("steps"), list):
        body["steps"] = [_ordered(s, step_fields) if isinstance(s, dict) else s for s in body["steps"]]
    data["body"] = body
    head = (
        f"# Phase template {template.template_id}, approved from a pattern candidate by `uet patterns approve`.\n"
        "# Review it: the parameters are what varied between the executions it was mined from.\n"
    )
    return head + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def _template_pattern(path: Path) -> str | None:
    """The pattern id of an existing template file (None when it has none or cannot be read)."""
    try:
        return uet_contracts.load(path, PhaseTemplate).pattern_id
    except ContractError:
        return None


def approve(repo: Path, candidate_id: str, name: str | None = None, now: datetime | None = None) -> Approved:
    """Approves a candidate into the registry (see the module docstring); ``ReviewRefused`` if it cannot be."""
    now = now or clock.utc_now()
    with RunStore.open(repo, create=False, audit=False) as store:
        candidate = find_candidate(store, candidate_id)
        index = registry.read(repo)
        if candidate.status == "approved" and candidate.pattern_id is not None:
            entry = next((e for e in index.patterns if e.pattern_id == candidate.pattern_id), None)
            if entry is not None:
                spec = entry.paths.spec or f"{FOLDERS['phase']}/{entry.name}{SUFFIX}"
                return Approved(entry, Path(repo) / spec, already=True)
        name = name or candidate.name
        if name is None or not _NAME.match(name):
            raise ReviewRefused(f"{name!r} is not a template name: lowercase letters, digits, '-' and '_' (--name)")
        if candidate.phase_template is None:
            raise ReviewRefused(f"{candidate_id} has no phase-template draft; mine again with this uet first")
        pattern_id = f"PAT-{name}"
        taken = next((e for e in index.patterns if e.pattern_id == pattern_id), None)
        if taken is not None and taken.candidate_id != candidate_id:
            raise ReviewRefused(f"{pattern_id} is already in the registry (from {taken.candidate_id}); choose --name")
        path = template_file(repo, "phase", name)
        if path.exists() and _template_pattern(path) != pattern_id:
            raise ReviewRefused(f"{path} already exists and is not this pattern's template; choose --name")
        template = replace(candidate.phase_template, template_id=name, pattern_id=pattern_id)
        # Both folders first: a repository where one cannot be made gets no file at all.
        path.parent.mkdir(parents=True, exist_ok=True)
        registry.index_path(repo).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, template_text(template))
        entry = PatternEntry(
            pattern_id=pattern_id,
            name=name,
            version="1.0.0",
            status="active",
            category=candidate.operation_kind,
            paths=PatternPaths(spec=f"{FOLDERS['phase']}/{name}{SUFFIX}"),
            summary=candidate.explanation or f"{candidate.operation_kind} executions like {candidate.candidate_id}",
            proven_uses=candidate.proven_uses or 0,
            candidate_id=candidate_id,
            operation_kind=candidate.operation_kind,
            signature=candidate.signature,
            created_at=taken.created_at if taken is not None else now,
            updated_at=now,
        )

        def add(current: PatternIndex) -> PatternIndex:
            others = [e for e in current.patterns if e.pattern_id != pattern_id]
            return replace(current, patterns=[*others, entry])

        registry.update(repo, add)
        store.put_patterns([replace(candidate, status="approved", name=name, pattern_id=pattern_id)], [])
    return Approved(entry, path)


def reject(repo: Path, candidate_id: str) -> PatternCandidate:
    """Marks a candidate rejected; ``ReviewRefused`` for an approved one."""
    with RunStore.open(repo, create=False, audit=False) as store:
        candidate = find_candidate(store, candidate_id)
        if candidate.status == "approved":
            raise ReviewRefused(
                f"{candidate_id} is approved as {candidate.pattern_id}: set its status to deprecated in "
                f"{registry.INDEX_FILE.as_posix()} instead"
            )
        rejected = replace(candidate, status="rejected")
        if candidate.status != "rejected":
            store.put_patterns([rejected], [])
    return rejected
