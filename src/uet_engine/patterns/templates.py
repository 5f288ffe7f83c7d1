"""Phase and verification templates: where they are, how parameters are checked, how placeholders are filled.

A repository keeps its templates in ``templates/phase_templates/NAME.template.yaml`` (PhaseTemplate) and
``templates/verification_templates/NAME.template.yaml`` (VerificationTemplate); the project ships a few
built-in ones (``uet_engine/patterns/builtin/``, package data). A repository's template replaces a
built-in one of the same name. Every file is validated against its contract when it is used, and its
``template_id`` must be its file name.

Filling in (the rules every template follows):

- a value is given for a declared parameter only: an unknown name is refused; a parameter without a
  default must be given; a value must have the declared type (from the command line: ``42``, ``1.5``,
  ``true``/``false``) and a string must match the parameter's ``pattern`` when it has one. All problems
  are reported at once, nothing is written;
- ``${name}`` of a declared parameter is replaced by its value: a string that is exactly one placeholder
  becomes the typed value (so ``estimate_hours: ${hours}`` is a number), inside a longer string the value
  is written as text (booleans as ``true``/``false``); ``$${`` stands for a literal ``${``, and a
  ``${name}`` that is not a parameter stays as it is (a shell variable);
- the result must be a valid PhaseSpec (or, for a verification template, is an AcceptanceCommand).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

import uet_contracts
from uet_contracts import (
    AcceptanceCommand,
    ContractError,
    PhaseSpec,
    PhaseTemplate,
    Problem,
    Runner,
    TemplateParameter,
    VerificationRef,
    VerificationTemplate,
)
from uet_engine.errors import TemplateError

Kind = Literal["phase", "verification"]
T = TypeVar("T", PhaseTemplate, VerificationTemplate)

FOLDERS: Final[dict[Kind, str]] = {
    "phase": "templates/phase_templates",
    "verification": "templates/verification_templates",
}
SUFFIX: Final = ".template.yaml"
BUILTIN: Final = "built-in"

_PLACEHOLDER = re.compile(r"\$(\$?)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")

Value = str | int | float | bool


@dataclass(frozen=True)
class Found:
    """A template and where it came from: ``built-in`` or its path relative to the repository."""

    kind: Kind
    source: str
    template: PhaseTemplate | VerificationTemplate


def _builtin_folder(kind: Kind) -> Traversable:
    return resources.files("uet_engine.patterns").joinpath("builtin", FOLDERS[kind].split("/")[1])


class TemplateLibrary:
    """The templates one repository can use; each file is read and validated when first asked for."""

    def __init__(self, repo: Path) -> None:
        self.repo = Path(repo)
        self._cache: dict[tuple[Kind, str], Found] = {}

    def names(self, kind: Kind) -> dict[str, str]:
        """Every template name of ``kind`` and its source, sorted; the repository's win over built-ins."""
        found: dict[str, str] = {}
        for entry in _builtin_folder(kind).iterdir():
            if entry.name.endswith(SUFFIX):
                found[entry.name.removesuffix(SUFFIX)] = BUILTIN
        folder = self.repo / FOLDERS[kind]
        if folder.is_dir():
            for path in folder.glob(f"*{SUFFIX}"):
                found[path.name.removesuffix(SUFFIX)] = f"{FOLDERS[kind]}/{path.name}"
        return dict(sorted(found.items()))

    def get(self, kind: Kind, name: str) -> Found:
        """The template ``name`` of ``kind``; ``TemplateError`` when there is none or its file is invalid."""
        key = (kind, name)
        if key in self._cache:
            return self._cache[key]
        sources = self.names(kind)
        if name not in sources:
            known = ", ".join(sources) or "none"
            raise TemplateError(
                [Problem(f"no {kind} template named {name!r} (known: {known})", file=FOLDERS[kind])],
                f"unknown {kind} template {name!r}",
            )
        cls: type[PhaseTemplate] | type[VerificationTemplate] = (
            PhaseTemplate if kind == "phase" else VerificationTemplate
        )
        source = sources[name]
        try:
            if source == BUILTIN:
                text = _builtin_folder(kind).joinpath(name + SUFFIX).read_text(encoding="utf-8")
                template = uet_contracts.loads(text, cls, "yaml", file=f"{BUILTIN}:{FOLDERS[kind]}/{name}{SUFFIX}")
            else:
                template = uet_contracts.load(self.repo / source, cls)
        except ContractError as exc:
            raise TemplateError(exc.errors, f"{kind} template {name!r} ({source}) is invalid") from None
        problems = _template_problems(template, name, source)
        if problems:
            raise TemplateError(problems, f"{kind} template {name!r} ({source}) is invalid")
        found = self._cache[key] = Found(kind, source, template)
        return found

    def all(self, kind: Kind) -> Iterator[Found | TemplateError]:
        """Every template of ``kind`` in name order, or the error that keeps it from loading."""
        for name in self.names(kind):
            try:
                yield self.get(kind, name)
            except TemplateError as exc:
                yield exc

    def resolver(self) -> Callable[[VerificationRef, Runner], AcceptanceCommand]:
        """What ``load_phase_set`` calls for each ``verify: NAME`` acceptance check."""
        return lambda ref, runner: resolve_check(self, ref, runner)


