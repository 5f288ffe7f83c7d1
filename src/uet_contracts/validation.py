"""Checks plain data against a canonical schema and explains each failure in words a person can act on.

The verdict comes from jsonschema-rs over the bundled schema (about 100x faster than the pure-Python
validator). Only when it says "invalid" is python-jsonschema, with a ``referencing`` registry of the
canonical schemas, asked for the full list of errors: its error objects carry the schema path and
sub-errors we need for precise messages, and speed no longer matters on that path.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from uet_contracts import _resources
from uet_contracts.contracts import Contract
from uet_contracts.errors import Problem, json_path
from uet_contracts.parsing import Format, locate

_JSON_TYPES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number"}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return _JSON_TYPES.get(type(value), type(value).__name__)


@cache
def canonical_schema_text(file: str) -> str:
    return (_resources.schema_dir() / file).read_text(encoding="utf-8")


@cache
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = []
    for path in sorted(_resources.schema_dir().glob("*.schema.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        resources.append(Resource.from_contents(contents))
    return Registry().with_resources((str(r.id()), r) for r in resources).crawl()


@cache
def _python_validator(contract: Contract) -> Any:
    from jsonschema import Draft202012Validator

    schema = json.loads(canonical_schema_text(contract.file))
    return Draft202012Validator(schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _fast_validator(contract: Contract) -> Any:
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - the wheel is a declared dependency
        return None
    bundle = json.loads((_resources.bundled_dir() / contract.file).read_text(encoding="utf-8"))
    return jsonschema_rs.validator_for(bundle, validate_formats=True, formats={"regex": _is_python_regex})


def _is_python_regex(text: str) -> bool:
    """``format: regex`` means a *Python* pattern here (success_pattern is run with ``re``).

    jsonschema-rs checks ECMA-262 syntax, which refuses ``a++`` and accepts ``(?<name>a)``; Python is
    the other way round. python-jsonschema already uses ``re``, so both validators agree with this.
    """
    import re

    try:
        re.compile(text)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


_YAML11_BOOLEANS = frozenset({"yes", "no", "on", "off", "y", "n"})


def _describe(error: Any) -> list[tuple[str, list[str | int], str | None]]:
    """(message, json path parts, key to point at) for one python-jsonschema error: one per unknown field."""
    path: list[str | int] = list(error.absolute_path)
    schema, value, kind = error.schema, error.instance, error.validator
    if kind in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        scalar = _scalar_alternatives(error)
        if scalar is not None:
            return [(scalar, path, None)]

        # A branch of the wrong type says little ("expected string"); the branch whose type fits
        # knows what is really wrong (an unknown field, a missing key). Of several object branches,
        # the one whose keys the value has (no missing or unknown key at its level) is the one meant.
        fitting = [e for e in error.context if e.validator != "type" or e.absolute_path != error.absolute_path]
        branches: dict[Any, list[Any]] = {}
        for e in fitting:
            branches.setdefault(e.relative_schema_path[0], []).append(e)
        shaped = [
            e
            for found in branches.values()
            if not any(
                e.validator in ("required", "additionalProperties") and e.absolute_path == error.absolute_path
                for e in found
            )
            for e in found
        ]
        return _describe(best_match(shaped or fitting or error.context))
    if kind == "required":
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else str(error.message)
        return [(f"missing required field {missing!r}", [*path, missing], None)]
    if kind == "additionalProperties" and isinstance(value, dict):
        allowed = sorted(schema.get("properties", {}))
        found = []
        for key in sorted(k for k in value if k not in allowed):
            hint = did_you_mean(key, allowed)
            suggestion = f" (did you mean {hint!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
            found.append((f"unknown field {key!r}{suggestion}", [*path, key], key))
        return found
    if kind == "type":
        expected = error.validator_value
        expected_text = " or ".join(expected) if isinstance(expected, list) else str(expected)
        shown = "" if value is None else f" {json.dumps(value, default=repr)[:60]}"
        message = f"expected {expected_text}, got {_type_name(value)}{shown}"
        if isinstance(value, bool) and "string" in expected_text:
            message += " (quote the value if you meant text)"
        elif isinstance(value, str) and value.lower() in _YAML11_BOOLEANS and "boolean" in expected_text:
            message += " (write true or false)"
        return [(message, path, None)]
    if kind == "pattern":
        title = schema.get("title")
        about = f" {schema['description']}" if schema.get("description") else ""
        what = f"a valid {title}" if title else f"matching {error.validator_value!r}"
        return [(f"{value!r} is not {what}.{about}", path, None)]
    if kind == "enum":
        options = ", ".join(json.dumps(o) for o in error.validator_value)
        return [(f"{json.dumps(value)} is not one of: {options}", path, None)]
    if kind == "format":
        example = " (e.g. 2026-11-25T10:15:00Z)" if error.validator_value == "date-time" else ""
        return [(f"{value!r} is not a valid {error.validator_value}{example}", path, None)]
    if kind == "minLength" and error.validator_value == 1:
        return [("must not be empty", path, None)]
    if kind == "minProperties" and isinstance(value, dict) and not value:
        names = ", ".join(sorted(schema.get("properties", {})))
        return [(f"must not be empty: give at least one of {names}" if names else "must not be empty", path, None)]
    if kind == "uniqueItems":
        return [("lists the same item more than once", path, None)]
    return [(str(error.message), path, None)]


def did_you_mean(key: str, allowed: list[str]) -> str | None:
    """The allowed name ``key`` is most likely a typo of, or None: only names of the same object, within a
    small edit distance (one edit for names up to 5 characters, two up to 10, three beyond; a swap of two
    neighbours counts as one). Why not difflib's ratio: it offers ``tags`` for ``tasks`` and ``phase_id`` for
    ``phase_identity``, which sends a person the wrong way."""
    from rapidfuzz.distance import OSA  # only on the error path

    limit = 1 + (len(key) > 5) + (len(key) > 10)
    scored = sorted((OSA.distance(key, name, score_cutoff=limit), name) for name in allowed)
    best = [name for distance, name in scored if distance <= limit]
    return best[0] if best else None


def _scalar_alternatives(error: Any) -> str | None:
    """``"Bash" is neither one of "sh", "python", "powershell" nor a valid ToolProfileId. …`` for a value that
    fails every branch of an anyOf of scalar shapes (an enum, a pattern); None for any other anyOf.

    Why: best_match picks one branch, and "not one of sh, python, powershell" hides that a tool profile id
    is allowed too."""
    branches: list[str] = []
    about = ""
    for sub in error.context:
        if list(sub.absolute_path) != list(error.absolute_path):
            return None
        if sub.validator == "enum":
            branches.append("one of " + ", ".join(json.dumps(o) for o in sub.validator_value))
        elif sub.validator == "pattern":
            title = sub.schema.get("title")
            branches.append(f"a valid {title}" if title else f"matching {sub.validator_value!r}")
            about = about or (f" {sub.schema['description']}" if sub.schema.get("description") else "")
        else:
            return None
    if len(branches) != 2:
        return None
    return f"{json.dumps(error.instance)} is neither {branches[0]} nor {branches[1]}.{about}"


def problems(
    data: Any,
    contract: Contract,
    *,
    text: str | None = None,
    format: Format = "yaml",
    file: str | None = None,
) -> list[Problem]:
    """Every problem of ``data`` against ``contract``'s schema, sorted by position; [] when valid.

    ``text`` (the source the data was parsed from) lets each problem carry a line and column.
    """
    if not isinstance(data, dict):
        line, col = (1, 1) if text is not None else (None, None)
        return [
            Problem(
                f"expected a mapping of {contract.type.__name__} fields at the top level, got {_type_name(data)}",
                "$",
                file,
                line,
                col,
            )
        ]
    fast = _fast_validator(contract)
    not_json = None
    try:
        if fast is not None and fast.is_valid(data):
            return []
    except ValueError as exc:  # a value JSON has no type for (e.g. a datetime): python-jsonschema says where
        fast, not_json = None, str(exc)
    found: list[Problem] = []
    for error in _python_validator(contract).iter_errors(data):
        for message, parts, key in _describe(error):
            line = col = None
            if text is not None:
                line, col = locate(text, parts[:-1] if key is not None else parts, key)
            found.append(Problem(message, json_path(parts), file, line, col))
    if not found and fast is not None:  # the two validators disagree: trust the stricter one
        found = [Problem(e.message, json_path(e.instance_path), file) for e in fast.iter_errors(data)]
    if not found and not_json is not None:
        found = [Problem(f"not plain JSON data: {not_json}", "$", file)]
    found.sort(key=lambda p: (p.line or 0, p.column or 0, p.json_path))
    return found
