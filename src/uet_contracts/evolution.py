"""Classify the differences between two versions of the contract schemas as compatible or breaking.

Why: a released contract is a promise to every repository that stores, produces or validates its
documents. A change is **compatible** when every document valid under the old schema stays valid under
the new one (so stored records, phase files in other repos and pinned consumers keep working); anything
else is **breaking** and belongs in a new major version (``schemas/v2`` with ``…/v2/…`` ``$id``\\ s),
never in an edit of a released version.

The comparison walks both schemas side by side, one keyword at a time, with ``$ref``\\ s resolved offline
through a ``referencing`` registry of the schema files beside each one, so a change inside
``common.schema.json`` is reported at every contract location that uses it (``… (via common.schema.json#/$defs/X)``).

An inline schema moved into ``$defs`` and referred to (or a ``$ref`` replaced by its target written out)
is compared by what it resolves to, so naming a definition is not mistaken for a change: the move itself is
reported as compatible and any real difference between the two schemas is reported as usual.

It **fails closed**: a keyword without a rule here (``if``/``then``, ``not``, ``patternProperties``,
``default``, …), a changed ``$ref`` target, a ``$ref`` that cannot be resolved offline, a ``$ref`` on one
side only with constraints beside it, or any change inside ``oneOf`` or inside a keyword without rules
(where tightening a branch may loosen the whole, as under ``not``) is reported as ``unclassified``, and
``unclassified`` counts as breaking.

Public API (used by ``uet schema diff`` and ``nox -s compat``): :func:`diff_paths`, :func:`diff_files`,
:func:`diff_dirs`, :func:`diff_schemas`, :class:`Change`, :class:`Verdict`, :class:`SchemaDiffError`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

__all__ = ["Change", "SchemaDiffError", "Verdict", "diff_dirs", "diff_files", "diff_paths", "diff_schemas"]


class Verdict(StrEnum):
    """How a change affects documents that were valid under the old schema."""

    COMPATIBLE = "compatible"
    BREAKING = "breaking"
    UNCLASSIFIED = "unclassified"


@dataclass(frozen=True, slots=True)
class Change:
    """One classified difference: where it is (file and JSON Pointer into the schema) and what it is."""

    file: str
    pointer: str
    verdict: Verdict
    message: str

    @property
    def breaking(self) -> bool:
        """Unclassified changes count as breaking: the classifier fails closed."""
        return self.verdict is not Verdict.COMPATIBLE

    def format(self) -> str:
        """``FILE#/POINTER: VERDICT: message``, the line ``uet schema diff`` prints."""
        return f"{self.file}#{self.pointer}: {self.verdict}: {self.message}"


class SchemaDiffError(ValueError):
    """The inputs cannot be compared at all (missing path, invalid JSON, a file against a folder)."""


# Keywords whose changes never change which documents are valid.
_DOCS = frozenset({"description", "title", "examples", "$comment", "deprecated"})
# Bounds: a larger lower bound or a smaller upper bound rejects documents that used to pass.
_LOWER = frozenset({"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains"})
_UPPER = frozenset({"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains"})
# Subschema keywords where "absent" means "anything goes" (the same as ``true``).
_OPEN_BY_DEFAULT = frozenset(
    {"additionalProperties", "items", "propertyNames", "unevaluatedProperties", "unevaluatedItems"}
)
_SCHEMA_MAPS = frozenset({"$defs", "definitions"})
# Keywords whose value is data, never a subschema: equal values mean no change.
_LEAF = _DOCS | _LOWER | _UPPER | {"type", "enum", "const", "pattern", "format", "multipleOf", "uniqueItems"}
_ABSENT: Any = object()  # a keyword missing on one side


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@dataclass(frozen=True, slots=True)
class _Site:
    """Where the walk is: the pointer in the contract being diffed, the last ``$ref`` followed, the resolvers
    of both sides, the pairs of ``$ref`` targets being expanded (cycle guard) and, inside ``oneOf`` or a
    keyword without rules, the reason no change there can be classified."""

    pointer: str
    via: str | None
    old: Any  # referencing Resolver of the old side
    new: Any
    expanding: frozenset[tuple[int, int]] = frozenset()
    strict: str | None = None

    def child(self, *tokens: str) -> _Site:
        return replace(self, pointer=self.pointer + "".join("/" + _escape(t) for t in tokens))


