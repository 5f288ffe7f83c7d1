"""Bundles each contract schema into one self-contained file.

External validators (check-jsonschema, editors, other languages) and pre-commit hooks cannot follow
our relative ``$ref``s offline: with an absolute https ``$id`` they would try the network. A bundle
copies every definition a contract reaches (from ``common.schema.json`` or from another contract)
into its own ``$defs`` and rewrites each reference to a local ``#/$defs/...`` pointer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from codegen.refs import References, Schema, Target


def load_schemas(schema_dir: Path) -> dict[str, Schema]:
    """Every ``*.schema.json`` of one version directory, keyed by file name."""
    return {
        path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(schema_dir.glob("*.schema.json"))
    }


def contract_files(schemas: dict[str, Schema]) -> list[str]:
    """The schema files that define a contract (an object type), as opposed to shared definitions."""
    return [name for name, doc in schemas.items() if doc.get("type") == "object"]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


class Bundler:
    """Resolves the relative references of one schema version (``refs.References``) into local definitions."""

    def __init__(self, schemas: dict[str, Schema]) -> None:
        self.schemas = schemas
        self.refs = References(schemas)

    @staticmethod
    def _definition(target: Target) -> Schema:
        if target.name:
            return dict(target.node)
        return {k: v for k, v in target.node.items() if k not in ("$schema", "$id", "$defs")}

    def _rewrite(self, node: Any, current_file: str, needed: dict[str, Target]) -> Any:
        if isinstance(node, dict):
            out: Schema = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    target = self.refs.target(value, current_file)
                    known = needed.setdefault(target.label, target)
                    if (known.file, known.name) != (target.file, target.name):
                        raise ValueError(f"two definitions would share the bundled name {target.label!r}")
                    out[key] = f"#/$defs/{target.label}"
                else:
                    out[key] = self._rewrite(value, current_file, needed)
            return out
        if isinstance(node, list):
            return [self._rewrite(item, current_file, needed) for item in node]
        return node

    def bundle(self, contract_file: str) -> Schema:
        """The contract with every definition it reaches inlined under ``$defs``, sorted by name."""
        root = self.schemas[contract_file]
        needed: dict[str, Target] = {}
        body = self._rewrite({k: v for k, v in root.items() if k != "$defs"}, contract_file, needed)
        defs: dict[str, Schema] = {}
        pending = list(needed)
        while pending:
            local = pending.pop()
            if local in defs:
                continue
            target = needed[local]
            before = set(needed)
            defs[local] = self._rewrite(self._definition(target), target.file, needed)
            pending.extend(set(needed) - before)
        if defs:
            body["$defs"] = {name: defs[name] for name in sorted(defs)}
        return body


def write_bundles(schema_dir: Path, out_dir: Path) -> list[Path]:
    """Writes ``<contract>.schema.json`` bundles into ``out_dir``; returns the files written."""
    schemas = load_schemas(schema_dir)
    bundler = Bundler(schemas)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in contract_files(schemas):
        path = out_dir / name
        path.write_text(json.dumps(bundler.bundle(name), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def all_refs(schema: Schema) -> list[str]:
    """Every ``$ref`` value in a schema (used by tests to prove a bundle is self-contained)."""
    return list(_refs(schema))
