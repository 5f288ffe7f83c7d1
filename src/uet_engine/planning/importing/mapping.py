"""What becomes of each field of the two formats ``uet import`` reads: the mapping tables, as data.

Why data: the converters, the leftover walk that keeps whatever they did not use, and the table in the
guide "Bring your existing plans" all read these rows, so the docs and the code cannot disagree (the docs
hook renders ``markdown_table``; a test runs every sample through the converters and checks that each
``mapped`` row is really used).

A row's ``source`` is a path in the input file: keys joined by ``.``, ``[]`` for every item of a list
(``execution_plan.steps[].tool_id``). Its fate:

- ``mapped``: the converter turns it into the PhaseSpec field ``target`` (the note says how);
- ``kept``: copied unchanged into the spec's ``extensions`` map, keyed by its concrete path in the file
  (``environment_and_tools.target_os``, ``execution_plan.steps[2].pattern_ids``);
- ``dropped``: not carried over, for the reason in the note (and listed in the report and the file header).

A field no row names is kept as well, and reported as an unknown field: nothing is lost silently. A
``mapped`` field the converter could not use (a value of the wrong type, say) is dropped with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Fate = Literal["mapped", "kept", "dropped"]
SourceFormat = Literal["v3", "legacy"]

FORMAT_NAMES: dict[SourceFormat, str] = {"v3": "template-V3 phase plan", "legacy": "legacy workstream JSON"}


@dataclass(frozen=True)
class Rule:
    """The fate of one source field."""

    source: str
    fate: Fate
    target: str = ""
    note: str = ""


_RUNNER_NOTE = (
    "the runner of the plan's commands: powershell (pwsh, powershell-script) gives powershell, anything else sh"
)

V3_RULES: tuple[Rule, ...] = (
    Rule("doc_id", "kept"),
    Rule("template_version", "kept"),
    Rule("phase_identity.phase_id", "mapped", "phase_id", "kept when valid; otherwise `PH-` and the id's letters"),
    Rule(
        "phase_identity.workstream_id",
        "mapped",
        "workstream_id",
        "lower-cased, `_` and spaces become `-`, `ws-` added when missing: `WS-INFRASTRUCTURE` → `ws-infrastructure`",
    ),
    Rule("phase_identity.title", "mapped", "title"),
    Rule("phase_identity.objective", "mapped", "objective", "the title when absent"),
    Rule("phase_identity.phase_type", "mapped", "phase_type", "an unknown value gives `implementation`"),
    Rule("phase_identity.status", "mapped", "status", "an unknown value is dropped"),
    Rule(
        "phase_identity.estimate_hours",
        "mapped",
        "estimate_hours",
        "`0` (a template's placeholder) is dropped: the critical-path weight is 1 when absent",
    ),
    Rule("phase_identity.summary", "kept"),
    Rule(
        "dag_and_dependencies.depends_on",
        "mapped",
        "depends_on, external_depends_on",
        "phases not in the imported set (nor already in the output folder) go to `external_depends_on`",
    ),
    Rule(
        "dag_and_dependencies.may_run_parallel_with",
        "mapped",
        "may_run_parallel_with",
        "phases outside the set are dropped",
    ),
    Rule("dag_and_dependencies.parallel_group", "kept"),
    Rule("dag_and_dependencies.is_critical_path", "kept", note="`uet plan` derives the critical path"),
    Rule("dag_and_dependencies.workstream_bundle_id", "mapped", "bundle_id"),
    Rule("dag_and_dependencies.sub_phases", "kept"),
    Rule("scope_and_modules.file_scope.create", "mapped", "file_scope.create", "paths normalised to POSIX form"),
    Rule("scope_and_modules.file_scope.modify", "mapped", "file_scope.modify", "paths normalised to POSIX form"),
    Rule("scope_and_modules.file_scope.read_only", "mapped", "file_scope.read_only", "paths normalised to POSIX form"),
    Rule(
        "scope_and_modules.file_scope.forbidden_paths",
        "mapped",
        "file_scope.forbidden_paths",
        "paths normalised to POSIX form",
    ),
    Rule("scope_and_modules.repo_root", "kept"),
    Rule("scope_and_modules.modules", "kept"),
    Rule("scope_and_modules.worktree_strategy", "kept", note="the engine gives every workstream its own git worktree"),
    Rule("environment_and_tools.primary_language", "mapped", "tools.primary_language"),
    Rule("environment_and_tools.default_shell", "mapped", "steps[].tool, pre_flight[].tool, acceptance", _RUNNER_NOTE),
    Rule("environment_and_tools.target_os", "kept"),
    Rule("environment_and_tools.python_version", "kept"),
    Rule("environment_and_tools.required_services", "kept"),
    Rule("environment_and_tools.ai_operators", "kept"),
    Rule("environment_and_tools.tool_profiles", "kept", note="define tool profiles in `uet.config.yaml`"),
    Rule("execution_profile", "kept"),
    Rule("pre_flight_checks[].name", "mapped", "pre_flight[].id"),
    Rule("pre_flight_checks[].id", "mapped", "pre_flight[].id"),
    Rule("pre_flight_checks[].description", "mapped", "pre_flight[].description"),
    Rule("pre_flight_checks[].cmd", "mapped", "pre_flight[].run", "run by the default shell"),
    Rule("pre_flight_checks[].expect", "mapped", "pre_flight[].expect_output"),
    Rule("pre_flight_checks[].expect_pattern", "mapped", "pre_flight[].success_pattern"),
    Rule(
        "pre_flight_checks[].criticality",
        "mapped",
        "pre_flight[].critical",
        "`critical`, `blocker` and `high` give true, any other value false",
    ),
    Rule("pre_flight_checks[].fix_hint", "mapped", "pre_flight[].fix_hint"),
    Rule("execution_plan.steps[].id", "mapped", "steps[].id"),
    Rule("execution_plan.steps[].name", "mapped", "steps[].description", "`name: description`"),
    Rule("execution_plan.steps[].description", "mapped", "steps[].description"),
    Rule(
        "execution_plan.steps[].operation_kind",
        "mapped",
        "steps[].operation_kind",
        "upper-cased; `EXEC-STEP` when absent",
    ),
    Rule(
        "execution_plan.steps[].tool_id",
        "mapped",
        "steps[].tool",
        "an AI tool (aider, codex, claude-code, github-copilot) gives its tool profile; a script runner "
        "(pytest, powershell-script, …) gives the default shell, which runs the step's commands",
    ),
    Rule("execution_plan.steps[].inputs.commands", "mapped", "steps[].run", "joined by newlines"),
    Rule("execution_plan.steps[].inputs.prompt", "mapped", "steps[].prompt", "the step's description when absent"),
    Rule(
        "execution_plan.steps[].inputs.files",
        "mapped",
        "steps[].files",
        "the file scope's create and modify when absent",
    ),
    Rule("execution_plan.steps[].pattern_ids", "kept"),
    Rule("execution_plan.steps[].expected_outputs", "kept"),
    Rule(
        "execution_plan.steps[].requires_human_confirmation",
        "kept",
        note="the engine runs unattended: a true value is listed to review by hand",
    ),
    Rule("fix_loop_and_circuit_breakers", "kept"),
    Rule("expected_artifacts", "mapped", "expected_artifacts", "each item a path, or a mapping with `path`"),
    Rule("acceptance_tests.tests[].id", "mapped", "acceptance.<runner>[].id"),
    Rule("acceptance_tests.tests[].description", "mapped", "acceptance.<runner>[].description"),
    Rule(
        "acceptance_tests.tests[].command",
        "mapped",
        "acceptance.<runner>[].run",
        "a string runs in the default shell; `{tool_id, args}` becomes the command line `tool_id args…`",
    ),
    Rule("acceptance_tests.tests[].expected_exit_code", "mapped", "acceptance.<runner>[].expect_exit"),
    Rule("acceptance_tests.tests[].expected_output", "mapped", "acceptance.<runner>[].expect_output"),
    Rule("acceptance_tests.tests[].success_pattern", "mapped", "acceptance.<runner>[].success_pattern"),
    Rule("acceptance_tests.tests[].must_pass", "mapped", "acceptance.<runner>[].required"),
    Rule("completion_gate", "kept"),
    Rule("observability_and_metrics", "kept"),
    Rule("governance_and_constraints", "kept"),
    Rule("extensions", "kept"),
    Rule("github_integration", "kept"),
    Rule("table_of_contents", "kept", note="the document's own navigation"),
    Rule("index", "kept", note="the document's own navigation"),
)

LEGACY_RULES: tuple[Rule, ...] = (
    Rule(
        "id",
        "mapped",
        "workstream_id, phase_id",
        "the workstream id (normalised like V3's); the phase id is `PH-` and the id without `ws-` "
        "(over 64 characters: its first 55, `-` and 8 hex digits of its SHA-256)",
    ),
    Rule("doc_id", "kept"),
    Rule("title", "mapped", "title", "from the id when absent (`ws-task-queue` → `Task queue`)"),
    Rule("objective", "mapped", "objective", "`metadata.description`, else the title, when absent"),
    Rule("status", "mapped", "status", "`pending`/`todo` → `planned`, `completed` → `complete`; unknown dropped"),
    Rule("phase_type", "mapped", "phase_type", "`implementation` when absent or unknown"),
    Rule(
        "depends_on",
        "mapped",
        "depends_on, external_depends_on",
        "workstream ids become their phase ids; those outside the set go to `external_depends_on`",
    ),
    Rule("dependencies.depends_on", "mapped", "depends_on, external_depends_on", "as `depends_on`"),
    Rule(
        "dependencies.blocks",
        "mapped",
        "depends_on of the blocked workstreams",
        "each blocked workstream of the set depends on this one; others are dropped",
    ),
    Rule(
        "files_scope",
        "mapped",
        "file_scope.modify",
        "every path the workstream may touch; those also in `files_create` are created, the rest modified",
    ),
    Rule("files_create", "mapped", "file_scope.create"),
    Rule("scope.files_out_of_scope", "mapped", "file_scope.forbidden_paths"),
    Rule(
        "tasks",
        "mapped",
        "steps[0].prompt",
        "with `tool`: the prompt of one AI-tool step; without, kept (and listed to fill in by hand)",
    ),
    Rule(
        "acceptance_tests",
        "mapped",
        "acceptance.sh",
        "commands become sh checks; prose items are kept and listed to fill in by hand",
    ),
    Rule("tool", "mapped", "steps[0].tool", "aider, codex, claude-code, copilot: the built-in tool profile"),
    Rule("gate", "kept"),
    Rule("openspec_change", "kept"),
    Rule("ccpm_issue", "kept"),
    Rule("metadata.description", "mapped", "objective", "when `objective` is absent; kept otherwise"),
    Rule(
        "metadata.estimated_hours",
        "mapped",
        "estimate_hours",
        "a range such as `10-14` gives its upper bound; `0` is dropped",
    ),
    Rule("metadata.parallel_with", "mapped", "may_run_parallel_with", "workstreams outside the set are dropped"),
    Rule("circuit_breaker", "kept", note="retries and fix loops are configured apart from the phase spec"),
    Rule("retry", "kept", note="retries and fix loops are configured apart from the phase spec"),
)

RULES: dict[SourceFormat, tuple[Rule, ...]] = {"v3": V3_RULES, "legacy": LEGACY_RULES}


def rule_for(fmt: SourceFormat, path: str) -> Rule | None:
    """The rule of a normalised path (``[]`` for list indices), None when the table does not name it."""
    return _BY_PATH[fmt].get(path)


def has_rules_below(fmt: SourceFormat, path: str) -> bool:
    """Whether the table names fields inside ``path`` (so the leftover walk goes into it)."""
    return path in _PREFIXES[fmt]


_BY_PATH = {fmt: {rule.source: rule for rule in rules} for fmt, rules in RULES.items()}


def _prefixes(rules: tuple[Rule, ...]) -> frozenset[str]:
    found: set[str] = set()
    for rule in rules:
        parts = rule.source.replace("[]", ".[]").split(".")
        for end in range(1, len(parts)):
            found.add(".".join(parts[:end]).replace(".[]", "[]"))
    return frozenset(found)


_PREFIXES = {fmt: _prefixes(rules) for fmt, rules in RULES.items()}


def markdown_table(fmt: SourceFormat) -> str:
    """The mapping table of one format for the docs: source field and the PhaseSpec field it becomes (one
    above the other, so the table fits the page), its fate, how."""
    lines = ["| Source field, PhaseSpec field | Fate | How |", "| --- | --- | --- |"]
    for rule in RULES[fmt]:
        target = f"`{rule.target}`" if rule.target else ("`extensions`" if rule.fate == "kept" else "—")
        lines.append(f"| `{rule.source}`<br>→ {target} | {rule.fate} | {rule.note or '—'} |")
    lines.append("| any other field<br>→ `extensions` | kept | reported as an unknown field |")
    return "\n".join(lines) + "\n"
