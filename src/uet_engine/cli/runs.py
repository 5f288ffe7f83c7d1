"""``uet runs list|show RUN_ID|logs RUN_ID|verify|prune``: let a person see what runs did, check the records
hold up, and keep the history to a size.

``list [--limit N] [--status S] [--since T] [--json]`` prints the newest runs first (20 unless told;
``--limit 0`` for all), those with a workstream in status S, those started at or after T (an ISO date or
time, UTC unless it says otherwise, or an age: ``90m``, ``12h``, ``7d``, ``2w``). It reads only the runs
it prints, so it stays fast however long the history. ``list`` and ``show`` print a table (rich on a
terminal, plain aligned columns otherwise, so pipes and tests get stable text); ``show`` adds, for each
failed workstream, the issues the error plugins found and the last lines of the failing command's output,
and ``--json`` prints the data itself (``show --json``: the stored contract records). ``logs RUN_ID [--ws
WS_ID] [--attempt N]`` prints the stored stdout and stderr of each try (redacted and capped as stored).
``verify`` prints one line per breach of the schemas or the saving invariant. ``prune --keep N |
--older-than T`` removes older runs, their rows and their patch files (``--dry-run``: only say which),
keeping any run that ``verify`` or the next run's up-to-date check still needs (see
``uet_engine.saving.history``); ``.runs/audit.jsonl`` is append-only and keeps its lines. Exit codes: 0
fine, 1 breaches found, 2 usage error, no store, or an unknown run, workstream or attempt.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uet_contracts
from uet_contracts import RunStatus, StepAttempt
from uet_engine import clock
from uet_engine.cli import Subparsers, add_command, print_table
from uet_engine.detection.failure_report import failure_report
from uet_engine.execution import isolation
from uet_engine.saving import history, ledger
from uet_engine.saving.lock import RunLock
from uet_engine.saving.store import RunStore
from uet_engine.saving.verify import verify
from uet_engine.states import FINAL_STATUSES, IN_FLIGHT_STATUSES, STATUSES

DEFAULT_LIMIT = 20
_AGE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Statuses in the order summaries list them: how the workstreams ended, then those still under way, the
# furthest along first (succeeded, failed, skipped, crashed, cancelled, running, queued).
_STATUS_ORDER: tuple[RunStatus, ...] = (*FINAL_STATUSES, *reversed(IN_FLIGHT_STATUSES))


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "runs", "list, show and verify recorded runs", __doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    repo = argparse.ArgumentParser(add_help=False)
    repo.add_argument("--repo", default=".", type=Path, help="the repository whose runs to read (default: .)")
    listing = actions.add_parser("list", parents=[repo], help="the newest runs first, with their workstreams by status")
    listing.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N runs (default {DEFAULT_LIMIT}, 0: all)",
    )
    listing.add_argument("--status", choices=STATUSES, metavar="S", help="only runs with a workstream in status S")
    listing.add_argument("--since", type=_moment, metavar="T", help="only runs started at or after T (date, time, 7d)")
    listing.add_argument("--json", action="store_true", help="print the runs as JSON")
    show = actions.add_parser("show", parents=[repo], help="one run's workstreams: status, reason, attempts, patch")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--json", action="store_true", help="print the stored contract records as JSON")
    logs = actions.add_parser("logs", parents=[repo], help="the stored stdout and stderr of each try of a run")
    logs.add_argument("run_id", metavar="RUN_ID")
    logs.add_argument("--ws", metavar="WS_ID", help="only this workstream's tries")
    logs.add_argument("--attempt", metavar="N", type=int, help="only try number N of each task")
    actions.add_parser("verify", parents=[repo], help="check every record against its schema and the saving invariant")
    prune = actions.add_parser("prune", parents=[repo], help="remove older runs, their rows and their patch files")
    which = prune.add_mutually_exclusive_group(required=True)
    which.add_argument("--keep", type=int, metavar="N", help="keep the newest N runs")
    which.add_argument("--older-than", type=_moment, metavar="T", help="remove runs started before T (date, 30d)")
    prune.add_argument("--dry-run", action="store_true", help="print what would be removed; remove nothing")
    parser.set_defaults(handler=run)


def _by_status(statuses: list[RunStatus]) -> str:
    return _counts(Counter(statuses))


def _moment(text: str) -> datetime:
    """An argparse type: an ISO date or time (UTC unless it names a zone), or an age back from now."""
    age = _AGE.fullmatch(text.strip())
    if age:
        return clock.utc_now() - timedelta(**{_UNITS[age[2]]: int(age[1])})
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither an ISO date or time (2026-11-25, 2026-11-25T10:00) nor an age (90m, 12h, 7d, 2w)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _list(store: RunStore, args: argparse.Namespace) -> int:
    if args.limit < 0:
        print("uet runs list: --limit must be 0 (all) or more", file=sys.stderr)
        return 2
    runs = history.summaries(store, limit=args.limit or None, status=args.status, since=args.since)
    if args.json:
        document = [
            {"run_id": r.run_id, "started_at": r.started_at.isoformat().replace("+00:00", "Z"), "workstreams": r.counts}
            for r in runs
        ]
        print(json.dumps(document, indent=2))
        return 0
    if not runs:
        print(
            f"no runs recorded in {store.path}" + (" that match" if args.status or args.since else ""), file=sys.stderr
        )
        return 0
    rows = [[r.run_id, _when(r.started_at), _counts(r.counts)] for r in runs]
    print_table(["RUN", "STARTED", "WORKSTREAMS"], rows)
    return 0


def _counts(counts: Mapping[RunStatus, int]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts.get(s))


def _prune(repo: Path, args: argparse.Namespace) -> int:
    if args.keep is not None and args.keep < 0:
        print("uet runs prune: --keep must be 0 or more", file=sys.stderr)
        return 2
    with RunStore.open(repo, create=False, audit=False) as store, RunLock(repo, "prune"):
        plan = history.prunable(store, keep=args.keep, older_than=args.older_than)
        verb = "would remove" if args.dry_run else "removed"
        if not args.dry_run:
            for entry in store.prune(plan.remove):
                ledger.patch_path(repo, entry).unlink(missing_ok=True)
            _drop_base_refs(repo, plan.remove)
        for run_id in plan.remove:
            print(f"{verb} {run_id}")
    kept = f"; kept {len(plan.kept)} older run(s) still needed (reused, a latest success, or unfinished)"
    print(f"uet runs prune: {verb} {len(plan.remove)} run(s){kept if plan.kept else ''}", file=sys.stderr)
    return 0


def _drop_base_refs(repo: Path, run_ids: list[str]) -> None:
    """Delete the base-snapshot refs (``refs/uet/runs/<id>``) of removed runs, when ``repo`` is a git repository."""
    if not run_ids or not (repo / ".git").exists():
        return
    listed = isolation.git(repo, "for-each-ref", "--format=%(refname)", isolation.BASE_REF, check=False)
    existing = set(listed.stdout.decode("utf-8").split())
    doomed = [ref for ref in (isolation.BASE_REF + run_id for run_id in run_ids) if ref in existing]
    if doomed:
        commands = "".join(f"delete {ref}\n" for ref in doomed)
        isolation.git(repo, "update-ref", "--stdin", input=commands.encode())


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _attempts_cell(attempts: list[StepAttempt]) -> str:
    if not attempts:
        return "0"
    failed = sum(1 for a in attempts if a.result is not None and not a.result.success)
    pending = sum(1 for a in attempts if a.result is None)
    extra = [f"{failed} failed"] if failed else []
    extra += [f"{pending} unfinished"] if pending else []
    return f"{len(attempts)}" + (f" ({', '.join(extra)})" if extra else "")


def _show(store: RunStore, run_id: str, as_json: bool) -> int:
    records = store.records(run_id)
    if not records:
        print(f"uet runs show: no run {run_id} in {store.path}", file=sys.stderr)
        return 2
    attempts = store.attempts(run_id)
    if as_json:
        document = {
            "run_id": run_id,
            "records": [uet_contracts.to_dict(r) for r in records],
            "attempts": [uet_contracts.to_dict(a) for a in attempts],
            "events": [uet_contracts.to_dict(e) for e in store.events(run_id)],
            "patches": [uet_contracts.to_dict(p) for p in store.patches(run_id)],
            "errors": [uet_contracts.to_dict(e) for e in store.errors(run_id)],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    rows = []
    for record in records:
        mine = [a for a in attempts if a.workstream_id == record.workstream_id]
        reason = record.reason or (f"reused from {record.reused_from}" if record.reused_from else "")
        rows.append([record.workstream_id, record.status, reason, _attempts_cell(mine), record.patch_id or ""])
    print(f"{run_id}: {_by_status([r.status for r in records])}")
    print_table(["WORKSTREAM", "STATUS", "REASON", "ATTEMPTS", "PATCH"], rows)
    errors = store.errors(run_id)
    for record in records:
        if record.status in ("failed", "cancelled", "crashed"):
            ws = record.workstream_id
            mine = [a for a in attempts if a.workstream_id == ws]
            lines = failure_report(mine, [e for e in errors if e.workstream_id == ws]).lines()
            if lines:
                print(f"\n{ws} {record.status}: {record.reason or ''}".rstrip())
                print("\n".join(lines))
    return 0


def _logs(store: RunStore, run_id: str, ws: str | None, number: int | None) -> int:
    records = store.records(run_id)
    if not records:
        print(f"uet runs logs: no run {run_id} in {store.path}", file=sys.stderr)
        return 2
    if ws is not None and ws not in {r.workstream_id for r in records}:
        print(f"uet runs logs: {run_id} has no workstream {ws}", file=sys.stderr)
        return 2
    attempts = [a for a in store.attempts(run_id, ws) if number is None or a.attempt == number]
    if not attempts:
        which = f" attempt {number}" if number is not None else ""
        print(f"uet runs logs: no{which} tries recorded for {ws or run_id}", file=sys.stderr)
        return 2
    for attempt in attempts:
        result = attempt.result
        outcome = "unfinished" if result is None else ("ok" if result.success else "failed")
        if result is not None and result.error:
            outcome += f": {result.error}"
        task = f"{attempt.kind}/{attempt.index} attempt {attempt.attempt} ({attempt.request.tool})"
        print(f"== {attempt.workstream_id} {task}: {outcome} ==")
        print(f"$ {attempt.request.run}")
        if result is None:
            continue
        for name, text, size in (
            ("stdout", result.stdout, result.stdout_bytes),
            ("stderr", result.stderr, result.stderr_bytes),
        ):
            print(f"--- {name} ({size if size is not None else len(text.encode())} bytes) ---")
            if text:
                sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def _verify(repo: Path) -> int:
    breaches = verify(repo)
    for line in breaches:
        print(line)
    if breaches:
        print(f"uet runs verify: {len(breaches)} breach(es) in {repo}", file=sys.stderr)
        return 1
    print(f"uet runs verify: every record in {repo} is valid and every success is backed", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    repo: Path = args.repo
    try:
        if args.action == "verify":
            return _verify(repo)
        if args.action == "prune":
            return _prune(repo, args)
        with RunStore.open(repo, create=False, audit=False) as store:
            if args.action == "list":
                return _list(store, args)
            if args.action == "logs":
                return _logs(store, args.run_id, args.ws, args.attempt)
            return _show(store, args.run_id, args.json)
    except uet_contracts.ContractError as exc:
        print(f"uet runs {args.action}: a stored record is invalid ({exc}); run `uet runs verify`", file=sys.stderr)
        return 1