def _template_problems(template: PhaseTemplate | VerificationTemplate, name: str, source: str) -> list[Problem]:
    """What the schema cannot say: the file name, and defaults of the declared type."""
    problems: list[Problem] = []
    if template.template_id != name:
        problems.append(
            Problem(f"template_id {template.template_id!r} must be the file's name {name!r}", "$.template_id", source)
        )
    for key, parameter in (template.parameters or {}).items():
        if parameter.default is not None:
            why = _type_problem(parameter, parameter.default)
            if why:
                problems.append(Problem(f"default of {key!r}: {why}", f"$.parameters.{key}.default", source))
    return problems


def _type_problem(parameter: TemplateParameter, value: Value) -> str | None:
    """Why ``value`` is not of the parameter's type (or does not match its pattern); None when it is."""
    wanted = parameter.type
    fits = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }[wanted]
    if not fits:
        return f"expected {'an' if wanted == 'integer' else 'a'} {wanted}, got {value!r}"
    if parameter.pattern is not None and isinstance(value, str) and re.fullmatch(parameter.pattern, value) is None:
        return f"{value!r} does not match the pattern {parameter.pattern!r}"
    return None


def parse_value(parameter: TemplateParameter, text: str) -> Value:
    """A command-line value as the parameter's type (``ValueError`` naming the type when it is not one)."""
    wanted = parameter.type
    if wanted == "integer" and _INTEGER.fullmatch(text.strip()):
        return int(text)
    if wanted == "number" and _NUMBER.fullmatch(text.strip()):
        return int(text) if _INTEGER.fullmatch(text.strip()) else float(text)
    if wanted == "boolean" and text.strip().lower() in ("true", "false"):
        return text.strip().lower() == "true"
    if wanted == "string":
        return text
    raise ValueError(f"expected {'an' if wanted == 'integer' else 'a'} {wanted}, got {text!r}")


def bind(
    parameters: Mapping[str, TemplateParameter], given: Mapping[str, Value | str], *, from_text: bool
) -> tuple[dict[str, Value], list[tuple[str, str]]]:
    """The value of every parameter (given or default), and every problem (unknown, missing, ill-typed) as
    (parameter name, message), unknown names first, then in the order of the names."""
    values: dict[str, Value] = {}
    problems: list[tuple[str, str]] = []
    declared = ", ".join(sorted(parameters)) or "none"
    for key in given:
        if key not in parameters:
            problems.append((key, f"unknown parameter {key!r} (the template declares: {declared})"))
    for key, parameter in sorted(parameters.items()):
        if key in given:
            raw = given[key]
            try:
                value = parse_value(parameter, raw) if from_text and isinstance(raw, str) else raw
            except ValueError as exc:
                problems.append((key, f"parameter {key!r}: {exc}"))
                continue
            why = _type_problem(parameter, value)
            if why:
                problems.append((key, f"parameter {key!r}: {why}"))
                continue
            values[key] = value
        elif parameter.default is not None:
            values[key] = parameter.default
        else:
            problems.append((key, f"missing parameter {key!r}: {parameter.description}"))
    return values, problems


