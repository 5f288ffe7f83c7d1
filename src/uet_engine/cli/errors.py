"""``uet errors list|show``: the error log (``saving.error_log``) grouped by fingerprint, for people.

What the command does for a user is its ``HELP`` text; the groups come from ``detection.events.stamp``.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uet_contracts
from uet_contracts import ErrorEvent
from uet_engine.cli import Subparsers, add_action, add_group, complete_run_id, completes, print_table, repo_option
from uet_engine.cli.output import add_json_option, emit
from uet_engine.detection.events import stamp
from uet_engine.detection.failure_report import location
from uet_engine.saving import error_log
from uet_engine.saving.lookup import find_repo, resolve_run
from uet_engine.saving.store import RunStore, store_path

SHORT = 12  # hex digits of a fingerprint the table shows
_PREFIX = re.compile(r"^(?:sha256:)?(?P<hex>[0-9a-f]{4,64})$")


HELP = """\
See the errors the runs recorded, grouped by what went wrong: the same failure coming back run after run
is one line with a growing count. The errors are read from DIR/.runs/errors.jsonl (and its rotated
files), where every run appends each error it records; DIR is the repository holding the current folder
unless --repo says otherwise. A torn last line (the engine was killed while writing it) or a line that is
not a valid error event is skipped and named on stderr. With --json, stdout holds one JSON document
instead of the table.

