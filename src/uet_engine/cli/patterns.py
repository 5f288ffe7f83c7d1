"""``uet patterns mine|list|show|approve|reject``: recurring task shapes out of the execution logs, reviewed.

What the command does for a user is its ``HELP`` texts; the mining is ``uet_engine.patterns``' (a leader
clustering: operation kind, then 0.3 × Jaccard(file types) + 0.3 × Jaccard(tools) + 0.4 × (1 for the same
input signature, else 0.5) ≥ 0.75).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml

import uet_contracts
from uet_contracts import AntiPattern, PatternCandidate
from uet_engine.cli import Subparsers, add_action, add_group, print_table, repo_option
from uet_engine.cli.output import add_json_option, emit
from uet_engine.errors import PatternNotFound
from uet_engine.patterns import review
from uet_engine.patterns.mining import Options, mine
from uet_engine.saving.lookup import find_repo
from uet_engine.saving.store import RunStore

HELP = """\
Find the task shapes that keep coming back in the execution logs of a repository's runs, and review
them. "mine" groups similar executions into pattern candidates and recurring failures into
anti-patterns; "list" and "show" print what was found; "approve" turns a candidate into a registered
pattern and a phase template (for "uet new phase --template"); "reject" sets a candidate aside. The
records are read from DIR/.runs/uet.sqlite, DIR being the repository holding the current folder unless
--repo says otherwise. With --json, stdout holds the contract records as one JSON document:
{"candidates": [...], "anti_patterns": [...]} (show: the one record).

