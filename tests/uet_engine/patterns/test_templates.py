"""Templates: the built-ins, a repository's own, parameters checked, placeholders filled, verify refs resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

import uet_contracts
from uet_contracts import AcceptanceCommand, PhaseSpec, TemplateParameter, VerificationRef
from uet_engine.errors import TemplateError
from uet_engine.patterns.templates import (
    BUILTIN,
    TemplateLibrary,
    fill,
    fill_text,
    instantiate,
    parse_value,
    resolve_check,
    template_file,
)

VALUES = {"phase_id": "PH-10", "workstream_id": "ws-parser", "module": "parser"}


def messages(exc: TemplateError) -> list[str]:
    return [problem.format() for problem in exc.problems]


def test_the_built_in_templates_load_and_validate(tmp_path: Path) -> None:
    library = TemplateLibrary(tmp_path)
    assert library.names("phase") == {"python-module": BUILTIN}
    assert library.names("verification") == {"pytest-green": BUILTIN, "ruff-clean": BUILTIN}
    for kind in ("phase", "verification"):
        for found in library.all(kind):  # type: ignore[arg-type]
            assert not isinstance(found, TemplateError), messages(found)
            uet_contracts.check(uet_contracts.to_dict(found.template), type(found.template))


def test_python_module_writes_a_valid_spec(tmp_path: Path) -> None:
    library = TemplateLibrary(tmp_path)
    spec = instantiate(library.get("phase", "python-module"), {**VALUES, "estimate_hours": "2.5"}, label="out.yaml")
    assert isinstance(spec, PhaseSpec)
    assert (spec.phase_id, spec.workstream_id, spec.estimate_hours, spec.template_id, spec.pattern_id) == (
        "PH-10",
        "ws-parser",
        2.5,
        "python-module",
        None,
    )
    assert spec.file_scope.create == ["src/parser.py", "tests/test_parser.py"]
    assert spec.acceptance.sh == [
        VerificationRef(verify="pytest-green", with_={"tests": "tests/test_parser.py", "pythonpath": "src"}),
        VerificationRef(verify="ruff-clean", with_={"paths": "src/parser.py tests/test_parser.py"}),
    ]
    checks = [resolve_check(library, ref, "sh") for ref in spec.acceptance.sh or [] if isinstance(ref, VerificationRef)]
    assert checks == [
        AcceptanceCommand(
            run="PYTHONPATH=src python -m pytest -q -p no:cacheprovider tests/test_parser.py",
            success_pattern="[0-9]+ passed",
            failure_pattern="^(FAILED|ERROR) ",
            timeout_s=900,
        ),
        AcceptanceCommand(
            run="python -m ruff check --no-cache src/parser.py tests/test_parser.py && "
            "python -m ruff format --no-cache --check src/parser.py tests/test_parser.py",
            timeout_s=300,
        ),
    ]


def test_missing_unknown_and_ill_typed_parameters_are_all_named(tmp_path: Path) -> None:
    found = TemplateLibrary(tmp_path).get("phase", "python-module")
    with pytest.raises(TemplateError) as caught:
        instantiate(found, {"phase_id": "PH-10", "module": "Bad", "colour": "red", "estimate_hours": "lots"}, label="x")
    where = "phase template python-module (built-in)"
    assert messages(caught.value) == [
        f"{where}: $.parameters.colour: unknown parameter 'colour' (the template declares: estimate_hours, module, "
        "objective, package_dir, phase_id, title, workstream_id)",
        f"{where}: $.parameters.estimate_hours: parameter 'estimate_hours': expected a number, got 'lots'",
        f"{where}: $.parameters.module: parameter 'module': 'Bad' does not match the pattern '[a-z_][a-z0-9_]*'",
        f"{where}: $.parameters.workstream_id: missing parameter 'workstream_id': The id of the workstream that "
        "carries it out, e.g. ws-parser.",
    ]
    assert str(caught.value) == "4 problem(s) with the values for template python-module; nothing written"


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("integer", "42", 42),
        ("integer", "-3", -3),
        ("number", "1.5", 1.5),
        ("number", "2", 2),
        ("number", "1e3", 1000.0),
        ("boolean", "true", True),
        ("boolean", "False", False),
        ("string", "", ""),
        ("string", "42", "42"),
    ],
)
def test_command_line_values_take_the_parameters_type(kind: str, text: str, expected: object) -> None:
    value = parse_value(TemplateParameter(type=kind, description="d"), text)  # type: ignore[arg-type]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("integer", "1.5", "expected an integer, got '1.5'"),
        ("integer", "", "expected an integer, got ''"),
        ("number", "nan", "expected a number, got 'nan'"),
        ("boolean", "yes", "expected a boolean, got 'yes'"),
    ],
)
def test_ill_typed_command_line_values(kind: str, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        parse_value(TemplateParameter(type=kind, description="d"), text)  # type: ignore[arg-type]


def test_placeholder_rules() -> None:
    values = {"n": 3, "name": "core", "on": True}
    assert fill("${n}", values) == 3
    assert fill("${on}", values) is True
    assert fill("x${n}y ${on} ${name}.py", values) == "x3y true core.py"
    assert fill("echo $${name} ${HOME} $HOME", values) == "echo ${name} ${HOME} $HOME"
    assert fill("$${n}", values) == "${n}"
    assert fill({"a": ["${name}", {"b": "${n}"}], "c": 1}, values) == {"a": ["core", {"b": 3}], "c": 1}
    assert fill_text("${n}", values) == "3"


def write_template(repo: Path, kind: str, name: str, text: str) -> Path:
    path = template_file(repo, kind, name)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_repository_template_replaces_a_built_in_one(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "verification",
        "pytest-green",
        "template_id: pytest-green\ndescription: Our tests.\nrunner: sh\ncommand: make test ${target}\n"
        "parameters:\n  target: {type: string, description: what, default: all}\n",
    )
    library = TemplateLibrary(tmp_path)
    assert (
        library.names("verification")["pytest-green"] == "templates/verification_templates/pytest-green.template.yaml"
    )
    ref = VerificationRef(verify="pytest-green", with_={"target": "unit"})
    assert resolve_check(library, ref, "sh") == AcceptanceCommand(run="make test unit")


def test_a_broken_template_file_gives_located_problems(tmp_path: Path) -> None:
    path = write_template(tmp_path, "phase", "broken", "template_id: broken\ndescription: 3\nparameters: {}\n")
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary(tmp_path).get("phase", "broken")
    assert messages(caught.value) == [
        f"{path}:1:1: $.body: missing required field 'body'",
        f"{path}:2:14: $.description: expected string, got integer 3",
    ]
    listed = list(TemplateLibrary(tmp_path).all("phase"))
    assert [type(item).__name__ for item in listed] == ["TemplateError", "Found"]


def test_what_the_schema_cannot_check_in_a_template(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "phase",
        "mine",
        "template_id: other\ndescription: d\nbody: {}\n"
        "parameters:\n  n: {type: integer, description: d, default: two}\n  s: {type: string, description: d,"
        " pattern: '[a-z]+', default: ABC}\n",
    )
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary(tmp_path).get("phase", "mine")
    source = "templates/phase_templates/mine.template.yaml"
    assert messages(caught.value) == [
        f"{source}: $.template_id: template_id 'other' must be the file's name 'mine'",
        f"{source}: $.parameters.n.default: default of 'n': expected an integer, got 'two'",
        f"{source}: $.parameters.s.default: default of 's': 'ABC' does not match the pattern '[a-z]+'",
    ]


def test_an_unknown_template_names_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateLibrary(tmp_path).get("phase", "nope")
    assert messages(caught.value) == [
        "templates/phase_templates: $: no phase template named 'nope' (known: python-module)"
    ]


@pytest.mark.parametrize(
    ("ref", "runner", "message"),
    [
        (
            VerificationRef(verify="nope"),
            "sh",
            "templates/verification_templates: $: no verification template named 'nope' (known: pytest-green, "
            "ruff-clean)",
        ),
        (
            VerificationRef(verify="ruff-clean"),
            "python",
            "verification template 'ruff-clean' runs with sh: list it under acceptance.sh",
        ),
        (
            VerificationRef(verify="ruff-clean", with_={"paths": 3, "fix": True}),
            "sh",
            "verification template 'ruff-clean': unknown parameter 'fix' (the template declares: paths); "
            "parameter 'paths': expected a string, got 3",
        ),
    ],
)
def test_a_verify_ref_that_cannot_be_resolved(tmp_path: Path, ref: VerificationRef, runner: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        resolve_check(TemplateLibrary(tmp_path), ref, runner)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_a_template_that_writes_an_invalid_spec_says_where(tmp_path: Path) -> None:
    write_template(
        tmp_path,
        "phase",
        "loose",
        "template_id: loose\ndescription: d\nparameters:\n  id: {type: string, description: the id}\n"
        "body:\n  phase_id: ${id}\n  workstream_id: ws-a\n  title: t\n  objective: o\n  phase_type: test\n"
        "  file_scope: {create: [], modify: [], read_only: []}\n  acceptance: {python: [pass]}\n",
    )
    with pytest.raises(TemplateError) as caught:
        instantiate(TemplateLibrary(tmp_path).get("phase", "loose"), {"id": "P1"}, label="specs/P1.yaml")
    (line,) = messages(caught.value)
    assert line.startswith("specs/P1.yaml: $.phase_id: 'P1' is not a valid PhaseId.")
    assert line.endswith("(from template loose)")
