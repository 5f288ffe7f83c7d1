"""``uet runs list|show RUN_ID|logs RUN_ID|verify``: let a person see what runs did, and check the records hold up.

``list`` and ``show`` print a table (rich on a terminal, plain aligned columns otherwise, so pipes and
tests get stable text); ``show`` adds, for each failed workstream, the issues the error plugins found and
the last lines of the failing command's output, and ``show --json`` prints the stored contract records
themselves. ``logs RUN_ID [--ws WS_ID] [--attempt N]`` prints the stored stdout and stderr of each try
(redacted and capped as stored). ``verify`` prints one line per breach of the schemas or the saving
invariant. Exit codes: 0 fine, 1 breaches found, 2 usage error, no store, or an unknown run, workstream
or attempt.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import uet_contracts
from uet_contracts import RunStatus, StepAttempt
from uet_engine.cli import Subparsers, add_command, print_table
from uet_engine.detection.failure_report import failure_report
from uet_engine.saving.store import RunStore
from uet_engine.saving.verify import verify
from uet_engine.states import FINAL_STATUSES, IN_FLIGHT_STATUSES

# Statuses in the order summaries list them: how the workstreams ended, then those still under way, the
# furthest along first (succeeded, failed, skipped, crashed, cancelled, running, queued).
_STATUS_ORDER: tuple[RunStatus, ...] = (*FINAL_STATUSES, *reversed(IN_FLIGHT_STATUSES))


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "runs", "list, show and verify recorded runs", __doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    repo = argparse.ArgumentParser(add_help=False)
    repo.add_argument("--repo", default=".", type=Path, help="the repository whose runs to read (default: .)")
    actions.add_parser("list", parents=[repo], help="every run, newest first, with its workstreams by status")
    show = actions.add_parser("show", parents=[repo], help="one run's workstreams: status, reason, attempts, patch")
    show.add_argument("run_id", metavar="RUN_ID")
    show.add_argument("--json", action="store_true", help="print the stored contract records as JSON")
    logs = actions.add_parser("logs", parents=[repo], help="the stored stdout and stderr of each try of a run")
    logs.add_argument("run_id", metavar="RUN_ID")
    logs.add_argument("--ws", metavar="WS_ID", help="only this workstream's tries")
    logs.add_argument("--attempt", metavar="N", type=int, help="only try number N of each task")
    actions.add_parser("verify", parents=[repo], help="check every record against its schema and the saving invariant")
    parser.set_defaults(handler=run)


def _by_status(statuses: list[RunStatus]) -> str:
    counts = Counter(statuses)
    return ", ".join(f"{counts[s]} {s}" for s in _STATUS_ORDER if counts[s])


def _list(store: RunStore) -> int:
    rows = []
    for run_id in store.run_ids():
        records = store.records(run_id)
        started = min(r.created_at for r in records)
        rows.append([run_id, _when(started), _by_status([r.status for r in records])])
    if not rows:
        print(f"no runs recorded in {store.path}", file=sys.stderr)
        return 0
    print_table(["RUN", "STARTED", "WORKSTREAMS"], rows)
    return 0


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
        with RunStore.open(repo, create=False, audit=False) as store:
            if args.action == "list":
                return _list(store)
            if args.action == "logs":
                return _logs(store, args.run_id, args.ws, args.attempt)
            return _show(store, args.run_id, args.json)
    except uet_contracts.ContractError as exc:
        print(f"uet runs {args.action}: a stored record is invalid ({exc}); run `uet runs verify`", file=sys.stderr)
        return 1
