"""Renders the schema reference of the docs site from the canonical schemas.

Writes into ``generated/reference/`` so the drift gate (``python -m codegen --check``) fails when a
schema changes and its page is not regenerated:

- ``<kind>.md``: one page per schema file — fields, types, required, constraints, descriptions,
  defaults, nested definitions and a valid example (from ``examples/`` where one exists, otherwise
  built deterministically from the schema here; tests validate every embedded example);
- ``index.md``: the contracts grouped by hand-off;
- ``_handoffs.md`` and ``_field_map.md``: tables the I/O contracts overview (``docs/contracts.md``)
  includes, mapping each contract to who produces and consumes it and each field to its stage.

A small renderer rather than json-schema-for-humans: on these schemas its Markdown template shows a
``$ref``'d definition's title instead of the property's own description, repeats every shared
definition at each use, and emits raw HTML anchors; the pages here are a third of the size and link
each shared definition once, to ``common.md``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.bundle import contract_files, load_schemas
from codegen.refs import References, Schema

COMMON_FILE = "common.schema.json"


@dataclass(frozen=True)
class Role:
    """Where one contract sits in the pipeline: the stage that fills it, who writes it, who reads it."""

    file: str
    stage: str
    producer: str
    consumer: str
    where: str


@dataclass(frozen=True)
class Handoff:
    """One of the original pipeline design's four hand-offs (its section number) and the contracts that carry it."""

    number: int
    title: str
    roles: tuple[Role, ...]


HANDOFFS: tuple[Handoff, ...] = (
    Handoff(
        1,
        "Planning → execution",
        (
            Role(
                "phase_spec.schema.json",
                "planning",
                "the planner (a person or a tool writing `phases/*.yaml`)",
                "`uet validate`, `uet plan`, `uet run`",
                "`phases/*.yaml` in the consumer repo",
            ),
            Role(
                "dag_snapshot.schema.json",
                "planning",
                "`uet plan` (derived from the phase specs, never edited by hand)",
                "the scheduler inside `uet run`",
                "`uet plan -o FILE`",
            ),
            Role(
                "module_manifest.schema.json",
                "planning",
                "the module's owners (a person or a tool writing `modules/<module_id>/module.manifest.yaml`)",
                "`uet plan --tier module`; `uet plan` and `uet run` (path ownership, request context)",
                "`modules/<module_id>/module.manifest.yaml` in the consumer repo",
            ),
            Role(
                "module_tasks.schema.json",
                "planning",
                "`uet plan --tier task` (derived from the phase specs' steps, never edited by hand)",
                "`uet run --snapshot FILE`, reviewers",
                "`uet plan --tier task -o FILE`",
            ),
            Role(
                "repo_config.schema.json",
                "execution",
                "the repository's maintainers (a hand-written `uet.config.yaml`)",
                "`uet run` (tool profiles of AI-tool steps, the project id of the run records), `uet plan`",
                "`uet.config.yaml` at the repository root",
            ),
        ),
    ),
    Handoff(
        2,
        "Execution → error detection and pattern automation",
        (
            Role(
                "execution_request.schema.json",
                "execution",
                "`uet run` (`uet_engine.execution.coordinator`), one per step or acceptance check",
                "the runners (`uet_engine.execution.process`: `sh`, `python`, `powershell`) and hooks",
                "inside `step_attempts.request`",
            ),
            Role(
                "execution_result.schema.json",
                "execution",
                "the runners (`uet_engine.execution.process`)",
                "`uet run` (`uet_engine.execution.coordinator`): success, error events, execution logs",
                "inside `step_attempts.result`",
            ),
            Role(
                "error_event.schema.json",
                "error detection",
                "`uet run` (`uet_engine.execution.coordinator`), for each failed, timed-out, out-of-scope or "
                "conflicting task",
                "error plugins; `uet runs show --json` (`errors`)",
                "table `error_events`",
            ),
            Role(
                "execution_log.schema.json",
                "error detection",
                "`uet run` (`uet_engine.execution.coordinator`), one per step attempt",
                "pattern automation (clustering)",
                "table `execution_logs`",
            ),
        ),
    ),
    Handoff(
        3,
        "Execution → saving",
        (
            Role(
                "run_record.schema.json",
                "saving",
                "`uet run`",
                "`uet runs list`, `uet runs show`, `uet run --resume`",
                "table `uet_runs`",
            ),
            Role(
                "step_attempt.schema.json",
                "saving",
                "`uet run`",
                "`uet runs show`, `uet runs verify`",
                "table `step_attempts`",
            ),
            Role(
                "run_event.schema.json",
                "saving",
                "`uet run`",
                "`uet runs show`, `uet runs verify`",
                "table `run_events`",
            ),
            Role(
                "patch_ledger_entry.schema.json",
                "saving",
                "`uet run`, when it captures a patch",
                "`uet runs verify`, dependent workstreams",
                "table `patch_ledger`, files `.ledger/patches/{workstream_id}-{run_id}.patch`",
            ),
            Role(
                "audit_event.schema.json",
                "saving",
                "`uet run`",
                "auditors, `uet runs verify`",
                "`.runs/audit.jsonl`",
            ),
        ),
    ),
    Handoff(
        4,
        "Saving and patterns → planning",
        (
            Role(
                "pattern_candidate.schema.json",
                "patterns",
                "`uet patterns mine`, from recurring successful `execution_logs`",
                "`uet patterns list`, `show`, `approve`, `reject`",
                "table `pattern_candidates`",
            ),
            Role(
                "anti_pattern.schema.json",
                "patterns",
                "`uet patterns mine`, from recurring failing `execution_logs` and their error fingerprints",
                "`uet plan` (warnings), `uet patterns list`",
                "table `anti_patterns`",
            ),
            Role(
                "pattern_index.schema.json",
                "patterns",
                "`uet patterns approve`; `uet patterns mine` (proven uses); people",
                "`uet patterns`, reviewers",
                "`patterns/registry/PATTERN_INDEX.yaml`",
            ),
            Role(
                "phase_template.schema.json",
                "patterns",
                "`uet patterns approve` (from a candidate's draft), people; built-in templates",
                "`uet new phase --template`, `uet templates list`",
                "`templates/phase_templates/NAME.template.yaml`",
            ),
            Role(
                "verification_template.schema.json",
                "patterns",
                "people; built-in templates",
                "`uet plan` and `uet run` (acceptance checks `verify: NAME`), `uet templates list`",
                "`templates/verification_templates/NAME.template.yaml`",
            ),
        ),
    ),
)