def _text(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fill_text(text: str, values: Mapping[str, Value]) -> str:
    """``text`` with its placeholders replaced (see the module docstring)."""

    def replace(found: re.Match[str]) -> str:
        escaped, name = found.group(1), found.group(2)
        if escaped:
            return "${" + name + "}"
        return _text(values[name]) if name in values else found.group(0)

    return _PLACEHOLDER.sub(replace, text)


def fill(node: Any, values: Mapping[str, Value]) -> Any:
    """A template body with its placeholders replaced: mappings and lists walked, strings filled."""
    if isinstance(node, str):
        whole = _PLACEHOLDER.fullmatch(node)
        if whole is not None and not whole.group(1) and whole.group(2) in values:
            return values[whole.group(2)]
        return fill_text(node, values)
    if isinstance(node, dict):
        return {key: fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(item, values) for item in node]
    return node


def instantiate(found: Found, given: Mapping[str, str], *, label: str) -> PhaseSpec:
    """The phase spec a phase template writes with the command-line values ``given`` (``TemplateError``).

    ``label`` names what is being written (the output file) in problems about the result. The spec
    carries the template's ``template_id`` and, when it has one, its ``pattern_id``.
    """
    template = found.template
    if not isinstance(template, PhaseTemplate):
        raise TypeError("instantiate takes a phase template")
    values, problems = bind(template.parameters, given, from_text=True)
    if problems:
        where = f"phase template {template.template_id} ({found.source})"
        raise TemplateError(
            [Problem(message, f"$.parameters.{key}", where) for key, message in problems],
            f"{len(problems)} problem(s) with the values for template {template.template_id}; nothing written",
        )
    data = fill(template.body, values)
    data["template_id"] = template.template_id
    if template.pattern_id is not None:
        data["pattern_id"] = template.pattern_id
    try:
        return uet_contracts.validate(data, PhaseSpec)
    except ContractError as exc:
        problems_found = [
            Problem(f"{p.message} (from template {template.template_id})", p.json_path, label) for p in exc.errors
        ]
        raise TemplateError(problems_found, f"the spec template {template.template_id} writes is invalid") from None


def resolve_check(library: TemplateLibrary, ref: VerificationRef, runner: Runner) -> AcceptanceCommand:
    """The acceptance check a ``verify: NAME`` reference stands for (``ValueError`` saying why it cannot be)."""
    try:
        found = library.get("verification", ref.verify)
    except TemplateError as exc:
        raise ValueError("; ".join(p.format() for p in exc.problems)) from None
    template = found.template
    assert isinstance(template, VerificationTemplate)
    if template.runner != runner:
        where = f"acceptance.{template.runner}"
        raise ValueError(f"verification template {ref.verify!r} runs with {template.runner}: list it under {where}")
    values, problems = bind(template.parameters or {}, ref.with_ or {}, from_text=False)
    if problems:
        raise ValueError(f"verification template {ref.verify!r}: " + "; ".join(message for _, message in problems))
    return AcceptanceCommand(
        run=fill_text(template.command, values),
        expect_exit=template.expect_exit,
        success_pattern=template.success_pattern,
        failure_pattern=template.failure_pattern,
        timeout_s=template.timeout_s,
    )


def template_file(repo: Path, kind: Kind, name: str) -> Path:
    """Where a repository keeps its template ``name`` of ``kind``."""
    return Path(repo) / FOLDERS[kind] / f"{name}{SUFFIX}"
