"""Finds the canonical and bundled schemas wherever the package is installed.

In a wheel they are package data under ``uet_contracts/_data`` (mapped in at build time from the
repository's ``schemas/`` and ``generated/bundled/``). In an editable install of a source checkout
that mapping does not exist, so the repository's own folders are used instead. The package folder is
found from ``__file__``: ``importlib.resources`` would add about 15 ms to every ``uet`` start.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SCHEMA_VERSION = "v1"


@cache
def _data_root() -> tuple[Path, Path]:
    packaged = Path(__file__).resolve().parent / "_data"
    if (packaged / "schemas" / SCHEMA_VERSION).is_dir():
        return packaged / "schemas" / SCHEMA_VERSION, packaged / "bundled"
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "schemas" / SCHEMA_VERSION).is_dir():
        return checkout / "schemas" / SCHEMA_VERSION, checkout / "generated" / "bundled"
    raise RuntimeError("uet_contracts: the packaged schemas are missing; reinstall the uet-contracts package")


def schema_dir() -> Path:
    """The folder of the canonical ``*.schema.json`` files of the current version."""
    return _data_root()[0]


def bundled_dir() -> Path:
    """The folder of the self-contained bundled schemas (one per contract)."""
    return _data_root()[1]