class _Differ:
    """Collects the changes of one contract file; one method per family of keywords."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.changes: list[Change] = []

    # -- reporting ---------------------------------------------------------------------------------------------
    def emit(self, site: _Site, verdict: Verdict, message: str, *, docs: bool = False) -> None:
        if site.via is not None:
            message += f" (via {site.via})"
        if site.strict is not None and not docs:
            verdict = Verdict.UNCLASSIFIED
            message += f"; inside {site.strict} no rule classifies it"
        self.changes.append(Change(self.file, site.pointer, verdict, message))

    # -- schemas -----------------------------------------------------------------------------------------------
    def schema(self, old: Any, new: Any, site: _Site) -> None:
        """Compare two (sub)schemas: objects keyword by keyword, booleans by what they accept."""
        if isinstance(old, dict) and isinstance(new, dict):
            self.node(old, new, site)
        elif isinstance(old, bool | dict) and isinstance(new, bool | dict):
            self.boolean(old, new, site)
        elif old != new:
            self.emit(site, Verdict.UNCLASSIFIED, f"not a schema: changed from {_dump(old)} to {_dump(new)}")

    def boolean(self, old: bool | dict[str, Any], new: bool | dict[str, Any], site: _Site) -> None:
        if old == new:
            return
        if old is False or new is True:
            self.emit(site, Verdict.COMPATIBLE, f"schema loosened from {_dump(old)} to {_dump(new)}")
        else:
            self.emit(site, Verdict.BREAKING, f"schema tightened from {_dump(old)} to {_dump(new)}")

    def node(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> None:
        if "$id" in new and isinstance(new["$id"], str) and "$id" in old and isinstance(old["$id"], str):
            site = replace(
                site,
                old=site.old.in_subresource(Resource.from_contents(old, default_specification=DRAFT202012)),
                new=site.new.in_subresource(Resource.from_contents(new, default_specification=DRAFT202012)),
            )
        if self.wrapped(old, new, site):
            return
        if ("$ref" in old) != ("$ref" in new):
            why = self.inlined(old, new, site)
            if why is None:
                return
            ref, word = (new["$ref"], "added") if "$ref" in new else (old["$ref"], "removed")
            self.emit(site, Verdict.UNCLASSIFIED, f"$ref {word}: {_dump(ref)}; {why}")
        elif "$ref" in old:
            self.ref(old, new, site)
        self.required(old, new, site)
        for keyword in sorted((old.keys() | new.keys()) - {"$ref", "required"}):
            self.keyword(keyword, old, new, site)

    def wrapped(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> bool:
        """Whether ``old`` became the first branch of a new ``anyOf`` (compared as such); False to go on as usual.

        Why: naming a second shape a value may take (a step's ``tool``: a runner, or now a tool profile)
        writes the old schema as the first branch of an ``anyOf`` beside the new ones; every document the
        old schema accepted passes that branch, so the whole. Only docs may sit beside the ``anyOf``, and the
        first branch is compared with the old schema as usual (a change in it is reported as any other).
        """
        branches = new.get("anyOf")
        if "anyOf" in old or not isinstance(branches, list) or len(branches) < 2 or set(new) - _DOCS != {"anyOf"}:
            return False
        core = {k: v for k, v in old.items() if k not in _DOCS}
        if not core or not isinstance(branches[0], dict):
            return False
        added = len(branches) - 1
        self.emit(
            site.child("anyOf"), Verdict.COMPATIBLE, f"schema became the first anyOf branch, {added} added beside it"
        )
        self.node(core, branches[0], site.child("anyOf", "0"))
        for keyword in sorted((old.keys() | new.keys()) & _DOCS):
            self.keyword(keyword, old, new, site)
        return True

    def ref(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> None:
        """A ``$ref`` on both sides: the same target is compared through (a changed target is unclassified)."""
        old_ref, new_ref = old["$ref"], new["$ref"]
        if old_ref != new_ref:
            self.emit(site, Verdict.UNCLASSIFIED, f"$ref target changed from {_dump(old_ref)} to {_dump(new_ref)}")
            return
        if not isinstance(new_ref, str):
            self.emit(site, Verdict.UNCLASSIFIED, f"$ref is not a string: {_dump(new_ref)}")
            return
        try:
            old_target = site.old.lookup(old_ref)
            new_target = site.new.lookup(new_ref)
        except Unresolvable:
            self.emit(site, Verdict.UNCLASSIFIED, f"$ref {_dump(new_ref)} cannot be resolved offline")
            return
        key = (id(old_target.contents), id(new_target.contents))
        if key in site.expanding:  # a recursive schema: this pair is already being compared further up
            return
        inner = replace(
            site, via=new_ref, old=old_target.resolver, new=new_target.resolver, expanding=site.expanding | {key}
        )
        self.schema(old_target.contents, new_target.contents, inner)

    def inlined(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> str | None:
        """A ``$ref`` on one side only: compare its target with the inline schema on the other side.

        Why: moving an inline schema into ``$defs`` (to name it, so codegen emits a named type) and
        referring to it accepts exactly the documents it accepted before. In draft 2020-12 a ``$ref`` and
        the keywords beside it all apply, so the target's keywords may stand in for the ``$ref`` only when
        nothing but docs sits beside it: a ``properties`` there, say, would change what the target's
        ``additionalProperties`` counts as additional. The target's own docs describe the definition (they
        are diffed where it is defined); the docs beside the ``$ref`` are the ones this site shows.

        Returns None when the two sides were compared (the move is reported as compatible, differences
        inside as usual), or why they could not be, for the caller to report as unclassified.
        """
        referring, inline = (new, old) if "$ref" in new else (old, new)
        ref = referring["$ref"]
        if not isinstance(ref, str):
            return "it is not a string"
        beside = sorted(set(referring) - {"$ref"} - _DOCS)
        if beside:
            return f"the keywords beside it ({', '.join(beside)}) keep its target from being compared in its place"
        try:
            target = (site.new if referring is new else site.old).lookup(ref)
        except Unresolvable:
            return "it cannot be resolved offline"
        if not isinstance(target.contents, dict):
            return f"its target is not an object schema: {_dump(target.contents)}"
        written_out = {k: v for k, v in target.contents.items() if k not in _DOCS}
        written_out.update((k, v) for k, v in referring.items() if k != "$ref")
        if referring is new:
            message = f"inline schema replaced by $ref {_dump(ref)} (compared with what it resolves to)"
            before, after, inner = inline, written_out, replace(site, via=ref, new=target.resolver)
            key = (id(inline), id(target.contents))
        else:
            message = f"$ref {_dump(ref)} replaced by its target written out (compared with what it resolved to)"
            before, after, inner = written_out, inline, replace(site, via=ref, old=target.resolver)
            key = (id(target.contents), id(inline))
        self.emit(site, Verdict.COMPATIBLE, message, docs=True)
        if key not in site.expanding:  # a recursive schema: this pair is already being compared further up
            self.node(before, after, replace(inner, expanding=site.expanding | {key}))
        return None

    def keyword(self, keyword: str, old: dict[str, Any], new: dict[str, Any], site: _Site) -> None:
        absent = _ABSENT
        before, after = old.get(keyword, absent), new.get(keyword, absent)
        here = site.child(keyword)
        if keyword == "properties":
            self.properties(old, new, site)
        elif keyword in _OPEN_BY_DEFAULT:
            self.open_keyword(keyword, True if before is absent else before, True if after is absent else after, here)
        elif keyword in _SCHEMA_MAPS:
            self.schema_map(keyword, before, after, here)
        elif keyword in ("allOf", "anyOf", "oneOf"):
            self.combinator(keyword, before, after, here)
        elif before == after and (keyword in _LEAF or not _has_ref(before)):
            return  # equal, and no $ref inside whose target may have changed
        elif keyword in _DOCS:
            word = "added" if before is absent else "removed" if after is absent else "changed"
            self.emit(here, Verdict.COMPATIBLE, f"{keyword} {word} (docs only)", docs=True)
        elif before is absent or after is absent:
            self.presence(keyword, before is absent, before if after is absent else after, here)
        else:
            self.changed(keyword, before, after, here)

    # -- keywords present on one side only ---------------------------------------------------------------------
    def presence(self, keyword: str, added: bool, value: Any, site: _Site) -> None:
        """A keyword that appears or disappears: most constraints tighten when added, loosen when removed."""
        shown = _dump(value)
        constraint = keyword in _LEAF - _DOCS
        if keyword == "uniqueItems" and value is False:
            return  # false is the default: adding or removing it changes nothing
        if constraint:
            if added:
                self.emit(site, Verdict.BREAKING, f"{keyword} added: {shown}")
            else:
                self.emit(site, Verdict.COMPATIBLE, f"{keyword} removed (was {shown})")
        elif keyword == "$id":
            self.emit(site, Verdict.BREAKING, f"$id {'added' if added else 'removed'}: {shown}")
        else:
            word = "added" if added else "removed"
            self.emit(site, Verdict.UNCLASSIFIED, f"keyword {_dump(keyword)} {word}; no rule classifies it")

    # -- keywords present on both sides with different values --------------------------------------------------
    def changed(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        rule: Callable[[str, Any, Any, _Site], None] | None = {
            "type": self.type_,
            "enum": self.enum,
            "uniqueItems": self.unique_items,
            "multipleOf": self.multiple_of,
        }.get(keyword)
        if rule is not None:
            rule(keyword, before, after, site)
        elif keyword in _LOWER or keyword in _UPPER:
            self.bound(keyword, before, after, site)
        elif keyword == "pattern" and _alternative_added(before, after):
            self.emit(site, Verdict.COMPATIBLE, f"pattern widened: {_dump(before)} kept as the first alternative")
        elif keyword in ("pattern", "format", "const", "$id"):
            self.emit(site, Verdict.BREAKING, f"{keyword} changed from {_dump(before)} to {_dump(after)}")
        elif keyword == "$schema":
            self.emit(site, Verdict.UNCLASSIFIED, f"$schema (dialect) changed from {_dump(before)} to {_dump(after)}")
        else:
            self.opaque(keyword, before, after, site)

    def opaque(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        """A keyword without rules on both sides: compare its value structurally, every change unclassified.

        Walking it (instead of calling the whole keyword changed) still resolves the ``$ref``\\ s inside, so a
        change in a shared definition used under, say, ``if`` is caught too.
        """
        strict = replace(site, strict=site.strict or _dump(keyword))
        self.structure(before, after, strict)

    def structure(self, before: Any, after: Any, site: _Site) -> None:
        if isinstance(before, dict) and isinstance(after, dict):
            self.node(before, after, site)
        elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
            for index, (item_before, item_after) in enumerate(zip(before, after, strict=True)):
                self.structure(item_before, item_after, site.child(str(index)))
        elif before != after:
            self.emit(site, Verdict.UNCLASSIFIED, f"changed from {_dump(before)} to {_dump(after)}")

    def type_(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        old_types, new_types = _types(before), _types(after)
        if old_types is None or new_types is None:
            self.emit(site, Verdict.UNCLASSIFIED, f"type changed from {_dump(before)} to {_dump(after)}")
        elif all(_covered(t, new_types) for t in old_types):
            self.emit(site, Verdict.COMPATIBLE, f"type widened from {_dump(before)} to {_dump(after)}")
        else:
            self.emit(site, Verdict.BREAKING, f"type narrowed from {_dump(before)} to {_dump(after)}")

    def enum(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        if not isinstance(before, list) or not isinstance(after, list):
            self.emit(site, Verdict.UNCLASSIFIED, f"enum changed from {_dump(before)} to {_dump(after)}")
            return
        old_values, new_values = {_dump(v) for v in before}, {_dump(v) for v in after}
        removed, added = sorted(old_values - new_values), sorted(new_values - old_values)
        if removed:
            detail = "removed " + ", ".join(removed) + ("; added " + ", ".join(added) if added else "")
            self.emit(site, Verdict.BREAKING, f"enum narrowed: {detail}")
        elif added:
            self.emit(site, Verdict.COMPATIBLE, "enum widened: added " + ", ".join(added))
        # else: only the order changed, which changes nothing

    def unique_items(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        if after is True and before is False:
            self.emit(site, Verdict.BREAKING, "uniqueItems added: true")
        elif after is False and before is True:
            self.emit(site, Verdict.COMPATIBLE, "uniqueItems removed (was true)")
        else:
            self.emit(site, Verdict.UNCLASSIFIED, f"uniqueItems changed from {_dump(before)} to {_dump(after)}")

    def multiple_of(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        if _number(before) and _number(after) and after > 0 and (before / after).is_integer():
            self.emit(site, Verdict.COMPATIBLE, f"multipleOf loosened from {_dump(before)} to {_dump(after)}")
        else:
            self.emit(site, Verdict.BREAKING, f"multipleOf changed from {_dump(before)} to {_dump(after)}")

    def bound(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        if not (_number(before) and _number(after)):
            self.emit(site, Verdict.UNCLASSIFIED, f"{keyword} changed from {_dump(before)} to {_dump(after)}")
            return
        tightened = after > before if keyword in _LOWER else after < before
        verdict, word = (Verdict.BREAKING, "tightened") if tightened else (Verdict.COMPATIBLE, "loosened")
        self.emit(site, verdict, f"{keyword} {word} from {_dump(before)} to {_dump(after)}")

    # -- object structure --------------------------------------------------------------------------------------
    def properties(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> None:
        before, after = old.get("properties", {}), new.get("properties", {})
        if not isinstance(before, dict) or not isinstance(after, dict):
            self.opaque("properties", before, after, site.child("properties"))
            return
        required = _names(new.get("required")) or set()
        for name in sorted(before.keys() | after.keys()):
            here = site.child("properties", name)
            if name not in after:
                self.emit(here, Verdict.BREAKING, f"property {_dump(name)} removed")
            elif name not in before:
                if name in required:
                    self.emit(here, Verdict.BREAKING, f"required property {_dump(name)} added")
                else:
                    self.emit(here, Verdict.COMPATIBLE, f"optional property {_dump(name)} added")
            else:
                self.schema(before[name], after[name], here)

    def required(self, old: dict[str, Any], new: dict[str, Any], site: _Site) -> None:
        if "required" not in old and "required" not in new:
            return
        before, after = _names(old.get("required")), _names(new.get("required"))
        if before is None or after is None:
            self.opaque("required", old.get("required"), new.get("required"), site.child("required"))
            return
        old_props, new_props = _keys(old.get("properties")), _keys(new.get("properties"))
        for name in sorted(after - before):
            if name in new_props and name not in old_props:
                continue  # reported as "required property added"
            self.emit(site.child("properties", name), Verdict.BREAKING, f"property {_dump(name)} is now required")
        for name in sorted(before - after):
            if name in old_props and name not in new_props:
                continue  # reported as "property removed"
            self.emit(
                site.child("properties", name), Verdict.COMPATIBLE, f"property {_dump(name)} is no longer required"
            )

    def open_keyword(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        """``additionalProperties``, ``items``, …: absent is ``true``; ``false`` closes, a schema constrains."""
        if isinstance(before, dict) and isinstance(after, dict):
            self.node(before, after, site)
        elif before == after or not isinstance(before, bool | dict) or not isinstance(after, bool | dict):
            self.schema(before, after, site)
        elif after is False:
            self.emit(site, Verdict.BREAKING, f"{keyword} closed (was {_dump(before)})")
        elif before is False:
            self.emit(site, Verdict.COMPATIBLE, f"{keyword} opened (now {_dump(after)})")
        elif before is True:
            self.emit(site, Verdict.BREAKING, f"{keyword} constrained by a schema (was true)")
        else:
            self.emit(site, Verdict.COMPATIBLE, f"{keyword} constraint removed (now true)")

    def schema_map(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        """``$defs``: a removed definition breaks whoever refers to it from outside; an added one cannot."""
        before = {} if before is _ABSENT else before
        after = {} if after is _ABSENT else after
        if not isinstance(before, dict) or not isinstance(after, dict):
            self.opaque(keyword, before, after, site)
            return
        for name in sorted(before.keys() | after.keys()):
            here = site.child(name)
            if name not in after:
                self.emit(here, Verdict.BREAKING, f"definition {_dump(name)} removed")
            elif name not in before:
                self.emit(here, Verdict.COMPATIBLE, f"definition {_dump(name)} added")
            else:
                self.schema(before[name], after[name], here)

    def combinator(self, keyword: str, before: Any, after: Any, site: _Site) -> None:
        """``allOf``/``anyOf`` branch by branch; ``oneOf`` likewise, but every change there is unclassified (a
        loosened branch can start to overlap another). A changed number of branches is only classified for
        ``anyOf`` with every old branch kept (widened)."""
        before = [] if before is _ABSENT else before
        after = [] if after is _ABSENT else after
        if not isinstance(before, list) or not isinstance(after, list):
            self.opaque(keyword, before, after, site)
        elif len(before) == len(after):
            inner = replace(site, strict=site.strict or _dump(keyword)) if keyword == "oneOf" else site
            for index, (old_branch, new_branch) in enumerate(zip(before, after, strict=True)):
                self.schema(old_branch, new_branch, inner.child(str(index)))
        elif keyword == "anyOf" and before and {_dump(b) for b in before} <= {_dump(b) for b in after}:
            self.emit(site, Verdict.COMPATIBLE, f"anyOf widened from {len(before)} to {len(after)} branches")
        else:
            self.emit(site, Verdict.UNCLASSIFIED, f"{keyword} changed from {len(before)} to {len(after)} branches")


def _alternative_added(before: Any, after: Any) -> bool:
    """Whether ``after`` is ``before|X``, both halves valid patterns: a widening.

    A JSON Schema ``pattern`` is searched, not matched whole, and where ``before`` matches, the alternation
    ``before|X`` matches too (its first alternative is tried first at every position). Each half must be a
    valid pattern on its own, so the ``|`` really is the outermost alternation (not inside a class or group).
    A pattern rewritten any other way stays "changed" (breaking): equivalence of regexes is not decided here.
    """
    import re

    if not isinstance(before, str) or not isinstance(after, str) or not after.startswith(before + "|"):
        return False
    try:
        re.compile(before)
        re.compile(after[len(before) + 1 :])
        re.compile(after)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def _has_ref(value: Any) -> bool:
    if isinstance(value, dict):
        return "$ref" in value or any(_has_ref(v) for v in value.values())
    return isinstance(value, list) and any(_has_ref(v) for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _types(value: Any) -> set[str] | None:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return set(value)
    return None


def _covered(type_name: str, types: set[str]) -> bool:
    return type_name in types or (type_name == "integer" and "number" in types)


def _names(value: Any) -> set[str] | None:
    if value is None:
        return set()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return set(value)
    return None


def _keys(value: Any) -> set[str]:
    return set(value) if isinstance(value, dict) else set()


# -- entry points ----------------------------------------------------------------------------------------------


def diff_schemas(
    old: Mapping[str, Any] | bool,
    new: Mapping[str, Any] | bool,
    *,
    file: str = "schema.json",
    old_registry: Registry[Any] | None = None,
    new_registry: Registry[Any] | None = None,
    old_uri: str | None = None,
    new_uri: str | None = None,
) -> list[Change]:
    """Every classified change from ``old`` to ``new``, in a stable order.

    The registries hold the schemas their ``$ref``\\ s point to (keyed by ``$id``); without one only refs
    inside the schema itself resolve, and any other ref is reported unclassified (nothing is fetched).
    ``old_uri``/``new_uri`` are the base URIs of schemas without an ``$id`` (their file URIs).
    """
    old_resolver = _root_resolver(old, old_registry or Registry(), old_uri or f"urn:uet-schema-diff:old:{file}")
    new_resolver = _root_resolver(new, new_registry or Registry(), new_uri or f"urn:uet-schema-diff:new:{file}")
    differ = _Differ(file)
    differ.schema(old, new, _Site("", None, old_resolver, new_resolver))
    return sorted(differ.changes, key=lambda change: change.pointer)


def diff_files(old: Path, new: Path) -> list[Change]:
    """Compare two schema files; ``$ref``\\ s resolve against the ``*.json`` files beside each one."""
    old_registry, old_schemas = _load_folder(old.parent, also=old)
    new_registry, new_schemas = _load_folder(new.parent, also=new)
    return diff_schemas(
        old_schemas[old.name],
        new_schemas[new.name],
        file=new.name,
        old_registry=old_registry,
        new_registry=new_registry,
        old_uri=old.resolve().as_uri(),
        new_uri=new.resolve().as_uri(),
    )


def diff_dirs(old: Path, new: Path) -> list[Change]:
    """Compare two folders of schemas, pairing ``*.json`` files by name; a removed file is breaking."""
    old_registry, old_schemas = _load_folder(old)
    new_registry, new_schemas = _load_folder(new)
    changes: list[Change] = []
    for name in sorted(old_schemas.keys() | new_schemas.keys()):
        if name not in new_schemas:
            changes.append(Change(name, "", Verdict.BREAKING, "schema file removed"))
        elif name not in old_schemas:
            changes.append(Change(name, "", Verdict.COMPATIBLE, "schema file added"))
        else:
            changes += diff_schemas(
                old_schemas[name],
                new_schemas[name],
                file=name,
                old_registry=old_registry,
                new_registry=new_registry,
                old_uri=(old / name).resolve().as_uri(),
                new_uri=(new / name).resolve().as_uri(),
            )
    return changes


def diff_paths(old: str | Path, new: str | Path) -> list[Change]:
    """``uet schema diff OLD NEW``: two files or two folders; :class:`SchemaDiffError` for anything else."""
    old_path, new_path = Path(old), Path(new)
    for path in (old_path, new_path):
        if not path.exists():
            raise SchemaDiffError(f"{path}: no such file or folder")
    if old_path.is_dir() and new_path.is_dir():
        return diff_dirs(old_path, new_path)
    if old_path.is_file() and new_path.is_file():
        return diff_files(old_path, new_path)
    raise SchemaDiffError(f"{old_path} and {new_path}: give two schema files or two folders of schema files")


def _root_resolver(schema: Mapping[str, Any] | bool, registry: Registry[Any], fallback_uri: str) -> Any:
    """A resolver whose base is the schema's ``$id`` (or ``fallback_uri``), so ``#/$defs/…`` refs resolve."""
    contents = dict(schema) if isinstance(schema, Mapping) else schema
    uri = schema.get("$id") if isinstance(schema, Mapping) else None
    base = uri if isinstance(uri, str) else fallback_uri
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    return registry.with_resource(base, resource).resolver(base_uri=base)


def _load_folder(folder: Path, also: Path | None = None) -> tuple[Registry[Any], dict[str, Any]]:
    """The ``*.json`` schemas of a folder by file name, and a registry of them by ``$id`` and by file URI."""
    files = sorted(p for p in folder.glob("*.json") if p.is_file())
    if also is not None and also not in files:
        files.append(also)
    if not files:
        raise SchemaDiffError(f"{folder}: no .json schema files in this folder")
    schemas: dict[str, Any] = {}
    resources: list[tuple[str, Resource[Any]]] = []
    for path in files:
        schema = _read_json(path)
        schemas[path.name] = schema
        resource = Resource.from_contents(schema, default_specification=DRAFT202012)
        resources.append((path.resolve().as_uri(), resource))
        if isinstance(schema, dict) and isinstance(schema.get("$id"), str):
            resources.append((schema["$id"], resource))
    return Registry().with_resources(resources), schemas


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemaDiffError(f"{path}: cannot read: {exc}") from None
    try:
        schema = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SchemaDiffError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(schema, dict | bool):
        raise SchemaDiffError(f"{path}: not a JSON Schema (an object or a boolean)")
    return schema
