"""``uet init [DIR]``: the files a repository needs before its first phase (``planning.scaffold``).

What the command does for a user is its ``HELP`` text. The scaffold decides the files; this module
writes them, each atomically, and removes the ones it created when a later write fails, so a failed
``uet init`` leaves the folder as it found it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from uet_engine.cli import Subparsers, add_command
from uet_engine.planning import scaffold
from uet_engine.saving.atomic import write_atomic

HELP = f"""\
Prepare a repository for phase specs: create {scaffold.SPECS_DIR}/PH-01.yaml (a commented example phase that
validates, plans and runs), {scaffold.CONFIG_FILE} (the repository's settings for uet), a
{scaffold.PRE_COMMIT_FILE} with one hook that checks the phase specs on every commit, a .gitignore
line that keeps .runs/ (the run records) out of git, and {scaffold.VSCODE_SETTINGS.as_posix()}, which maps
the phase specs to their JSON Schema for VS Code's YAML extension (the example spec's first line does the
same for any editor that uses yaml-language-server).

Nothing is overwritten: an existing .gitignore or VS Code settings file is added to, an existing pre-commit
configuration is left alone (the hook to add is printed), and no example is added to a {scaffold.SPECS_DIR}/
folder that already holds specs. DIR is the current folder unless given, and is created if missing.

Editors fetch the schema from its address on the docs site; --local-schemas points them at the copy
installed with uet instead ("uet schema path phase_spec"), which works offline but names a path on
this machine.

Exit status: 0 done, 2 a folder that cannot be written (nothing is left half-written).
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "init", "create phases/ with an example spec, the config and hooks", HELP)
    parser.add_argument("dir", metavar="DIR", nargs="?", default=".", help="the repository (default: .)")
    parser.add_argument(
        "--local-schemas",
        action="store_true",
        help="map the specs to the schemas installed with uet instead of their address on the docs site",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if root.exists() and not root.is_dir():
        print(f"uet init: {root} is a file, not a folder", file=sys.stderr)
        return 2
    plan = scaffold.plan(root, local=args.local_schemas)
    created: list[Path] = []  # files and folders this run made, in order
    replaced: dict[Path, bytes] = {}  # files it changed, with what they held
    try:
        root.mkdir(parents=True, exist_ok=True)
        for change in plan.changes:
            target = root / change.path
            if not target.parent.is_dir():
                target.parent.mkdir(parents=True)
                created.append(target.parent)
            if target.exists():
                replaced[target] = target.read_bytes()
            else:
                created.append(target)
            write_atomic(target, change.text)
    except OSError as exc:
        with contextlib.suppress(OSError):
            for target, old in replaced.items():
                write_atomic(target, old)
            for path in reversed(created):  # newest first: files before their folders
                if path.is_dir():
                    path.rmdir()
                elif path.exists():
                    path.unlink()
        print(f"uet init: cannot write {exc.filename or root}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for change in plan.changes:
        print(f"{change.what} {change.path.as_posix()}")
    for note in plan.kept:
        print(f"kept {note}")
    specs = scaffold.SPECS_DIR
    enter = "" if root.resolve() == Path.cwd().resolve() else f"cd {root} && "
    print(
        f"next: {enter}uet validate {specs} && uet plan {specs} && uet run {specs}"
        " (add --init to uet run if the folder is not a git repository with a commit yet)",
        file=sys.stderr,
    )
    return 0