Exit status: 0, or 2 for a usage error or a fingerprint that is unknown or names several errors.
"""

LIST_HELP = """\
Print every distinct error, the most recently seen first: its fingerprint (the first 12 hex digits), how
often it was seen, when last, in which workstreams, and its error code and place. --run RUN_ID keeps the
errors of one run (latest, or any start of a run id that only one run has, works too). --json prints a
list of groups: fingerprint, count, first_seen, last_seen, workstreams, runs and the latest event (an
ErrorEvent record).
"""

SHOW_HELP = """\
Print every occurrence of one error: its code, type and place, how often and when it was seen, and one
line per occurrence (when, run, workstream, task, message). FINGERPRINT may be cut to its first hex
digits (sha256: optional) as long as only one error starts so. --json prints the group with all its
events (ErrorEvent records).
"""


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "errors", "list and show recorded errors, grouped by fingerprint", HELP)
    common = repo_option("errors")
    listing = add_action(actions, "list", "every distinct error, most recent first, with counts", LIST_HELP, [common])
    completes(
        listing.add_argument("--run", metavar="RUN_ID", help="only the errors of this run (latest, or a start)"),
        complete_run_id,
    )
    add_json_option(listing, "the groups of errors")
    show = add_action(actions, "show", "every occurrence of one error", SHOW_HELP, [common])
    show.add_argument("fingerprint", metavar="FINGERPRINT", help="a fingerprint, or enough of its first hex digits")
    add_json_option(show, "the error's group and its events")
    for action in (listing, show):
        action.set_defaults(handler=run)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _short(fingerprint: str) -> str:
    return fingerprint.removeprefix("sha256:")[:SHORT]


def _groups(events: Sequence[ErrorEvent]) -> dict[str, list[ErrorEvent]]:
    """Events by fingerprint, each group oldest first; groups most recently seen first."""
    grouped: dict[str, list[ErrorEvent]] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        grouped.setdefault(stamp(event).fingerprint or "", []).append(event)
    return dict(sorted(grouped.items(), key=lambda item: item[1][-1].timestamp, reverse=True))


def _summary(fingerprint: str, events: Sequence[ErrorEvent]) -> dict[str, Any]:
    latest = events[-1]
    return {
        "fingerprint": fingerprint,
        "count": len(events),
        "first_seen": events[0].timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "last_seen": latest.timestamp.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "workstreams": sorted({e.workstream_id for e in events if e.workstream_id}),
        "runs": sorted({e.run_id for e in events}),
        "latest": uet_contracts.to_dict(latest),
    }


def _cut(text: str, limit: int = 100) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _read(repo: Path, command: str) -> list[ErrorEvent]:
    found = error_log.read(repo)
    for problem in found.problems:
        print(f"uet errors {command}: {problem}", file=sys.stderr)
    return found.events


def _run_named(repo: Path, name: str | None) -> str | None:
    """The run ``--run`` names: resolved through the run store (latest, a start) when there is one."""
    if name is None or not store_path(repo).is_file():
        return name
    with RunStore.open(repo, create=False, audit=False) as store:
        return resolve_run(store, name, missing_ok=True)


def _list(repo: Path, run_id: str | None, as_json: bool) -> int:
    events = [e for e in _read(repo, "list") if run_id is None or e.run_id == run_id]
    groups = _groups(events)
    if as_json:
        emit([_summary(fp, group) for fp, group in groups.items()])
        return 0
    if not groups:
        where = f"run {run_id}" if run_id else str(error_log.errors_path(repo))
        print(f"no errors recorded for {where}", file=sys.stderr)
        return 0
    rows = []
    for fp, group in groups.items():
        latest = group[-1]
        workstreams = sorted({e.workstream_id for e in group if e.workstream_id}) or ["-"]
        shown = ", ".join(workstreams[:3]) + (f" +{len(workstreams) - 3}" if len(workstreams) > 3 else "")
        rows.append(
            [
                _short(fp),
                str(len(group)),
                _when(latest.timestamp),
                shown,
                _cut(f"{latest.error_code} {location(latest)}"),
            ]
        )
    print_table(["FINGERPRINT", "COUNT", "LAST SEEN", "WORKSTREAMS", "ERROR"], rows)
    return 0


def _show(repo: Path, wanted: str, as_json: bool) -> int:
    prefix = _PREFIX.match(wanted.strip().lower())
    if prefix is None:
        print(
            f"uet errors show: {wanted!r} is not a fingerprint (sha256:<hex>, or at least 4 of its hex digits)",
            file=sys.stderr,
        )
        return 2
    groups = _groups(_read(repo, "show"))
    matches = [fp for fp in groups if fp.removeprefix("sha256:").startswith(prefix["hex"])]
    if not matches:
        print(f"uet errors show: no error with fingerprint {wanted} in {error_log.errors_path(repo)}", file=sys.stderr)
        return 2
    if len(matches) > 1:
        names = ", ".join(_short(fp) for fp in matches[:5])
        print(f"uet errors show: {wanted} names {len(matches)} errors ({names}); give more digits", file=sys.stderr)
        return 2
    fingerprint = matches[0]
    events = groups[fingerprint]
    if as_json:
        document = {**_summary(fingerprint, events), "events": [uet_contracts.to_dict(e) for e in events]}
        del document["latest"]
        emit(document)
        return 0
    summary = _summary(fingerprint, events)
    latest = events[-1]
    print(f"{fingerprint}")
    print(f"  {latest.error_code} {latest.error_type}: {location(latest)}")
    extra = [f"{name} {value}" for name, value in (("tool", latest.tool), ("plugin", latest.plugin)) if value]
    extra += [f"category {latest.category}"] if latest.category else []
    if extra:
        print("  " + ", ".join(extra))
    print(f"  seen {len(events)} time(s), first {_when(events[0].timestamp)}, last {_when(latest.timestamp)}")
    print(f"  workstreams: {', '.join(summary['workstreams']) or '-'}")
    rows = []
    for event in events:
        attempt = (event.context or {}).get("attempt")
        task = event.task_id or str((event.context or {}).get("task", "-"))
        rows.append(
            [
                _when(event.timestamp),
                event.run_id,
                event.workstream_id or "-",
                f"{task} #{attempt}" if attempt else task,
                _cut(event.message, 80),
            ]
        )
    print()
    print_table(["SEEN", "RUN", "WORKSTREAM", "TASK", "MESSAGE"], rows)
    return 0


def run(args: argparse.Namespace) -> int:
    if not Path(args.repo).is_dir():
        print(f"uet errors {args.action}: {args.repo}: no such folder", file=sys.stderr)
        return 2
    repo = find_repo(args.repo)
    if args.action == "list":
        return _list(repo, _run_named(repo, args.run), args.json)
    return _show(repo, args.fingerprint, args.json)
