"""``uet schema diff OLD NEW`` and ``uet schema show KIND``: the contracts' evolution gate and their text.

``diff`` is a thin shell over :mod:`uet_contracts.evolution`; ``show`` prints a contract's canonical schema
so people and other tools can read exactly what ``uet validate`` checks against.
"""

from __future__ import annotations

import argparse
import json
import sys

import uet_contracts
from uet_contracts import CONTRACTS
from uet_contracts.evolution import SchemaDiffError, Verdict, diff_paths
from uet_engine.cli import Subparsers, add_command, contract_or_usage

DIFF_HELP = """\
Compare two versions of the contract schemas: two schema files, or two folders whose *.json files are
paired by name. $refs are resolved offline against the files beside each schema, so a change in
common.schema.json is reported at every contract location that uses it.

Each change is printed on its own line as  FILE#/JSON-POINTER: VERDICT: what changed  where VERDICT is
  compatible    every document valid under OLD stays valid under NEW (an added optional property,
                a widened type or enum, a loosened bound, a dropped 'required', description/title/
                examples edits, which are marked "docs only");
  breaking      some document valid under OLD is rejected by NEW (a removed or newly required property,
                a narrowed type or enum, any added or changed pattern, an added or tightened
                min*/max* bound, additionalProperties closed, an added format, a changed $id);
  unclassified  a change no rule covers (an added if/then, a changed $ref target, a keyword the
                classifier does not know): the check fails closed and counts it as breaking.

Exit status: 0 when every change is compatible (or there is none), 1 when anything is breaking or
unclassified, 2 on a usage error or unreadable input. A summary goes to stderr.

Released versions are frozen copies under schemas/released/vX.Y.Z/ and `nox -s compat` diffs each
against the current schemas/vX. A breaking change must not be made in place: copy schemas/vX to a new
major version folder (schemas/v2, with $ids under .../schemas/v2/), change it there and keep vX as it is.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "schema", "compare schema versions (compatible or breaking) and print a contract's schema", __doc__
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    diff = actions.add_parser(
        "diff",
        help="classify every change from OLD to NEW as compatible, breaking or unclassified",
        description=DIFF_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    diff.add_argument("old", metavar="OLD", help="the released schema file or folder (e.g. schemas/released/v1.0.0)")
    diff.add_argument("new", metavar="NEW", help="the candidate schema file or folder (e.g. schemas/v1)")
    diff.set_defaults(handler=run_diff)

    show = actions.add_parser(
        "show",
        help="print the canonical JSON Schema of a contract",
        description="Print the canonical JSON Schema of one contract, as uet validate uses it.",
    )
    show.add_argument("kind", metavar="KIND", help="the contract kind, one of: " + ", ".join(c.kind for c in CONTRACTS))
    show.set_defaults(handler=run_show)


def run_diff(args: argparse.Namespace) -> int:
    try:
        changes = diff_paths(args.old, args.new)
    except SchemaDiffError as exc:
        print(f"uet schema diff: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write("".join(change.format() + "\n" for change in changes))
    counts = {verdict: sum(c.verdict is verdict for c in changes) for verdict in Verdict}
    if changes:
        summary = ", ".join(f"{counts[v]} {v}" for v in Verdict)
        print(f"{len(changes)} change(s): {summary}", file=sys.stderr)
    else:
        print("no changes", file=sys.stderr)
    return 1 if any(change.breaking for change in changes) else 0


def run_show(args: argparse.Namespace) -> int:
    contract = contract_or_usage("schema show", args.kind)
    if contract is None:
        return 2
    print(json.dumps(uet_contracts.schema(contract.type), indent=2, ensure_ascii=False))
    return 0
