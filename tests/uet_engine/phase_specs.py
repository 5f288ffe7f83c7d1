"""Writes small phase specs into a folder for the plan and schedule tests (real files, real loading)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml


def spec(
    phase_id: str,
    depends_on: Sequence[str] = (),
    *,
    create: Sequence[str] = (),
    modify: Sequence[str] = (),
    read_only: Sequence[str] = (),
    parallel: Sequence[str] | None = None,
    estimate: float | None = None,
    workstream: str | None = None,
) -> dict[str, Any]:
    """A valid phase spec; its workstream is derived from the id unless given."""
    data: dict[str, Any] = {
        "phase_id": phase_id,
        "workstream_id": workstream or "ws-" + phase_id.lower().replace(".", "-").replace("_", "-"),
        "title": f"Phase {phase_id}",
        "objective": f"Do the work of {phase_id}.",
        "phase_type": "implementation",
        "depends_on": list(depends_on),
        "file_scope": {"create": list(create), "modify": list(modify), "read_only": list(read_only)},
        "acceptance": {"python": ["pass"]},
    }
    if parallel is not None:
        data["may_run_parallel_with"] = list(parallel)
    if estimate is not None:
        data["estimate_hours"] = estimate
    return data


def write(folder: Path, *specs: dict[str, Any], fmt: str = "yaml") -> list[Path]:
    """One file per spec, named after its phase id; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for data in specs:
        path = folder / f"{data['phase_id']}.{fmt}"
        text = json.dumps(data, indent=2) if fmt == "json" else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths
