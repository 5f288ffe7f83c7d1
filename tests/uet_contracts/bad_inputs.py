"""The bad-input corpus: contract files that must be refused, each with the exact problems it gets.

Most cases are one edit of a real example file (``examples/phases/PH-01A.yaml``, the DAG snapshot)
so that everything except the one defect is valid and the expected line numbers point into a file a
person can open. ``test_bad_input.py`` checks each case through ``uet_contracts.load``;
``tests/uet_engine/cli/test_validate.py`` runs a subset through ``python -m uet_engine validate``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES

PHASE = (EXAMPLES / "phases" / "PH-01A.yaml").read_text(encoding="utf-8")
SNAPSHOT = (EXAMPLES / "dag_snapshot.json").read_text(encoding="utf-8")
RESULT = """\
success: true
exit_code: 0
stdout: "ok\\n"
stderr: ""
files_touched: ["core/state/task_queue.py"]
started_at: "2026-11-25T10:15:00Z"
finished_at: "2026-11-25T10:15:01.5Z"
duration_s: 1.5
"""

REPO_PATH_RULE = (
    "A path or glob relative to the repository root, written with '/' separators: not absolute, no drive letter, "
    "no backslash, no '..' segment, so it can never escape the repository."
)


_FIRST_CHECK = '    - run: "python -m pytest -q tests/test_task_queue.py"\n      success_pattern: "1 passed"'


def edit(base: str, old: str, new: str) -> str:
    """``base`` with its one occurrence of ``old`` replaced: a case fails loudly if the example changes."""
    assert base.count(old) == 1, f"{old!r} must occur exactly once in the base file"
    return base.replace(old, new)


@dataclass(frozen=True)
class Case:
    """One bad file: its name, content, the contract it claims to hold, and every expected problem.

    ``problems`` are (line, column, JSON path, message); line and column are None where the input
    has no position (an empty file, a file that is too big).
    """

    id: str
    name: str
    content: str | bytes
    problems: list[tuple[int | None, int | None, str, str]]
    kind: str = "phase_spec"


def write(folder: Path, case: Case) -> Path:
    """Writes the case's file into ``folder`` under its name; returns its path."""
    path = folder / case.name
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    else:
        path.write_text(case.content, encoding="utf-8")
    return path


@contextmanager
def locked(path: Path) -> Iterator[Path]:
    """A valid phase file at ``path`` with mode 000; skips the test where it stays readable (root)."""
    path.write_text(PHASE, encoding="utf-8")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("root can read a file without read permission: run the tests as a normal user to check it")
        yield path
    finally:
        path.chmod(0o600)


def _c(
    id: str,
    content: str | bytes,
    *problems: tuple[int | None, int | None, str, str],
    name: str = "",
    kind: str = "phase_spec",
) -> Case:
    return Case(id, name or f"{id}.yaml", content, list(problems), kind)


CASES: list[Case] = [
    # --- YAML syntax -------------------------------------------------------------------------
    _c(
        "yaml-unclosed-flow-sequence",
        "phase_id: PH-1\ntitle: [unclosed\n",
        (
            3,
            1,
            "$",
            "YAML syntax error: did not find expected ',' or ']' "
            "(while parsing a flow sequence that starts at line 2, column 8)",
        ),
    ),
    _c(
        "yaml-tab-indent",
        edit(PHASE, "  modify:\n", "\tmodify:\n"),
        (
            13,
            1,
            "$",
            "YAML syntax error: found character that cannot start any token (while scanning for the next token); "
            "indent with spaces, not tabs",
        ),
    ),
    _c(
        "yaml-unclosed-quote",
        PHASE + 'tags: ["unclosed]\n',
        (
            63,
            1,
            "$",
            "YAML syntax error: found unexpected end of stream "
            "(while scanning a quoted scalar that starts at line 62, column 8)",
        ),
    ),
    _c(
        "yaml-bad-indentation",
        edit(PHASE, "  read_only:\n", "    read_only:\n"),
        (
            15,
            5,
            "$",
            "YAML syntax error: did not find expected '-' indicator "
            "(while parsing a block collection that starts at line 14, column 5)",
        ),
    ),
    # --- what PyYAML lets slip ---------------------------------------------------------------
    _c(
        "duplicate-top-level-key",
        PHASE + 'title: "Again"\n',
        (62, 1, "$.title", "duplicate key 'title' (each key may appear once)"),
    ),
    _c(
        "duplicate-nested-key",
        edit(PHASE, "  modify:\n", "  create: []\n  modify:\n"),
        (13, 3, "$.file_scope.create", "duplicate key 'create' (each key may appear once)"),
    ),
    _c(
        "alias-bomb",
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
        "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
        "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n",
        (1, 4, "$.a", "YAML aliases/anchors are not allowed in contract files (write the value out)"),
    ),
    _c(
        "merge-key-with-alias",
        edit(PHASE, "tools:\n", "defaults: &d {primary_language: python}\ntools:\n  <<: *d\n"),
        (53, 3, "$.tools['<<']", "YAML merge keys ('<<') are not allowed in contract files"),
    ),
    _c(
        "merge-key-inline",
        edit(PHASE, "tools:\n", "tools:\n  <<: {primary_language: python}\n"),
        (52, 3, "$.tools['<<']", "YAML merge keys ('<<') are not allowed in contract files"),
    ),
    _c(
        "python-object-tag",
        edit(PHASE, 'title: "Task Queue Management"', "title: !!python/object/apply:os.system [echo hi]"),
        (
            3,
            8,
            "$.title",
            "YAML tag !!python/object/apply:os.system is not allowed in contract files (write a plain value)",
        ),
    ),
    _c(
        "timestamp-tag",
        edit(PHASE, 'title: "Task Queue Management"', "title: !!timestamp 2026-11-23"),
        (3, 8, "$.title", "YAML tag !!timestamp is not allowed in contract files (write a plain value)"),
    ),
    _c(
        "local-tag",
        edit(PHASE, 'title: "Task Queue Management"', "title: !secret x"),
        (3, 8, "$.title", "YAML tag !secret is not allowed in contract files (write a plain value)"),
    ),
    _c(
        "non-string-key",
        edit(PHASE, "tools:\n", "tools:\n  3: python\n"),
        (52, 3, "$.tools['3']", "mapping keys must be strings, got int 3"),
    ),
    _c(
        "deep-nesting",
        "tags: " + "[" * 5000 + "]" * 5000 + "\n",
        (1, 106, "$", "nesting deeper than 100 levels (contract files nest a few levels)"),
    ),
    _c(
        "deep-block-nesting",
        "tags:\n" + "- " * 20000 + "x\n",
        (2, 199, "$", "nesting deeper than 100 levels (contract files nest a few levels)"),
    ),
    _c(
        "multiple-documents",
        PHASE + "---\nphase_id: PH-9\n",
        (63, 1, "$", "more than one YAML document in the file (one contract per file)"),
    ),
    # --- the document is not a mapping -------------------------------------------------------
    _c(
        "top-level-list",
        "- phase_id: PH-1\n",
        (1, 1, "$", "expected a mapping of PhaseSpec fields at the top level, got array"),
    ),
    _c(
        "top-level-scalar",
        "PH-01A\n",
        (1, 1, "$", "expected a mapping of PhaseSpec fields at the top level, got string"),
    ),
    _c("empty-file", "", (None, None, "$", "file is empty: expected a mapping of contract fields")),
    _c(
        "comment-only-file",
        "# a phase spec will go here\n\n",
        (None, None, "$", "file is empty: expected a mapping of contract fields"),
    ),
    # --- bytes ------------------------------------------------------------------------------
    _c(
        "non-utf8-bytes",
        edit(PHASE, 'title: "Task Queue Management"', 'title: "Caf\xe9 Queue"').encode("latin-1"),
        (3, 12, "$", "not valid UTF-8: byte 0xe9 cannot be decoded (save the file as UTF-8)"),
    ),
    # --- YAML 1.1 surprises: the core schema keeps them strings, so the *type* is reported ---
    _c(
        "yaml11-yes-where-number-expected",
        edit(PHASE, "may_run_parallel_with", "estimate_hours: yes\nmay_run_parallel_with"),
        (7, 17, "$.estimate_hours", 'expected number, got string "yes"'),
    ),
    _c(
        "yaml11-on-where-boolean-expected",
        edit(RESULT, "success: true", "success: on"),
        (1, 10, "$.success", 'expected boolean, got string "on" (write true or false)'),
        kind="execution_result",
    ),
    _c(
        "yaml11-date-where-boolean-expected",
        RESULT + "timed_out: 2026-11-23\n",
        (9, 12, "$.timed_out", 'expected boolean, got string "2026-11-23"'),
        kind="execution_result",
    ),
    _c(
        "yaml-true-where-string-expected",
        edit(PHASE, 'title: "Task Queue Management"', "title: true"),
        (3, 8, "$.title", "expected string, got boolean true (quote the value if you meant text)"),
    ),
    _c(
        "yaml-null-where-array-expected",
        edit(PHASE, 'depends_on: ["PH-00"]', "depends_on:"),
        (6, 12, "$.depends_on", "expected array, got null"),
    ),
    # --- JSON -------------------------------------------------------------------------------
    _c(
        "json-nan",
        edit(SNAPSHOT, '"dag_type": "pipeline",', '"dag_type": "pipeline",\n  "weight": NaN,'),
        (5, 13, "$.weight", "NaN is not valid JSON (use a number or null)"),
        name="json-nan.json",
        kind="dag_snapshot",
    ),
    _c(
        "json-infinity",
        '{"schema_version": "1.0.0",\n "weight": -Infinity}',
        (2, 12, "$.weight", "-Infinity is not valid JSON (use a number or null)"),
        name="json-infinity.json",
        kind="dag_snapshot",
    ),
    _c(
        "json-duplicate-key",
        edit(SNAPSHOT, '"PH-01B": ["PH-00"],', '"PH-01B": ["PH-00"],\n    "PH-01A": [],'),
        (10, 5, "$.edges['PH-01A']", "duplicate key 'PH-01A' (each key may appear once)"),
        name="json-duplicate-key.json",
        kind="dag_snapshot",
    ),
    _c(
        "json-syntax-error",
        edit(SNAPSHOT, '"dag_type": "pipeline",', '"dag_type": "pipeline",,'),
        (4, 26, "$", "JSON syntax error: Expecting property name enclosed in double quotes"),
        name="json-syntax-error.json",
        kind="dag_snapshot",
    ),
    _c(
        "json-deep-nesting",
        '{"nodes": ' + "[" * 100_000 + "]" * 100_000 + "}",
        (None, None, "$", "JSON nesting is too deep"),
        name="json-deep-nesting.json",
        kind="dag_snapshot",
    ),
    # --- schema: fields ---------------------------------------------------------------------
    _c(
        "unknown-field-did-you-mean",
        edit(PHASE, 'objective: "', 'objectve: "'),
        (1, 1, "$.objective", "missing required field 'objective'"),
        (4, 1, "$.objectve", "unknown field 'objectve' (did you mean 'objective'?)"),
    ),
    _c(
        "two-unknown-nested-fields",
        edit(PHASE, '  primary_language: "python"', '  primary_langauge: "python"\n  colour: red'),
        (52, 3, "$.tools.primary_langauge", "unknown field 'primary_langauge' (did you mean 'primary_language'?)"),
        (53, 3, "$.tools.colour", "unknown field 'colour' (allowed: primary_language, test_runners)"),
    ),
    _c(
        "missing-required-field",
        edit(PHASE, 'phase_type: "implementation"\n', ""),
        (1, 1, "$.phase_type", "missing required field 'phase_type'"),
    ),
    _c(
        "missing-required-nested-field",
        edit(PHASE, '  modify:\n    - "core/state/__init__.py"\n', ""),
        (10, 3, "$.file_scope.modify", "missing required field 'modify'"),
    ),
    _c(
        "wrong-type-in-nested-list",
        edit(PHASE, '    - "python -m pytest -q"', "    - 42"),
        (54, 7, "$.tools.test_runners[0]", "expected string, got integer 42"),
    ),
    _c(
        "phase-type-not-in-enum",
        edit(PHASE, 'phase_type: "implementation"', 'phase_type: "impl"'),
        (
            5,
            13,
            "$.phase_type",
            '"impl" is not one of: "implementation", "integration", "refactor", "test", "documentation", '
            '"infrastructure", "migration", "analysis", "validation_only", "documentation_only", "enhancement"',
        ),
    ),
    _c(
        "duplicate-list-item",
        edit(PHASE, 'depends_on: ["PH-00"]', 'depends_on: ["PH-00", "PH-00"]'),
        (6, 13, "$.depends_on", "lists the same item more than once"),
    ),
    # --- schema: ids ------------------------------------------------------------------------
    _c(
        "bad-phase-id",
        edit(PHASE, 'phase_id: "PH-01A"', 'phase_id: "PH_01A"'),
        (
            1,
            11,
            "$.phase_id",
            "'PH_01A' is not a valid PhaseId. Identifier of a phase, e.g. PH-01A: "
            "'PH-' then letters, digits, '.', '_' or '-'.",
        ),
    ),
    _c(
        "bad-workstream-id",
        edit(PHASE, 'workstream_id: "ws-pipeline-plus-1a-task-queue"', 'workstream_id: "WS-Task-Queue"'),
        (
            2,
            16,
            "$.workstream_id",
            "'WS-Task-Queue' is not a valid WorkstreamId. Identifier of a workstream, e.g. "
            "ws-pipeline-plus-1a-task-queue: 'ws-' then lowercase letters, digits and '-'.",
        ),
    ),
    _c(
        "bad-id-in-depends-on",
        edit(PHASE, 'depends_on: ["PH-00"]', 'depends_on: ["PH-00", "phase-3"]'),
        (
            6,
            23,
            "$.depends_on[1]",
            "'phase-3' is not a valid PhaseId. Identifier of a phase, e.g. PH-01A: "
            "'PH-' then letters, digits, '.', '_' or '-'.",
        ),
    ),
    # --- schema: paths that escape the repository -------------------------------------------
    _c(
        "absolute-path",
        edit(PHASE, '    - "core/state/task_queue.py"', '    - "/etc/passwd"'),
        (11, 7, "$.file_scope.create[0]", f"'/etc/passwd' is not a valid RepoPath. {REPO_PATH_RULE}"),
    ),
    _c(
        "dotdot-path",
        edit(PHASE, '    - "core/state/__init__.py"', '    - "core/../../secrets.txt"'),
        (14, 7, "$.file_scope.modify[0]", f"'core/../../secrets.txt' is not a valid RepoPath. {REPO_PATH_RULE}"),
    ),
    _c(
        "windows-drive-path",
        edit(PHASE, '    - "config/router.config.yaml"', '    - "C:/x"'),
        (16, 7, "$.file_scope.read_only[0]", f"'C:/x' is not a valid RepoPath. {REPO_PATH_RULE}"),
    ),
    _c(
        "backslash-path",
        edit(PHASE, '    - "config/router.config.yaml"', "    - 'config\\router.yaml'"),
        (16, 7, "$.file_scope.read_only[0]", f"'config\\\\router.yaml' is not a valid RepoPath. {REPO_PATH_RULE}"),
    ),
    # --- schema: formats and acceptance -----------------------------------------------------
    _c(
        "bad-date-time",
        edit(SNAPSHOT, "2026-11-23T09:00:00Z", "2026-13-45T00:00:00Z"),
        (3, 19, "$.generated_at", "'2026-13-45T00:00:00Z' is not a valid date-time (e.g. 2026-11-25T10:15:00Z)"),
        name="bad-date-time.json",
        kind="dag_snapshot",
    ),
    _c(
        "date-time-without-zone",
        edit(SNAPSHOT, "2026-11-23T09:00:00Z", "2026-11-23T09:00:00"),
        (3, 19, "$.generated_at", "'2026-11-23T09:00:00' is not a valid date-time (e.g. 2026-11-25T10:15:00Z)"),
        name="date-time-without-zone.json",
        kind="dag_snapshot",
    ),
    _c(
        "invalid-success-pattern-regex",
        edit(PHASE, 'success_pattern: "1 passed"', 'success_pattern: "1 (passed"'),
        (59, 24, "$.acceptance.sh[0].success_pattern", "'1 (passed' is not a valid regex"),
    ),
    _c(
        "ecma-only-success-pattern-regex",
        edit(PHASE, 'success_pattern: "1 passed"', 'success_pattern: "(?<count>[0-9]+) passed"'),
        (59, 24, "$.acceptance.sh[0].success_pattern", "'(?<count>[0-9]+) passed' is not a valid regex"),
    ),
    _c(
        "invalid-failure-pattern-regex",
        edit(PHASE, 'success_pattern: "1 passed"', 'failure_pattern: "(unclosed"'),
        (59, 24, "$.acceptance.sh[0].failure_pattern", "'(unclosed' is not a valid regex"),
    ),
    _c(
        "verify-ref-bad-template-name",
        edit(PHASE, _FIRST_CHECK, '    - verify: "Pytest Green"'),
        (
            58,
            15,
            "$.acceptance.sh[0].verify",
            "'Pytest Green' is not a valid TemplateName. The name of a phase or verification template, e.g. "
            "python-module: lowercase letters, digits, '-' and '_'; the file is templates/phase_templates/"
            "NAME.template.yaml or templates/verification_templates/NAME.template.yaml.",
        ),
    ),
    _c(
        "verify-ref-mixed-with-a-command",
        edit(PHASE, _FIRST_CHECK, '    - verify: pytest-green\n      run: "x"'),
        (
            58,
            7,
            "$.acceptance.sh[0].verify",
            "unknown field 'verify' (allowed: description, expect_exit, expect_output, failure_pattern, id, required, "
            "retry, run, success_pattern, timeout_s)",
        ),
    ),
    _c(
        "verify-ref-with-not-a-mapping",
        edit(PHASE, _FIRST_CHECK, "    - verify: pytest-green\n      with: [1]"),
        (59, 13, "$.acceptance.sh[0].with", "expected object, got array [1]"),
    ),
    _c(
        "verify-ref-value-not-a-scalar",
        edit(PHASE, _FIRST_CHECK, "    - verify: pytest-green\n      with: {tests: [a]}"),
        (59, 21, "$.acceptance.sh[0].with.tests", 'expected string or number or integer or boolean, got array ["a"]'),
    ),
    _c(
        "unknown-acceptance-runner",
        edit(PHASE, "  python:\n    - ", "  bash:\n    - "),
        (60, 3, "$.acceptance.bash", "unknown field 'bash' (allowed: powershell, python, sh)"),
    ),
    _c(
        "empty-acceptance",
        PHASE[: PHASE.index("acceptance:")] + "acceptance: {}\n",
        (56, 13, "$.acceptance", "must not be empty: give at least one of powershell, python, sh"),
    ),
    _c(
        "unknown-key-in-acceptance-command",
        edit(PHASE, "      success_pattern:", "      succes_pattern:"),
        (
            59,
            7,
            "$.acceptance.sh[0].succes_pattern",
            "unknown field 'succes_pattern' (did you mean 'success_pattern'?)",
        ),
    ),
    _c(
        "empty-acceptance-command-string",
        edit(PHASE, "  python:\n    - ", '  python:\n    - ""\n    - '),
        (61, 7, "$.acceptance.python[0]", "must not be empty"),
    ),
    _c(
        "unknown-step-tool",
        edit(PHASE, '    tool: "sh"', '    tool: "Bash"'),
        (
            21,
            11,
            "$.steps[0].tool",
            '"Bash" is neither one of "sh", "python", "powershell" nor a valid ToolProfileId. The id of a tool'
            " profile, e.g. aider: an AI coding tool (or any program) that a step runs through a command line the"
            " profile defines (built in, or in the repository's uet.config.yaml).",
        ),
    ),
    # --- the file itself ----------------------------------------------------------------------
    _c(
        "over-size-cap",
        PHASE + "# " + "x" * 1_000_000 + "\n",
        (None, None, "$", "file is 1,001,597 bytes, over the 1,000,000-byte limit for contract files"),
    ),
    _c(
        "unsupported-suffix",
        PHASE,
        (None, None, "$", "unsupported file type '.txt': use .yaml, .yml or .json"),
        name="unsupported-suffix.txt",
    ),
]
