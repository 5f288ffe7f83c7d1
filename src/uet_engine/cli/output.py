"""The ``--json`` convention every reporting command follows, in one place.

A command that reports (problems, runs, breaches, changes) takes ``--json`` (``add_json_option``) and
then writes exactly one JSON document to stdout (``emit``) and nothing else there: human summaries stay
on stderr and exit codes do not change. Every located problem has the same shape everywhere
(``problem_json``): ``filename``, ``line``, ``column``, ``path`` (the JSON path) and ``message``, the
names check-jsonschema's ``--output-format json`` uses. A report that passes or fails carries
``"status": "ok"`` or ``"fail"`` as check-jsonschema's does. Records that are contracts are printed as
``uet_contracts.to_dict`` gives them, so they validate against their schemas. docs/json-output.md
documents each command's document.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Literal

from uet_contracts import Problem

Status = Literal["ok", "fail"]


def add_json_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--json``: print ``what`` (e.g. "the problems") as one JSON document on stdout instead of text."""
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} as one JSON document on stdout instead of text"
    )


def emit(document: Any) -> None:
    """Write ``document`` to stdout as indented JSON (UTF-8 kept as is), followed by a newline."""
    sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def problem_json(problem: Problem) -> dict[str, Any]:
    """One located problem: ``filename``, ``line``, ``column`` (null when unknown), ``path``, ``message``."""
    return {
        "filename": problem.file,
        "line": problem.line,
        "column": problem.column if problem.line is None else (problem.column or 1),
        "path": problem.json_path,
        "message": problem.message,
    }


def status(failed: bool) -> Status:
    """``"fail"`` or ``"ok"``."""
    return "fail" if failed else "ok"
