"""``uet-check-phase-specs``: check-jsonschema over phase files with the phase schema shipped in this package.

Why a console script: pre-commit runs a hook's entry from the *consumer's* repository root, where no file
of this repository exists, so ``--schemafile`` cannot name a path in the hook's repo. This script finds the
self-contained bundled phase schema wherever ``uet_contracts`` is installed and hands it to check-jsonschema
(the bundle has every ``$ref`` inlined, so nothing is fetched from the network).

check-jsonschema is not a dependency of ``uet_contracts`` itself (it is heavy and only the hook needs it):
the pre-commit hook installs it through its ``additional_dependencies``; elsewhere install it
(``pip install 'check-jsonschema>=0.39,<1'``). Without it the script prints one line saying so and exits 2.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from uet_contracts._resources import bundled_dir

PROG = "uet-check-phase-specs"
MISSING = (
    f"{PROG}: check-jsonschema is not installed; install it with: pip install 'check-jsonschema>=0.39,<1' "
    "(the pre-commit hook installs it itself)"
)


def phase_schema_path() -> str:
    """The bundled (all ``$ref``\\ s inlined) PhaseSpecV1 schema inside the installed package."""
    return str(bundled_dir() / "phase_spec.schema.json")


def check_phase_specs(argv: Sequence[str] | None = None) -> int:
    """Validate phase files (``argv``, default ``sys.argv[1:]``); any check-jsonschema option may be added.

    Exit 0 all valid, 1 some file invalid (check-jsonschema prints ``FILE::$.path: message``), 2 when
    check-jsonschema is missing or the command line is wrong.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        from check_jsonschema import main
    except ImportError:
        print(MISSING, file=sys.stderr)
        return 2
    try:
        main.main(args=["--schemafile", phase_schema_path(), *args], prog_name=PROG, standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0