# Example files the project keeps, by schema file; other contracts get an example built here.
EXAMPLE_FILES = {
    "phase_spec.schema.json": "examples/phases/PH-01A.yaml",
    "dag_snapshot.schema.json": "examples/dag_snapshot.json",
    "module_manifest.schema.json": "examples/three-tiers/modules/api/module.manifest.yaml",
    "module_tasks.schema.json": "examples/three-tiers/module_tasks.json",
}

# Sample strings for patterned fields, keyed by the pattern itself: a new pattern without a sample
# fails generation loudly instead of producing an example that does not validate.
PATTERN_SAMPLES = {
    "^PH-[A-Za-z0-9][A-Za-z0-9._-]{0,63}$": "PH-01A",
    "^[a-z0-9][a-z0-9._-]{0,63}$": "core.state",
    "^ws-[a-z0-9][a-z0-9-]{0,127}$": "ws-pipeline-plus-1a-task-queue",
    "^run-[A-Za-z0-9_-]{1,64}$": "run-20261125T101500Z-3f9a",
    "^PATCH-[A-Za-z0-9][A-Za-z0-9._-]{0,199}$": "PATCH-ws-pipeline-plus-1a-task-queue-run-20261125T101500Z-3f9a",
    "^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$|^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$": "EXEC-ATOMIC-CREATE",
    "^[a-z][a-z0-9._-]{0,63}$": "aider",
    "^sha256:[0-9a-f]{64}$": "sha256:" + "3f9a" * 16,
    "^([0-9a-f]{40}|[0-9a-f]{64})$": "1b880dd" + "0" * 33,
    "^(?![/~])(?![A-Za-z]:)(?!\\.\\.(/|$))(?!.*/\\.\\.(/|$))[^\\\\\\u0000]+$": "core/state/task_queue.py",
    "^AP-[A-Za-z0-9_-]{1,80}$": "AP-scope-violation-create",
    "^[a-z][a-z_]*(\\.[a-z][a-z_]*)+$": "step.finished",
    "^(step|acceptance)/[0-9]+$|^pre_flight/[0-9]+$": "step/0",
    "^(step|acceptance)/[0-9]+$|^pre_flight/[0-9]+$|^fix/[0-9]+$": "step/0",
    "^1\\.[0-9]+\\.[0-9]+$": "1.0.0",
    "^UET-E[0-9]{3}$": "UET-E101",
    "^(\\.[A-Za-z0-9_+-]+|<none>)$": ".py",
    "^\\.ledger/patches/ws-[a-z0-9-]+-run-[A-Za-z0-9_-]+\\.patch$": (
        ".ledger/patches/ws-pipeline-plus-1a-task-queue-run-20261125T101500Z-3f9a.patch"
    ),
    "^PC-[A-Za-z0-9_-]{1,80}$": "PC-exec-atomic-create-3f9a3f9a3f9a",
    "^[a-z0-9][a-z0-9_-]{0,63}$": "python-module",
    "^PAT-[A-Za-z0-9_-]{1,80}$": "PAT-python-module",
    "^[A-Za-z_][A-Za-z0-9_]{0,63}$": "module",
    "^[0-9]+\\.[0-9]+\\.[0-9]+$": "1.0.0",
    "^(PAT|PC)-[A-Za-z0-9_-]{1,80}$": "PAT-python-module",
}
FORMAT_SAMPLES = {"date-time": "2026-11-25T10:15:00Z", "regex": "passed"}
# Values by property name where the generic rule would read as a contradiction (success and timed out).
NAME_SAMPLES: dict[str, Any] = {"timed_out": False}

