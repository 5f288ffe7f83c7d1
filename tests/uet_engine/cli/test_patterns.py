"""The whole loop in one real repository with real ``uet`` processes: run → mine → approve → template → new
phase → plan → run → mine again; and the CLI's answers to bad input (a broken index, bad parameters, usage)."""

from __future__ import annotations

import json
import sqlite3
import statistics
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import uet_contracts
from tests.uet_engine.cli.test_run import assert_every_record_validates, git, make_repo, phase, uet
from tests.uet_engine.patterns.records import attempt, store_with
from tests.uet_engine.patterns.test_mining import five_similar
from tests.uet_engine.phase_specs import write
from uet_contracts import AntiPattern, PatternCandidate, PatternIndex, PhaseSpec, PhaseTemplate
from uet_engine.detection.fingerprints import fingerprint
from uet_engine.patterns.features import confidence

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="needs POSIX shells, which Windows lacks: run these tests on Linux or macOS"
)


def query(repo: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(repo / ".runs" / "uet.sqlite")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def spec_set(folder: Path, n: int) -> None:
    """A module phase (its step and check succeed) and a docs phase whose check always fails the same way."""
    module = phase(
        f"PH-mod-{n}",
        [],
        [
            {
                "operation_kind": "EXEC-ATOMIC-CREATE",
                "tool": "sh",
                "run": f"mkdir -p src && printf 'X = {n}\\n' > src/mod_{n}.py",
            }
        ],
        create=[f"src/mod_{n}.py"],
        acceptance={"sh": [f"test -f src/mod_{n}.py"]},
    )
    docs = phase(
        f"PH-doc-{n}",
        [],
        [{"operation_kind": "EXEC-DOCS", "tool": "sh", "run": f"mkdir -p docs && echo notes > docs/{n}.md"}],
        create=[f"docs/{n}.md"],
        acceptance={"sh": [f"grep -q CHANGELOG docs/{n}.md"]},
    )
    write(folder, module, docs)


def mined(repo: Path) -> tuple[list[PatternCandidate], list[AntiPattern]]:
    done = uet(repo, "patterns", "mine", "--json")
    assert done.code == 0, done.stderr
    document = json.loads(done.stdout)
    assert list(document) == ["candidates", "anti_patterns"]
    return (
        [uet_contracts.validate(c, PatternCandidate) for c in document["candidates"]],
        [uet_contracts.validate(a, AntiPattern) for a in document["anti_patterns"]],
    )


def by_kind(candidates: list[PatternCandidate], kind: str) -> PatternCandidate:
    (found,) = [c for c in candidates if c.operation_kind == kind]
    return found


@pytest.mark.slow
def test_the_whole_circle(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    for n in (1, 2, 3):
        spec_set(tmp_path / f"set-{n}", n)
        assert uet(repo, "run", str(tmp_path / f"set-{n}"), "--jobs", "1").code == 1  # the docs phase fails
    # the same docs workstream fails again, the same way
    assert uet(repo, "run", str(tmp_path / "set-1"), "--ws-id", "ws-ph-doc-1").code == 1

    candidates, anti_patterns = mined(repo)
    steps = by_kind(candidates, "EXEC-ATOMIC-CREATE")
    logs = query(repo, "SELECT id, time_taken_seconds FROM execution_logs WHERE operation_kind = 'EXEC-ATOMIC-CREATE'")
    times = [t for _, t in logs]
    assert (steps.member_log_ids, steps.occurrences, steps.success_rate) == ([i for i, _ in logs], 3, 1.0)
    assert steps.consistency == pytest.approx(max(0.0, 1 - statistics.pstdev(times) / statistics.fmean(times)))
    assert steps.confidence == pytest.approx(confidence(1.0, 3, steps.consistency or 0.0))
    assert (steps.file_types, steps.tools_used, steps.status) == ([".py"], ["mkdir", "printf", "sh"], "pending")
    assert by_kind(candidates, "EXEC-DOCS").occurrences == 4
    assert by_kind(candidates, "ACCEPTANCE-CHECK").tools_used == ["sh", "test"]

    (anti,) = anti_patterns
    failing = query(repo, "SELECT id FROM execution_logs WHERE success = 0 ORDER BY id")
    assert (anti.grouped_by, anti.member_log_ids, anti.occurrences, anti.status) == (
        "input_signature",
        [i for (i,) in failing],
        4,
        "active",
    )
    events = [json.loads(text) for (text,) in query(repo, "SELECT record FROM error_events ORDER BY id")]
    prints = [
        e.get("fingerprint") or fingerprint(e["error_code"], e["workstream_id"], e.get("path"), e["message"])
        for e in events
    ]
    doc_1 = [p for p, e in zip(prints, events, strict=True) if e["workstream_id"] == "ws-ph-doc-1"]
    assert len(doc_1) == 2 and doc_1[0] == doc_1[1]  # the repeated failure shares its fingerprint
    assert anti.error_fingerprints == sorted(set(prints)) and len(set(prints)) == 3
    assert anti.name == "ACCEPTANCE-CHECK (grep, sh) failing with UET-E102"
    assert_every_record_validates(repo)
    assert uet(repo, "runs", "verify").code == 0

    # approve -> a valid registry and template
    done = uet(repo, "patterns", "approve", steps.candidate_id, "--name", "module-file")
    assert done.code == 0, done.stderr
    assert done.stderr == (
        f"uet patterns approve: {steps.candidate_id} approved as PAT-module-file; template "
        "templates/phase_templates/module-file.template.yaml\n"
    )
    index = uet_contracts.load(repo / "patterns" / "registry" / "PATTERN_INDEX.yaml", PatternIndex)
    assert [(e.pattern_id, e.status, e.proven_uses) for e in index.patterns] == [("PAT-module-file", "active", 0)]
    template = uet_contracts.load(repo / "templates" / "phase_templates" / "module-file.template.yaml", PhaseTemplate)
    assert template.pattern_id == "PAT-module-file"

    # a new phase from the template, planned and run
    new_specs = tmp_path / "new"
    new_specs.mkdir()
    done = uet(
        repo, "new", "phase", "PH-new", "--template", "module-file", "--set", "workstream_id=ws-mod-new",
        "--set", "create_1=src/mod_new.py", "-o", str(new_specs / "PH-new.yaml"),
    )  # fmt: skip
    assert done.code == 0, done.stderr
    written = uet_contracts.load(new_specs / "PH-new.yaml", PhaseSpec)
    assert (written.pattern_id, written.template_id, written.file_scope.create) == (
        "PAT-module-file",
        "module-file",
        ["src/mod_new.py"],
    )
    planned = uet(repo, "plan", str(new_specs))
    assert planned.code == 0 and planned.stderr.endswith(", 0 warning(s)\n"), planned.stderr
    assert uet(repo, "run", str(new_specs)).code == 0
    assert (repo / "src" / "mod_new.py").read_text() == "X = 1\n"
    contexts = [
        json.loads(c)
        for (c,) in query(
            repo, "SELECT context FROM execution_logs WHERE json_extract(context, '$.workstream_id') = 'ws-mod-new'"
        )
    ]
    assert [(c["task_id"], c["pattern_id"], c["template_id"]) for c in contexts] == [
        ("step/0", "PAT-module-file", "module-file"),
        ("acceptance/0", "PAT-module-file", "module-file"),
    ]

    # re-mining counts the proven use, under the same ids; mining again changes nothing
    again, anti_again = mined(repo)
    approved = next(c for c in again if c.candidate_id == steps.candidate_id)
    assert (approved.status, approved.pattern_id, approved.proven_uses, approved.occurrences) == (
        "approved",
        "PAT-module-file",
        1,
        4,
    )
    index = uet_contracts.load(repo / "patterns" / "registry" / "PATTERN_INDEX.yaml", PatternIndex)
    assert index.patterns[0].proven_uses == 1
    assert [a.anti_pattern_id for a in anti_again] == [anti.anti_pattern_id]
    counts = query(repo, "SELECT (SELECT COUNT(*) FROM pattern_candidates), (SELECT COUNT(*) FROM anti_patterns)")
    assert mined(repo) == (again, anti_again)
    assert (
        query(repo, "SELECT (SELECT COUNT(*) FROM pattern_candidates), (SELECT COUNT(*) FROM anti_patterns)") == counts
    )

    # a planned task of the failing shape is warned about, by name and recommendation
    warn = tmp_path / "warn"
    spec_set(warn, 7)
    (warn / "PH-mod-7.yaml").unlink()
    planned = uet(repo, "plan", str(warn))
    assert planned.code == 0
    assert (
        f"$.acceptance.sh[0]: warning: this acceptance check matches anti-pattern {anti.anti_pattern_id}"
        in planned.stderr
    )
    assert anti.recommendation is not None and anti.recommendation in planned.stderr
    listing = uet(repo, "patterns", "list", "--json")
    assert json.loads(listing.stdout)["anti_patterns"][0]["anti_pattern_id"] == anti.anti_pattern_id
    shown = uet(repo, "patterns", "show", anti.anti_pattern_id)
    assert yaml.safe_load(shown.stdout)["error_fingerprints"] == anti.error_fingerprints
    assert_every_record_validates(repo)
    assert uet(repo, "runs", "verify").code == 0


def small_store(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    store_with(repo, five_similar(), attempts=[attempt("run-1", "ws-a", "step", 0, "touch src/a.py", ["src/a.py"])])
    return repo


def test_a_broken_index_gives_located_errors_and_is_never_overwritten(tmp_path: Path) -> None:
    repo = small_store(tmp_path)
    assert uet(repo, "patterns", "mine").code == 0
    (candidate_id,) = [row[0] for row in query(repo, "SELECT candidate_id FROM pattern_candidates")]
    index = repo / "patterns" / "registry" / "PATTERN_INDEX.yaml"
    index.parent.mkdir(parents=True)
    broken = "index_version: 1\npatterns:\n  - pattern_id: PAT-x\n    version: one\n"
    index.write_text(broken)
    where = "patterns/registry/PATTERN_INDEX.yaml"
    expected = [
        *(
            f"{where}:3:5: $.patterns[0].{name}: missing required field {name!r}"
            for name in ("category", "name", "paths", "proven_uses", "status", "summary")
        ),
        f"{where}:4:14: $.patterns[0].version: 'one' is not matching '^[0-9]+\\\\.[0-9]+\\\\.[0-9]+$'. The pattern's "
        "version, e.g. 1.0.0.",
    ]
    for args in (("patterns", "approve", candidate_id), ("patterns", "mine")):
        done = uet(repo, *args)
        assert (done.code, done.stdout) == (1, "")
        assert done.stderr.splitlines() == [
            *expected,
            f"uet {args[0]} {args[1]}: {where} is broken; fix it first (it is left as it is)",
        ]
        assert index.read_text() == broken
    assert not (repo / "templates").exists()
    assert query(repo, "SELECT status FROM pattern_candidates") == [("pending",)]


def test_new_phase_names_unknown_and_ill_typed_parameters_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "PH-10.yaml"
    done = uet(
        tmp_path, "new", "phase", "PH-10", "--template", "python-module", "--set", "workstream_id=ws-p",
        "--set", "module=parser", "--set", "estimate_hours=two", "--set", "colour=red", "-o", str(out),
    )  # fmt: skip
    where = "phase template python-module (built-in)"
    assert (done.code, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [
        f"{where}: $.parameters.colour: unknown parameter 'colour' (the template declares: estimate_hours, module, "
        "objective, package_dir, phase_id, title, workstream_id)",
        f"{where}: $.parameters.estimate_hours: parameter 'estimate_hours': expected a number, got 'two'",
        "uet new phase: 2 problem(s) with the values for template python-module; nothing written",
    ]
    assert not out.exists()
    done = uet(tmp_path, "new", "phase", "--template", "python-module", "--set", "phase_id=PH-1", "--set", "module=m")
    assert done.code == 1 and "missing parameter 'workstream_id'" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["new", "phase", "PH-1"],
            "uet new phase: --workstream WS_ID is needed, e.g. --workstream ws-parser (or --template NAME)",
        ),
        (["new", "phase", "--template", "nope"], "uet new phase: no phase template 'nope' (known: python-module)"),
        (
            ["new", "phase", "--template", "python-module", "--set", "oops"],
            "uet new phase: --set 'oops': write KEY=VALUE",
        ),
        (
            ["new", "phase", "PH-1", "--template", "python-module", "--set", "phase_id=PH-2"],
            "uet new phase: PHASE_ID PH-1 and --set phase_id=PH-2 disagree",
        ),
        (
            ["new", "phase", "--template", "python-module", "-o", "exists.yaml"],
            "uet new phase: exists.yaml exists; pass --force to replace it",
        ),
        (["patterns", "mine", "--min-success", "2"], "uet patterns mine: --min-success must be between 0 and 1"),
        (["patterns", "mine", "--min-count", "0"], "uet patterns mine: --min-count must be at least 1"),
        (["patterns", "mine", "--since", "-1"], "uet patterns mine: --since must be a number of days above 0"),
        (
            ["patterns", "list"],
            "uet patterns list: no run store at .runs/uet.sqlite: nothing has been run in this repository yet",
        ),
    ],
)
def test_usage_errors(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "exists.yaml").write_text("x: 1\n")
    done = uet(tmp_path, *args)
    assert (done.code, done.stderr.splitlines()) == (2, [message])
    assert (tmp_path / "exists.yaml").read_text() == "x: 1\n"


def test_show_and_review_name_unknown_ids(tmp_path: Path) -> None:
    repo = small_store(tmp_path)
    assert uet(repo, "patterns", "mine").code == 0
    done = uet(repo, "patterns", "show", "AP-nope")
    assert (done.code, done.stderr) == (
        2,
        "uet patterns show: no pattern candidate or anti-pattern 'AP-nope' in .runs/uet.sqlite\n",
    )
    done = uet(repo, "patterns", "reject", "PC-nope")
    assert done.code == 2 and "no pattern candidate 'PC-nope'" in done.stderr
    (candidate_id,) = [row[0] for row in query(repo, "SELECT candidate_id FROM pattern_candidates")]
    assert uet(repo, "patterns", "reject", candidate_id).stderr == f"uet patterns reject: {candidate_id} rejected\n"
    listed = uet(repo, "patterns", "list")
    assert listed.stdout.splitlines()[1].split()[:3] == [candidate_id, "rejected", "5"]


def test_templates_list(tmp_path: Path) -> None:
    done = uet(tmp_path, "templates", "list", "--json")
    document = json.loads(done.stdout)
    assert [(t["source"], t["template"]["template_id"]) for t in document["phase_templates"]] == [
        ("built-in", "python-module")
    ]
    assert [t["template"]["template_id"] for t in document["verification_templates"]] == ["pytest-green", "ruff-clean"]
    broken = tmp_path / "templates" / "verification_templates" / "bad.template.yaml"
    broken.parent.mkdir(parents=True)
    broken.write_text("template_id: bad\n")
    done = uet(tmp_path, "templates", "list")
    assert done.code == 1
    where = "templates/verification_templates/bad.template.yaml"
    assert done.stderr.splitlines() == [
        *(f"{where}:1:1: $.{name}: missing required field {name!r}" for name in ("command", "description", "runner")),
        f"uet templates list: verification template 'bad' ({where}) is invalid",
    ]
    rows = [line.split()[:3] for line in done.stdout.splitlines()]
    assert rows == [
        ["TEMPLATE", "KIND", "SOURCE"],
        ["python-module", "phase", "built-in"],
        ["pytest-green", "verification", "built-in"],
        ["ruff-clean", "verification", "built-in"],
    ]


@pytest.mark.slow
def test_the_built_in_python_module_template_runs_green(tmp_path: Path) -> None:
    """The shipped phase template writes a spec whose run passes its pytest-green and ruff-clean checks."""
    repo = make_repo(tmp_path / "repo")
    specs = tmp_path / "specs"
    specs.mkdir()
    args = ["--set", "workstream_id=ws-parser", "--set", "module=parser", "-o", str(specs / "PH-10.yaml")]
    assert uet(repo, "new", "phase", "PH-10", "--template", "python-module", *args).code == 0
    done = uet(repo, "run", str(specs))
    assert done.code == 0, done.stdout + done.stderr
    assert sorted(p.relative_to(repo).as_posix() for p in (repo / "src").iterdir()) == ["src/parser.py"]
    checks = [
        json.loads(text)["request"]["run"]
        for (text,) in query(repo, "SELECT record FROM step_attempts WHERE kind = 'acceptance' ORDER BY id")
    ]
    assert checks == [
        "PYTHONPATH=src python -m pytest -q -p no:cacheprovider tests/test_parser.py",
        "python -m ruff check --no-cache src/parser.py tests/test_parser.py && "
        "python -m ruff format --no-cache --check src/parser.py tests/test_parser.py",
    ]
    # and the checks do fail when the code is wrong: a failing test is caught by pytest-green
    (repo / "tests" / "test_parser.py").write_text("def test_fails() -> None:\n    assert False\n")
    again = phase("PH-11", [], [{"operation_kind": "EXEC-NOOP", "tool": "sh", "run": "true"}])
    again["acceptance"] = {"sh": [{"verify": "pytest-green", "with": {"tests": "tests/test_parser.py"}}]}
    write(tmp_path / "specs-2", again)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "the module and a failing test")
    failed = uet(repo, "run", str(tmp_path / "specs-2"))
    assert failed.code == 1 and "acceptance/0 (sh) failed" in failed.stdout


def test_a_registry_folder_that_cannot_be_made_leaves_no_file(tmp_path: Path) -> None:
    repo = small_store(tmp_path)
    assert uet(repo, "patterns", "mine").code == 0
    (candidate_id,) = [row[0] for row in query(repo, "SELECT candidate_id FROM pattern_candidates")]
    (repo / "patterns").write_text("a file where the registry's folder goes\n")
    done = uet(repo, "patterns", "approve", candidate_id)
    assert (done.code, done.stderr) == (2, "uet patterns approve: cannot write patterns/registry: Not a directory\n")
    assert [p for p in (repo / "templates").rglob("*") if p.is_file()] == []
    assert query(repo, "SELECT status FROM pattern_candidates") == [("pending",)]
