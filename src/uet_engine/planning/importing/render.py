"""The YAML text of an imported phase spec: the report's header comment, then the spec's fields.

PyYAML's safe dumper quotes every string YAML 1.1 would read as something else (``no``, ``2026-11-23``),
so the strict reader of contract files gives back exactly the data that was written (a test holds it).
"""

from __future__ import annotations

from typing import Any

import yaml

from uet_engine.planning.importing.report import FileReport


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing text of several lines (prompts, scripts) as a literal block."""


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value.strip("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def spec_yaml(report: FileReport) -> str:
    """The file ``uet import`` writes for a converted input."""
    assert report.spec is not None, "only converted files are written"
    body = yaml.dump(
        report.spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False
    )
    return report.header() + body


def file_name(report: FileReport) -> str:
    """The output file's name: the phase id, ``.yaml``."""
    return f"{report.phase_id}.yaml"
