"""``uet runs list|show|logs|verify|prune``: let a person see what runs did, check the records hold up, and
keep the history to a size.

What each action does for a user is in the ``HELP`` texts below. ``list`` reads only the runs it prints
(``saving.history``), so it stays fast however long the history. ``list`` and ``show`` print a table
(rich on a terminal, plain aligned columns otherwise, so pipes and tests get stable text); ``show`` adds,
for each failed workstream, the issues the error plugins found and the last lines of the failing
command's output (``detection.failure_report``); ``--json`` prints the data instead
(``uet_engine.cli.output``). ``prune`` keeps any run that ``verify`` or the next run's up-to-date check
still needs (``saving.history``). Every action reads the store of the repository holding ``--repo``
(``uet_engine.saving.lookup.find_repo``), and ``RUN_ID`` may be ``latest`` or the start of a run id
(``lookup.resolve_run``).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import uet_contracts
from uet_engine import clock
from uet_engine.cli import Subparsers, add_action, add_group, complete_run_id, completes, print_table, repo_option
from uet_engine.cli.output import add_json_option, emit, status
from uet_engine.saving import history
from uet_engine.saving.lookup import find_repo, resolve_run
from uet_engine.saving.store import RunStore
from uet_engine.states import FINAL_STATUSES, IN_FLIGHT_STATUSES, STATUSES

if TYPE_CHECKING:
    from uet_contracts import RunStatus, StepAttempt

# ``uet runs list`` is asked often and should cost little more than starting Python: what only the other
# actions need (git, the failure reports, the verifier, the lock) is imported in them. A test holds that.

DEFAULT_LIMIT = 20
_AGE = re.compile(r"(\d+)([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

# Statuses in the order summaries list them: how the workstreams ended, then those still under way, the
# furthest along first (succeeded, failed, skipped, crashed, cancelled, running, queued).
_STATUS_ORDER: tuple[RunStatus, ...] = (*FINAL_STATUSES, *reversed(IN_FLIGHT_STATUSES))


HELP = """\
See what runs did and check that their records hold up. Each action reads the records of the
repository holding the current folder (or --repo DIR), from any of its subfolders: DIR/.runs/uet.sqlite
and DIR/.runs/audit.jsonl. A RUN_ID may be written in full, as "latest" for the most recent run, or as
any start of a run id that only one run has (with or without "run-"); a start that several runs share
lists them. With --json, stdout holds one JSON document instead of the text.

Exit status: 0 fine, 1 breaches found (verify) or a stored record that does not match its schema, 2 a
usage error, no run store, a run that is unknown or ambiguous, or (logs) an unknown workstream or try.
"""

LIST_HELP = """\
Print the recorded runs, newest first: each one's id, when it started and how many of its workstreams
ended in each state. At most --limit N runs (20 unless told; --limit 0 for all), only those with a
workstream in state S (--status), only those started at or after T (--since: an ISO date or time, UTC
unless it names a zone, or an age such as 90m, 12h, 7d or 2w). It reads only the runs it prints, so it
stays fast however long the history. --json prints a list of objects with run_id, started_at and
workstreams (a count per state).
"""

SHOW_HELP = """\
Print one run's workstreams: the state each ended in, why, how many tries its steps took (and how many
failed), and the patch it produced; for each workstream that failed, the issues the error plugins found
in its output and the last lines of the failing command's output. --json prints the stored records
themselves, each valid against its contract: the run's records (RunRecord), attempts (StepAttempt),
events (RunEvent), patches (PatchLedgerEntry) and errors (ErrorEvent).
"""

LOGS_HELP = """\
Print what each try of a run's steps and checks wrote: the command, then its stdout and stderr as they
were stored (secrets redacted, long output cut in the middle). --ws WS_ID shows one workstream's tries,
--attempt N only the Nth try of each step or check. --json prints the tries as a list of StepAttempt
records (request and result, output included).
"""

VERIFY_HELP = """\
Check every stored record against its schema, and the saving invariant: no workstream is marked
succeeded without its run record, step attempts, events, patch ledger entry and patch file with the
recorded checksum, and its audit lines. Prints one line per breach, naming the run and the workstream.
--json prints "status" and "breaches" (run_id, workstream_id, message).
"""

PRUNE_HELP = """\
Remove older runs: their rows in the store and their patch files, and the git refs of their starting
points. --keep N keeps the newest N runs, --older-than T removes those started before T (a date or an
age such as 30d). A run that "uet runs verify" or the next run's up-to-date check still needs (reused
by a later run, a workstream's latest success, or unfinished) is kept and counted. The audit log
(.runs/audit.jsonl) only ever grows and keeps its lines.