_CONSTRAINT_KEYS = (
    "const",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "exclusiveMinimum",
    "maximum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
)


def kind_of(file: str) -> str:
    """``phase_spec`` for ``phase_spec.schema.json``: the page name and the ``--kind`` of ``uet validate``."""
    return file.removesuffix(".schema.json")


def anchor(name: str) -> str:
    """The anchor mkdocs (and GitHub) give a heading made of one identifier."""
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def _code(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    """One table cell: on one line, ``|`` escaped outside code spans (Python-Markdown keeps them inside)."""
    parts = re.split(r"(`+[^`]*?`+)", " ".join(text.split()))
    return "".join(part if part.startswith("`") else part.replace("|", "\\|") for part in parts)


class Renderer:
    """Renders the pages of one schema version; ``self.schemas`` maps file name to schema."""

    def __init__(self, schemas: dict[str, Schema], repo_root: Path) -> None:
        self.schemas = schemas
        self.repo_root = repo_root
        self.refs = References(schemas)

    # -- references -----------------------------------------------------------------------------------

    def _resolve(self, node: Schema, current: str) -> tuple[Schema, str]:
        """The node a ``$ref`` points at (and the file it lives in); other nodes unchanged."""
        if "$ref" not in node:
            return node, current
        target = self.refs.target(node["$ref"], current)
        return target.node, target.file

    def _link(self, ref: str, current: str, page: str) -> str:
        target = self.refs.target(ref, current)
        href = "" if kind_of(target.file) == page else f"{kind_of(target.file)}.md"
        return f"[{target.label}]({href}#{anchor(target.name)})" if target.name else f"[{target.label}]({href or '#'})"

    # -- types and constraints ------------------------------------------------------------------------

    def type_of(self, node: Schema, current: str, page: str) -> str:
        """A short Markdown description of a node's type, linking named definitions."""
        if "$ref" in node:
            target, _ = self._resolve(node, current)
            base = target.get("type")
            link = self._link(node["$ref"], current, page)
            return f"{base} ({link})" if isinstance(base, str) and base not in ("object", "array") else link
        if "anyOf" in node or "oneOf" in node:
            return " or ".join(self.type_of(option, current, page) for option in node.get("anyOf", node.get("oneOf")))
        kind = node.get("type")
        if isinstance(kind, list):
            return " or ".join(kind)
        if kind == "array":
            return f"array of {self.type_of(node.get('items', {}), current, page)}"
        if kind == "object" and "properties" not in node:
            values = node.get("additionalProperties", True)
            if isinstance(values, dict):
                keys = self.type_of(node.get("propertyNames", {"type": "string"}), current, page)
                return f"map of {keys} → {self.type_of(values, current, page)}"
            return "object (free-form)" if values is not False else "object"
        return str(kind) if kind else "any"

    def constraints(self, node: Schema, current: str) -> list[str]:
        """Constraints of a node, including those of a primitive definition it refers to."""
        resolved, where = self._resolve(node, current)
        if resolved is not node and resolved.get("type") in ("object", "array"):
            resolved = {}
        found = []
        if "pattern" in resolved:
            found.append(f"pattern {_code(resolved['pattern'])}")
        if "enum" in resolved:
            found.append("one of " + ", ".join(_code(value) for value in resolved["enum"]))
        for key in _CONSTRAINT_KEYS:
            if key in resolved:
                found.append(f"{key} {_code(resolved[key])}")
        if resolved.get("uniqueItems"):
            found.append("items unique")
        if resolved.get("type") == "object" and resolved.get("additionalProperties") is False:
            found.append("no other keys")
        if "default" in resolved or "default" in node:
            found.append(f"default {_code(node.get('default', resolved.get('default')))}")
        for key in ("items", "additionalProperties"):
            inner = resolved.get(key)
            if isinstance(inner, dict) and "$ref" not in inner:
                found.extend(
                    f"{'each item' if key == 'items' else 'each value'}: {c}" for c in self.constraints(inner, where)
                )
        return found

    def _constraint_cell(self, node: Schema, current: str) -> str:
        return _cell("; ".join(self.constraints(node, current))) or "—"

    # -- tables ---------------------------------------------------------------------------------------

    def field_table(self, node: Schema, current: str, page: str) -> list[str]:
        """The Markdown table of an object's properties, in schema order.

        Three columns, so the table fits a page at 1280 px: whether a field is required goes below its name,
        its constraints below its description (where long patterns may wrap, see docs/assets/stylesheets).
        """
        required = set(node.get("required", []))
        lines = ["| Field | Type | Description |", "| --- | --- | --- |"]
        for name, prop in node.get("properties", {}).items():
            constraints = "; ".join(self.constraints(prop, current))
            description = prop.get("description", "") + (f"<br>Constraints: {constraints}" if constraints else "")
            lines.append(
                f"| `{name}`<br>{'required' if name in required else 'optional'} | "
                f"{_cell(self.type_of(prop, current, page))} | {_cell(description)} |"
            )
        return lines

    def _object_notes(self, node: Schema) -> list[str]:
        notes = []
        if node.get("additionalProperties") is False:
            notes.append("No keys other than those listed are allowed.")
        if "minProperties" in node:
            notes.append(f"At least {node['minProperties']} of the fields must be present.")
        return notes

    def definition_section(self, name: str, node: Schema, current: str) -> list[str]:
        """A ``## Name`` section for one shared definition."""
        page = kind_of(current)
        lines = [f"## {name}", "", node.get("description", ""), ""]
        if "enum" in node:
            # Named enums are exported as Literal aliases (a test holds uet_contracts to this), so code that
            # handles their values can name the type instead of copying the list.
            lines += [f"Python type: `uet_contracts.{name}`, a `Literal` of these values.", ""]
        if "properties" in node:
            lines += [*self._object_notes(node), "", *self.field_table(node, current, page), ""]
        else:
            lines += [
                "| Type | Constraints |",
                "| --- | --- |",
                f"| {_cell(self.type_of(node, current, page))} | {self._constraint_cell(node, current)} |",
                "",
            ]
        return lines

    # -- examples -------------------------------------------------------------------------------------

    def example_value(self, node: Schema, current: str, name: str = "value") -> Any:
        """A deterministic value that satisfies ``node``: every property present, one item per array."""
        node, current = self._resolve(node, current)
        if name in NAME_SAMPLES:
            return NAME_SAMPLES[name]
        if "const" in node:
            return node["const"]
        if "enum" in node:
            return node["enum"][0]
        if "anyOf" in node or "oneOf" in node:
            return self.example_value(node.get("anyOf", node.get("oneOf"))[0], current, name)
        kind = node.get("type")
        kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
        if kind == "object":
            if "properties" in node:
                return {key: self.example_value(prop, current, key) for key, prop in node["properties"].items()}
            values = node.get("additionalProperties", True)
            if isinstance(values, dict):
                key = self.example_value(node.get("propertyNames", {"type": "string"}), current, "key")
                return {key: self.example_value(values, current, name)}
            return {}
        if kind == "array":
            return [self.example_value(node.get("items", {}), current, name)] * max(1, node.get("minItems", 1))
        if kind == "boolean":
            return True
        if kind in ("integer", "number"):
            return self._example_number(node, integer=kind == "integer")
        if kind == "string":
            return self._example_string(node, name)
        raise ValueError(f"{current}: no example rule for a node of type {kind!r} ({name})")

    def _example_number(self, node: Schema, integer: bool) -> int | float:
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        if low is not None and high is not None:
            value: float = (low + high) / 2
        elif "exclusiveMinimum" in node:
            value = node["exclusiveMinimum"] + 1
        elif low is not None:
            value = low if integer else low + 1.5
        else:
            value = 0 if integer else 1.5
        return int(value) if integer else float(value)

    def _example_string(self, node: Schema, name: str) -> str:
        if "pattern" in node:
            try:
                return PATTERN_SAMPLES[node["pattern"]]
            except KeyError:
                raise ValueError(f"codegen/reference.py: add a PATTERN_SAMPLES entry for {node['pattern']!r}") from None
        if "format" in node:
            return FORMAT_SAMPLES[node["format"]]
        return f"example {name.replace('_', ' ')}"

    def example_block(self, file: str) -> list[str]:
        """The ``## Example`` section: the project's example file, or one built from the schema."""
        source = EXAMPLE_FILES.get(file)
        if source:
            path = self.repo_root / source
            language = "yaml" if path.suffix in (".yaml", ".yml") else "json"
            body = path.read_text(encoding="utf-8").rstrip("\n")
            intro = f"The project's example `{source}`; the tests validate it against this schema."
        else:
            language = "json"
            body = json.dumps(self.example_value(self.schemas[file], file), indent=2, ensure_ascii=False)
            intro = "Built from the schema by codegen (every field present); the tests validate it against this schema."
        return ["## Example", "", intro, "", f"```{language}", body, "```", ""]

    # -- pages ----------------------------------------------------------------------------------------

    def contract_page(self, file: str, role: Role, handoff: Handoff) -> str:
        doc = self.schemas[file]
        page = kind_of(file)
        lines = [
            f"# {doc['title']}",
            "",
            doc.get("description", ""),
            "",
            f"- **Hand-off:** {handoff.number}. {handoff.title}",
            f"- **Produced by:** {role.producer}",
            f"- **Consumed by:** {role.consumer}",
            f"- **Stored in:** {role.where}",
            f"- **Python type:** `uet_contracts.{doc['title']}`",
            f"- **Schema:** `schemas/v1/{file}`, `$id` `{doc['$id']}`",
            f"- **Validate:** `uet validate --kind {page} FILE`",
            "",
            "## Fields",
            "",
            *self._object_notes(doc),
            "",
            *self.field_table(doc, file, page),
            "",
        ]
        for name, node in doc.get("$defs", {}).items():
            lines += self.definition_section(name, node, file)
        lines += self.example_block(file)
        return _page(lines)

    def common_page(self) -> str:
        doc = self.schemas[COMMON_FILE]
        lines = [
            f"# {doc['title']} definitions",
            "",
            doc.get("description", ""),
            "",
            f"Schema `schemas/v1/{COMMON_FILE}`, `$id` `{doc['$id']}`. Contracts refer to these definitions with "
            "relative `$ref`s; the bundled schemas in `generated/bundled/` inline them.",
            "",
        ]
        for name, node in doc["$defs"].items():
            lines += self.definition_section(name, node, COMMON_FILE)
            if "properties" in node:
                lines += [
                    "Example:",
                    "",
                    "```json",
                    json.dumps(self.example_value(node, COMMON_FILE), indent=2),
                    "```",
                    "",
                ]
        return _page(lines)

    def index_page(self) -> str:
        lines = [
            "# Schema reference",
            "",
            "One page per contract, generated from `schemas/v1/` by `python -m codegen` (never edited by hand).",
            "Each lists every field with its type, whether it is required, its constraints and its meaning, and ends",
            "with an example that the tests validate against the schema.",
            "",
        ]
        for handoff in HANDOFFS:
            lines += [f"## {handoff.number}. {handoff.title}", "", "| Contract | What it records |", "| --- | --- |"]
            for role in handoff.roles:
                doc = self.schemas[role.file]
                lines.append(f"| [{doc['title']}]({kind_of(role.file)}.md) | {_cell(doc.get('description', ''))} |")
            lines.append("")
        lines += [
            "## Shared definitions",
            "",
            f"[{self.schemas[COMMON_FILE]['title']} definitions](common.md): ids, paths, timestamps, hashes, "
            "file scope, steps and acceptance checks.",
            "",
        ]
        return _page(lines)

    def handoffs_table(self) -> str:
        """Who produces and who consumes each contract; four columns, so it fits the page."""
        lines = [
            "| Contract | Hand-off, stage | Produced by, consumed by | Stored in |",
            "| --- | --- | --- | --- |",
        ]
        for handoff in HANDOFFS:
            for role in handoff.roles:
                link = f"[{self.schemas[role.file]['title']}](reference/{kind_of(role.file)}.md)"
                lines.append(
                    f"| {link} | {handoff.number}. {role.stage} | "
                    f"Produced by {_cell(role.producer)}<br>Consumed by {_cell(role.consumer)} | {_cell(role.where)} |"
                )
        return _page(lines)

    def field_map(self) -> str:
        lines = [
            "| Contract, stage | Field | Meaning |",
            "| --- | --- | --- |",
        ]
        for handoff in HANDOFFS:
            for role in handoff.roles:
                doc = self.schemas[role.file]
                required = set(doc.get("required", []))
                for name, prop in doc["properties"].items():
                    lines.append(
                        f"| [{doc['title']}](reference/{kind_of(role.file)}.md)<br>{handoff.number}. {role.stage} | "
                        f"`{name}`<br>{'required' if name in required else 'optional'} | "
                        f"{_cell(prop.get('description', ''))} |"
                    )
        return _page(lines)


def _page(lines: list[str]) -> str:
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n") + "\n"


def _check_roles(schemas: dict[str, Schema]) -> None:
    assigned = [role.file for handoff in HANDOFFS for role in handoff.roles]
    contracts = contract_files(schemas)
    missing = sorted(set(contracts) - set(assigned))
    unknown = sorted(set(assigned) - set(contracts))
    doubled = sorted({file for file in assigned if assigned.count(file) > 1})
    if missing or unknown or doubled:
        raise ValueError(
            "codegen/reference.py HANDOFFS must name each contract schema once: "
            f"missing {missing}, unknown {unknown}, repeated {doubled}"
        )


def render_reference(schema_dir: Path, repo_root: Path) -> dict[str, str]:
    """Every reference file's name and text, in memory (tests compare them with the committed files)."""
    schemas = load_schemas(schema_dir)
    _check_roles(schemas)
    renderer = Renderer(schemas, repo_root)
    pages = {
        "index.md": renderer.index_page(),
        "common.md": renderer.common_page(),
        "_handoffs.md": renderer.handoffs_table(),
        "_field_map.md": renderer.field_map(),
    }
    for handoff in HANDOFFS:
        for role in handoff.roles:
            pages[f"{kind_of(role.file)}.md"] = renderer.contract_page(role.file, role, handoff)
    return dict(sorted(pages.items()))


def write_reference(schema_dir: Path, out_dir: Path, repo_root: Path) -> list[Path]:
    """Writes the reference files into ``out_dir``; returns the files written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render_reference(schema_dir, repo_root).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