Exit status: 0 done; 1 a broken registry or template (problems printed as PATH:LINE:COL: JSON-PATH:
message, the file left as it is) or a refused review; 2 a usage error, no run store, or an unknown id.
"""

MINE_HELP = """\
Group the execution logs into pattern candidates and anti-patterns. A candidate is at least --min-count
executions (3 by default) similar to a leader: the same operation kind, then a similarity of file types,
tools and input signature of at least 0.75, with a success rate of at least --min-success (0.9). An
anti-pattern is at least --min-count failures with the same input signature or the same error
fingerprint. --since DAYS mines only the logs of the last DAYS days. Mining again updates the counts
under the same ids; nothing is duplicated.
"""

APPROVE_HELP = """\
Register a candidate as a pattern in DIR/patterns/registry/PATTERN_INDEX.yaml and write its phase
template to DIR/templates/phase_templates/NAME.template.yaml (NAME: --name, or the suggested one). Both
files are validated and written atomically.
"""


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "patterns", "mine, list, show, approve and reject patterns", HELP)
    repo = repo_option("records")
    mine_ = add_action(actions, "mine", "group the execution logs into patterns and anti-patterns", MINE_HELP, [repo])
    mine_.add_argument("--min-count", type=int, default=3, metavar="N", help="executions a pattern needs (default 3)")
    mine_.add_argument(
        "--min-success", type=float, default=0.9, metavar="RATE", help="success rate a pattern needs (default 0.9)"
    )
    mine_.add_argument("--since", type=float, default=None, metavar="DAYS", help="only logs of the last DAYS days")
    listing = add_action(
        actions,
        "list",
        "the stored candidates and anti-patterns",
        "Print the stored candidates and anti-patterns.",
        [repo],
    )
    show = add_action(
        actions,
        "show",
        "one candidate or anti-pattern, in full",
        "Print one candidate or anti-pattern in full (as YAML): its leader, member logs, shared features and why.",
        [repo],
    )
    show.add_argument("id", metavar="ID", help="the candidate's or anti-pattern's id, as list prints it")
    for action in (mine_, listing, show):
        add_json_option(action, "the contract records")
    approve = add_action(actions, "approve", "register a candidate and write its phase template", APPROVE_HELP, [repo])
    approve.add_argument("id", metavar="ID", help="the candidate's id, as list prints it")
    approve.add_argument("--name", metavar="NAME", help="the pattern's and template's name (default: suggested)")
    reject = add_action(
        actions, "reject", "set a candidate aside", "Mark a candidate rejected, so it is no longer offered.", [repo]
    )
    reject.add_argument("id", metavar="ID", help="the candidate's id, as list prints it")
    for action in (mine_, listing, show, approve, reject):
        action.set_defaults(handler=run)


def _document(candidates: list[PatternCandidate], anti_patterns: list[AntiPattern]) -> dict[str, Any]:
    return {
        "candidates": [uet_contracts.to_dict(c) for c in candidates],
        "anti_patterns": [uet_contracts.to_dict(a) for a in anti_patterns],
    }


def _print(candidates: list[PatternCandidate], anti_patterns: list[AntiPattern]) -> None:
    if candidates:
        print_table(
            ["CANDIDATE", "STATUS", "RUNS", "SUCCESS", "CONFIDENCE", "OPERATION", "NAME"],
            [
                [
                    c.candidate_id,
                    c.status,
                    str(c.occurrences),
                    f"{c.success_rate:.0%}",
                    f"{c.confidence:.2f}" if c.confidence is not None else "-",
                    c.operation_kind,
                    c.pattern_id or c.name or "",
                ]
                for c in candidates
            ],
        )
    if anti_patterns:
        print_table(
            ["ANTI-PATTERN", "STATUS", "FAILURES", "RATE", "OPERATION", "RECOMMENDATION"],
            [
                [
                    a.anti_pattern_id,
                    a.status or "active",
                    str(a.occurrences),
                    f"{a.failure_rate:.0%}",
                    a.operation_kind,
                    a.recommendation or "",
                ]
                for a in anti_patterns
            ],
        )


def _mine(args: argparse.Namespace) -> int:
    problems = [
        "--min-count must be at least 1" if args.min_count < 1 else "",
        "--min-success must be between 0 and 1" if not 0 <= args.min_success <= 1 else "",
        "--since must be a number of days above 0" if args.since is not None and not 0 < args.since < 1e6 else "",
    ]
    for why in filter(None, problems):
        print(f"uet patterns mine: {why}", file=sys.stderr)
        return 2
    found = mine(args.repo, Options(args.min_count, args.min_success, args.since))
    if args.json:
        emit(_document(found.candidates, found.anti_patterns))
    else:
        _print(found.candidates, found.anti_patterns)
    print(
        f"uet patterns mine: {found.logs} execution log(s): {len(found.candidates)} candidate(s) "
        f"({found.new_candidates} new), {len(found.anti_patterns)} anti-pattern(s) ({found.new_anti_patterns} new)",
        file=sys.stderr,
    )
    return 0


def _show(store: RunStore, wanted: str, as_json: bool) -> int:
    found: PatternCandidate | AntiPattern | None = next(
        (c for c in store.pattern_candidates() if c.candidate_id == wanted), None
    ) or next((a for a in store.anti_patterns() if a.anti_pattern_id == wanted), None)
    if found is None:
        raise PatternNotFound(f"no pattern candidate or anti-pattern {wanted!r} in {store.path}")
    data = uet_contracts.to_dict(found)
    if as_json:
        emit(data)
    else:
        sys.stdout.write(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120))
    return 0


def run(args: argparse.Namespace) -> int:
    args.repo = find_repo(args.repo)
    try:
        return _run(args)
    except OSError as exc:  # a folder that cannot be made, a full disk: nothing half-written is left
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"uet patterns {args.action}: cannot write {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    if args.action == "mine":
        return _mine(args)
    if args.action == "approve":
        done = review.approve(args.repo, args.id, args.name)
        verb = "was already approved as" if done.already else "approved as"
        print(
            f"uet patterns approve: {args.id} {verb} {done.entry.pattern_id}; template {done.template}", file=sys.stderr
        )
        return 0
    if args.action == "reject":
        review.reject(args.repo, args.id)
        print(f"uet patterns reject: {args.id} rejected", file=sys.stderr)
        return 0
    with RunStore.open(args.repo, create=False, audit=False) as store:
        if args.action == "show":
            return _show(store, args.id, args.json)
        candidates, anti_patterns = store.pattern_candidates(), store.anti_patterns()
    if args.json:
        emit(_document(candidates, anti_patterns))
    elif candidates or anti_patterns:
        _print(candidates, anti_patterns)
    else:
        print(f"no patterns in {args.repo}: run `uet patterns mine` first", file=sys.stderr)
    return 0