It also removes the worktree slots (.runs/worktrees/slot-N, full checkouts that runs keep to start
the next run faster) and their entries in git's worktree list: no run holds them while prune holds
the repository's lock, and the next run checks out what it needs again. --keep-slots leaves them.
Commands a killed run left running (their process groups) are ended first, as the next run would.
--dry-run prints what would be removed.
"""


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "runs", "list and show recorded runs, their logs, and verify the records", HELP)
    repo = repo_option("runs")
    listing = add_action(actions, "list", "the newest runs first, with their workstreams by state", LIST_HELP, [repo])
    listing.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=f"at most N runs (default {DEFAULT_LIMIT}, 0: all)",
    )
    listing.add_argument("--status", choices=STATUSES, metavar="S", help="only runs with a workstream in state S")
    listing.add_argument("--since", type=_moment, metavar="T", help="only runs started at or after T (date, time, 7d)")
    add_json_option(listing, "the runs")
    show = add_action(actions, "show", "one run's workstreams: state, reason, tries, patch", SHOW_HELP, [repo])
    _run_id_argument(show)
    add_json_option(show, "the stored contract records")
    logs = add_action(actions, "logs", "the stored stdout and stderr of each try of a run", LOGS_HELP, [repo])
    _run_id_argument(logs)
    logs.add_argument("--ws", metavar="WS_ID", help="only this workstream's tries")
    logs.add_argument("--attempt", metavar="N", type=int, help="only try number N of each task")
    add_json_option(logs, "the tries (StepAttempt records)")
    verify_ = add_action(
        actions, "verify", "check every record against its schema and the saving invariant", VERIFY_HELP, [repo]
    )
    add_json_option(verify_, "the breaches")
    prune = add_action(actions, "prune", "remove older runs, their rows and their patch files", PRUNE_HELP, [repo])
    which = prune.add_mutually_exclusive_group(required=True)
    which.add_argument("--keep", type=int, metavar="N", help="keep the newest N runs")
    which.add_argument("--older-than", type=_moment, metavar="T", help="remove runs started before T (date, 30d)")
    prune.add_argument("--keep-slots", action="store_true", help="leave the worktree slots of earlier runs")
    prune.add_argument("--dry-run", action="store_true", help="print what would be removed; remove nothing")
    for action in (listing, show, logs, verify_, prune):
        action.set_defaults(handler=run)


def _run_id_argument(parser: argparse.ArgumentParser) -> None:
    completes(
        parser.add_argument("run_id", metavar="RUN_ID", help="the run: its id, the start of it, or latest"),
        complete_run_id,
    )


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
        emit(
            [
                {
                    "run_id": r.run_id,
                    "started_at": r.started_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
                    "workstreams": {s: r.counts[s] for s in _STATUS_ORDER if r.counts.get(s)},
                }
                for r in runs
            ]
        )
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
    from uet_engine.execution import isolation
    from uet_engine.saving import ledger
    from uet_engine.saving.lock import RunLock

    if args.keep is not None and args.keep < 0:
        print("uet runs prune: --keep must be 0 or more", file=sys.stderr)
        return 2
    with RunStore.open(repo, create=False, audit=False) as store, RunLock(repo, "prune"):
        plan = history.prunable(store, keep=args.keep, older_than=args.older_than)
        verb = "would remove" if args.dry_run else "removed"
        in_git = (repo / ".git").exists()
        slots = _slots(repo) if in_git and not args.keep_slots else []
        if not args.dry_run:
            from uet_engine.execution.orphans import GroupRegistry

            # A killed run's commands may still write into the slots about to go: end them, as a run would.
            for pgid in GroupRegistry(repo).kill_leftovers():
                print(
                    f"uet runs prune: ended process group {pgid}, left running by a run that was killed",
                    file=sys.stderr,
                )
            for entry in store.prune(plan.remove):
                ledger.patch_path(repo, entry).unlink(missing_ok=True)
            _drop_base_refs(repo, plan.remove)
            if in_git and not args.keep_slots:  # also drops git's entries of worktrees whose folder is gone
                isolation.clean_stale(repo, keep_slots=False)
        for run_id in plan.remove:
            print(f"{verb} {run_id}")
        for slot in slots:
            print(f"{verb} worktree {slot.relative_to(repo).as_posix()}")
    kept = f"; kept {len(plan.kept)} older run(s) still needed (reused, a latest success, or unfinished)"
    removed_slots = f", {len(slots)} worktree slot(s)" if slots else ""
    print(
        f"uet runs prune: {verb} {len(plan.remove)} run(s){removed_slots}{kept if plan.kept else ''}", file=sys.stderr
    )
    return 0


def _slots(repo: Path) -> list[Path]:
    """What is under ``.runs/worktrees``: the slots, and anything else a run left there (all of it goes)."""
    from uet_engine.execution import isolation

    base = repo / isolation.WORKTREES
    return sorted(base.iterdir()) if base.is_dir() else []


def _drop_base_refs(repo: Path, run_ids: list[str]) -> None:
    """Delete the base-snapshot refs (``refs/uet/runs/<id>``) of removed runs, when ``repo`` is a git repository."""
    if not run_ids or not (repo / ".git").exists():
        return
    from uet_engine.execution import isolation

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


def _show(store: RunStore, name: str, as_json: bool) -> int:
    from uet_engine.detection.failure_report import failure_report

    run_id = resolve_run(store, name)
    records = store.records(run_id)
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
        emit(document)
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


def _logs(store: RunStore, name: str, ws: str | None, number: int | None, as_json: bool) -> int:
    run_id = resolve_run(store, name)
    records = store.records(run_id)
    if ws is not None and ws not in {r.workstream_id for r in records}:
        print(f"uet runs logs: {run_id} has no workstream {ws}", file=sys.stderr)
        return 2
    attempts = [a for a in store.attempts(run_id, ws) if number is None or a.attempt == number]
    if not attempts:
        which = f" attempt {number}" if number is not None else ""
        print(f"uet runs logs: no{which} tries recorded for {ws or run_id}", file=sys.stderr)
        return 2
    if as_json:
        emit([uet_contracts.to_dict(attempt) for attempt in attempts])
        return 0
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


def _breach_json(line: str) -> dict[str, str | None]:
    """A breach line ``RUN WORKSTREAM: message`` (``-`` for an id that could not be read) as an object."""
    who, message = line.split(": ", 1)
    run_id, workstream_id = who.split(" ", 1)
    return {
        "run_id": None if run_id == "-" else run_id,
        "workstream_id": None if workstream_id == "-" else workstream_id,
        "message": message,
    }


def _verify(repo: Path, as_json: bool) -> int:
    from uet_engine.saving.verify import verify

    breaches = verify(repo)
    if as_json:
        emit({"status": status(bool(breaches)), "breaches": [_breach_json(line) for line in breaches]})
    else:
        for line in breaches:
            print(line)
    if breaches:
        print(f"uet runs verify: {len(breaches)} breach(es) in {repo}", file=sys.stderr)
        return 1
    print(f"uet runs verify: every record in {repo} is valid and every success is backed", file=sys.stderr)
    return 0


def run(args: argparse.Namespace) -> int:
    repo = find_repo(args.repo)
    try:
        if args.action == "verify":
            return _verify(repo, args.json)
        if args.action == "prune":
            return _prune(repo, args)
        with RunStore.open(repo, create=False, audit=False) as store:
            if args.action == "list":
                return _list(store, args)
            if args.action == "logs":
                return _logs(store, args.run_id, args.ws, args.attempt, args.json)
            return _show(store, args.run_id, args.json)
    except uet_contracts.ContractError as exc:
        print(f"uet runs {args.action}: a stored record is invalid ({exc}); run `uet runs verify`", file=sys.stderr)
        return 1
