"""Which of the users' formats a parsed file is: a template-V3 phase plan, a legacy workstream, or neither.

Used by ``uet import --from auto`` and by ``uet validate``, which names what it was given instead of
listing every field as unknown. The signs are the formats' own top-level keys, so a PhaseSpec (or any
other contract) is never taken for one of them.
"""

from __future__ import annotations

from typing import Any

from uet_engine.planning.importing.mapping import SourceFormat

_V3_SECTIONS = frozenset(
    {"phase_identity", "dag_and_dependencies", "scope_and_modules", "execution_plan", "acceptance_tests"}
)
_LEGACY_SIGNS = frozenset({"files_scope", "files_create", "tasks", "acceptance_tests", "dependencies"})


def detect(data: Any) -> SourceFormat | None:
    """``v3``, ``legacy`` or None (not a mapping, or neither format's signs)."""
    if not isinstance(data, dict):
        return None
    keys = set(data)
    if "phase_identity" in keys or "template_version" in keys or len(keys & _V3_SECTIONS) >= 2:
        return "v3"
    ws = data.get("id")
    if isinstance(ws, str) and ws.lower().startswith("ws") and "phase_id" not in keys:
        return "legacy"
    if len(keys & _LEGACY_SIGNS) >= 2 and "phase_id" not in keys:
        return "legacy"
    return None
