"""Options that ``uet plan`` and ``uet run`` share: ``--assume-done``, ``--config`` and ``--modules`` (not a
command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from uet_contracts import Problem, RepoConfig
from uet_engine.errors import PlanError
from uet_engine.planning import modules, profiles
from uet_engine.planning.phase_set import CheckResolver, PhaseSet, load_phase_set


def add_planning_options(parser: argparse.ArgumentParser, config_default: str) -> None:
    """``--assume-done PH-…``, ``--config FILE`` and ``--modules DIR``, shared by ``uet plan`` and ``uet run``."""
    parser.add_argument(
        "--assume-done",
        metavar="PHASE_ID",
        action="append",
        default=[],
        help="count this phase (outside the set, or in it) as done (repeatable)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"the repository config with the tool profiles (default: uet.config.yaml in {config_default}, if any)",
    )
    parser.add_argument(
        "--modules",
        metavar="DIR",
        default=None,
        help="folder of <module_id>/module.manifest.yaml files (default: modules beside SPECS_DIR)",
    )


def load_for(
    args: argparse.Namespace, root: Path, checks: CheckResolver | None = None, *, keep_specs: bool = True
) -> tuple[PhaseSet, RepoConfig | None]:
    """The phase set of ``args.specs_dir`` with the options above, and the config (looked up under ``root``).

    ``checks`` resolves acceptance checks that name a verification template; ``keep_specs`` as in
    ``load_phase_set``. Raises ``ContractError`` for an invalid config file and ``PlanError`` for the set.
    """
    config = profiles.read_config(args.config, root)
    tools = profiles.profiles(config)
    folder = Path(args.specs_dir)
    return load_phase_set(folder, checks, assume_done=args.assume_done, tools=tools, keep_specs=keep_specs), config


def load_manifests(args: argparse.Namespace, phase_set: PhaseSet) -> tuple[PhaseSet, modules.ModuleSet | None]:
    """The module manifests of ``args.modules`` (default: ``modules`` beside the spec folder) checked against
    the set, and the set knowing which modules each phase writes; ``(phase_set, None)`` without manifests.

    ``PlanError`` with every problem (and the set's warnings); a ``--modules`` folder that does not exist or
    holds no manifest is one too.
    """
    given = args.modules
    folder = Path(given) if given is not None else modules.default_modules_dir(Path(args.specs_dir))
    try:
        if given is not None and not folder.is_dir():
            reason = "not a folder" if folder.exists() else "no such folder"
            raise PlanError([Problem(f"--modules: {reason}", file=given)], unreadable=True)
        module_set = modules.load_modules(folder, phase_set)
        if module_set is None and given is not None:
            message = f"no module manifests here (expected <module_id>/{modules.MANIFEST_NAME}.yaml)"
            raise PlanError([Problem(message, file=given)], unreadable=True)
    except PlanError as exc:
        raise PlanError(exc.problems, warnings=phase_set.warnings, unreadable=exc.unreadable) from None
    return modules.with_modules(phase_set, module_set), module_set
