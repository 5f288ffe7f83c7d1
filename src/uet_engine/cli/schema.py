"""``uet schema diff|show|path``: the contracts' evolution gate, their text, and where the bundles are.

``diff`` is a thin shell over ``uet_contracts.evolution``; ``show`` prints a contract's canonical schema
so people and other tools can read exactly what ``uet validate`` checks against; ``path`` names the
self-contained bundle shipped in the package, for editors and check-jsonschema.
"""

from __future__ import annotations

import argparse
import json
import sys

import uet_contracts
from uet_contracts import CONTRACTS
from uet_contracts.evolution import SchemaDiffError, Verdict, diff_paths
from uet_engine.cli import Subparsers, add_action, add_group, complete_kinds, completes, contract_or_usage
from uet_engine.cli.output import add_json_option, emit, status

HELP = """\
Work with the contracts' JSON Schemas: compare two versions (diff), print one (show), or print where
the self-contained copy shipped in the package is (path), for editors and check-jsonschema.
"""

DIFF_HELP = """\
Compare two versions of the contract schemas: two schema files, or two folders whose *.json files are
paired by name. $refs are resolved offline against the files beside each schema, so a change in
common.schema.json is reported at every contract location that uses it.

Each change is printed on its own line as FILE#/JSON-POINTER: VERDICT: what changed, where VERDICT is
one of:

  compatible    every document valid under OLD stays valid under NEW:
                an added optional property, a widened type or enum, a
                loosened bound, a dropped "required", edits of
                description, title or examples (marked "docs only")
  breaking      some document valid under OLD is rejected by NEW: a
                removed or newly required property, a narrowed type or
                enum, an added or changed pattern, an added or tightened
                minimum or maximum, additionalProperties closed, an added
                format, a changed $id
  unclassified  a change no rule covers (an added if/then, a changed
                $ref target, an unknown keyword): the check fails closed
                and counts it as breaking

With --json, stdout holds one JSON document: "status" and "changes" (file, pointer, verdict, message).

Exit status: 0 every change is compatible (or there is none), 1 anything is breaking or unclassified,
2 a usage error or unreadable input. A summary goes to stderr.

Released versions are frozen copies under schemas/released/vX.Y.Z/, and "nox -s compat" compares each
with the current schemas/vX. A breaking change must not be made in place: copy schemas/vX to a new
major version folder (schemas/v2, with $ids under .../schemas/v2/), change it there and keep vX as it is.
"""

KINDS = ", ".join(c.kind for c in CONTRACTS)


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "schema", "compare schema versions, print a schema or where it is", HELP)
    diff = add_action(
        actions, "diff", "classify every change from OLD to NEW as compatible, breaking or unclassified", DIFF_HELP
    )
    diff.add_argument("old", metavar="OLD", help="the released schema file or folder (e.g. schemas/released/v1.0.0)")
    diff.add_argument("new", metavar="NEW", help="the candidate schema file or folder (e.g. schemas/v1)")
    add_json_option(diff, "the changes")
    diff.set_defaults(handler=run_diff)

    show = add_action(
        actions,
        "show",
        "print the canonical JSON Schema of a contract",
        "Print the canonical JSON Schema of one contract, the one uet validate checks against. Its $refs point "
        "to common.schema.json beside it; uet schema path gives a copy with every reference inlined.",
    )
    _kind_argument(show)
    show.set_defaults(handler=run_show)

    path = add_action(
        actions,
        "path",
        "print where the self-contained schema of a contract is installed",
        "Print the path of the self-contained JSON Schema of one contract (every $ref inlined) shipped in "
        "the installed package: hand it to an editor (yaml-language-server, VS Code) or to check-jsonschema "
        "--schemafile. It works offline and always matches the installed uet.",
    )
    _kind_argument(path)
    path.set_defaults(handler=run_path)


def _kind_argument(parser: argparse.ArgumentParser) -> None:
    completes(parser.add_argument("kind", metavar="KIND", help=f"the contract kind, one of: {KINDS}"), complete_kinds)


def run_diff(args: argparse.Namespace) -> int:
    try:
        changes = diff_paths(args.old, args.new)
    except SchemaDiffError as exc:
        print(f"uet schema diff: {exc}", file=sys.stderr)
        return 2
    if args.json:
        emit(
            {
                "status": status(any(change.breaking for change in changes)),
                "changes": [
                    {"file": c.file, "pointer": c.pointer, "verdict": str(c.verdict), "message": c.message}
                    for c in changes
                ],
            }
        )
    else:
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


def run_path(args: argparse.Namespace) -> int:
    contract = contract_or_usage("schema path", args.kind)
    if contract is None:
        return 2
    print(contract.bundled_path)
    return 0
