"""Options that ``uet plan`` and ``uet run`` share: ``--assume-done`` and ``--config`` (not a command)."""

from __future__ import annotations

import argparse
from pathlib import Path

from uet_contracts import RepoConfig
from uet_engine.planning import profiles
from uet_engine.planning.phase_set import CheckResolver, PhaseSet, load_phase_set


def add_planning_options(parser: argparse.ArgumentParser, config_default: str) -> None:
    """``--assume-done PH-…`` and ``--config FILE``, shared by ``uet plan`` and ``uet run``."""
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


def load_for(
    args: argparse.Namespace, root: Path, checks: CheckResolver | None = None
) -> tuple[PhaseSet, RepoConfig | None]:
    """The phase set of ``args.specs_dir`` with the options above, and the config (looked up under ``root``).

    ``checks`` resolves acceptance checks that name a verification template. Raises ``ContractError`` for
    an invalid config file and ``PlanError`` for the set.
    """
    config = profiles.read_config(args.config, root)
    tools = profiles.profiles(config)
    return load_phase_set(Path(args.specs_dir), checks, assume_done=args.assume_done, tools=tools), config
