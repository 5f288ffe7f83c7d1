"""``uet import``: existing plans (template-V3 phase plans, legacy workstreams) to phase specs.

What the command does for a user is its ``HELP`` text; the conversion is ``planning.importing``'s.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uet_contracts
from uet_contracts import ContractError
from uet_engine.cli import Subparsers, add_command
from uet_engine.cli.output import add_json_option, emit, status
from uet_engine.planning.importing import FileReport, import_files
from uet_engine.planning.importing.reading import SUFFIXES
from uet_engine.planning.importing.render import file_name, spec_yaml
from uet_engine.planning.importing.report import totals
from uet_engine.saving.atomic import write_atomic

HELP = """\
Convert existing plans into phase specs: template-V3 phase plans (YAML) and legacy workstream files
(JSON, comments allowed), one PhaseSpec per input, written to DIR as PHASE_ID.yaml (atomically). Folders
are searched for .yaml, .yml, .json and .jsonc files. Each written file opens with a comment naming its
source and every field that was derived, defaulted, kept under extensions or dropped, and what is left
to fill in by hand. Dependencies between the inputs (and the specs already in DIR) become depends_on;
those on phases outside become external_depends_on. A legacy workstream's phase id is PH- and its
workstream id without ws-.

The report goes to stdout: per file converted, converted with losses, or not convertible and why
(PATH:LINE:COL: JSON-PATH: message). With --json, stdout holds the report as one JSON document:
"status", "output_dir", "dry_run", "totals" and per file its "outcome", "output", ids, notes and
"problems". --dry-run writes nothing. A spec in DIR that would change is replaced only with --force.

Exit status: 0 every file was converted (with losses or not), 1 one is not convertible, 2 a usage error
or an input that cannot be found.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "import", "convert template-V3 plans and legacy workstreams to phase specs", HELP)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to search for plan files")
    parser.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write the phase specs to")
    parser.add_argument(
        "--from",
        dest="source_format",
        choices=("auto", "v3", "legacy"),
        default="auto",
        help="the format of the inputs (default: recognised per file)",
    )
    parser.add_argument("--dry-run", action="store_true", help="convert and report; write nothing")
    add_json_option(parser, "the report")
    parser.add_argument("--force", action="store_true", help="replace specs in DIR that would change")
    parser.set_defaults(handler=run)


def _usage(message: str) -> int:
    print(f"uet import: {message}", file=sys.stderr)
    return 2


def _inputs(paths: list[str]) -> tuple[list[Path], list[str]]:
    files: list[Path] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                missing.append(f"{raw}: no .yaml, .yml, .json or .jsonc files in this folder")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            missing.append(f"{raw}: no such file or folder")
    return files, missing


def _existing(out: Path) -> dict[str, str]:
    """The phase ids of the specs already in the output folder (files that do not read are ignored)."""
    found: dict[str, str] = {}
    for path in uet_contracts.contract_files(out) if out.is_dir() else []:
        try:
            data = uet_contracts.parse(uet_contracts.read_text(path), uet_contracts.format_of(path), str(path))
        except ContractError:
            continue
        if isinstance(data, dict) and isinstance(data.get("phase_id"), str):
            found.setdefault(data["phase_id"], str(path))
    return found


def run(args: argparse.Namespace) -> int:
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        return _usage(f"{args.output}: not a folder")
    files, missing = _inputs(args.paths)
    if missing:
        for line in missing:
            print(f"uet import: {line}", file=sys.stderr)
        return 2
    reports = import_files(files, args.source_format, _existing(out))
    written = 0
    for report in reports:
        if report.outcome == "not_convertible":
            continue
        target = out / file_name(report)
        report.output = target.as_posix()
        text = spec_yaml(report)
        if target.is_file() and target.read_text(encoding="utf-8", errors="replace") != text and not args.force:
            report.fail(f"{target.as_posix()} exists and would change; pass --force to replace it")
            continue
        if not args.dry_run:
            try:
                out.mkdir(parents=True, exist_ok=True)
                write_atomic(target, text)
            except OSError as exc:
                report.fail(f"cannot write {target.as_posix()}: {exc.strerror or exc}")
                continue
            written += 1
    _print(reports, args)
    counts = totals(reports)
    where = "nothing written (--dry-run)" if args.dry_run else f"wrote {written} spec(s) to {out.as_posix()}"
    next_step = f"; next: uet plan {out.as_posix()}" if written or args.dry_run else ""
    print(
        f"uet import: {len(reports)} file(s): {counts['converted']} converted, {counts['converted_with_losses']}"
        f" converted with losses, {counts['not_convertible']} not convertible; {where}{next_step}",
        file=sys.stderr,
    )
    return 1 if counts["not_convertible"] else 0


def _print(reports: list[FileReport], args: argparse.Namespace) -> None:
    if args.json:
        document = {
            "status": status(totals(reports)["not_convertible"] > 0),
            "output_dir": Path(args.output).as_posix(),
            "dry_run": args.dry_run,
            "totals": totals(reports),
            "files": [report.to_json() for report in reports],
        }
        emit(document)
        return
    sys.stdout.write("".join(line + "\n" for report in reports for line in report.summary_lines()))
