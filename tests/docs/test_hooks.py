"""docs/hooks.py: the build-time parts of the site come from the real command, and failures stop the build."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from mkdocs.exceptions import PluginError

from tests.conftest import REPO_ROOT
from tests.docs.conftest import build_site
from uet_engine.cli import COMMANDS, build_parser


def _hooks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uet_docs_hooks", REPO_ROOT / "docs" / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(src_uri: str = "guides/example.md") -> SimpleNamespace:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def _config() -> SimpleNamespace:
    return SimpleNamespace(config_file_path=str(REPO_ROOT / "mkdocs.yml"))


def _text(page: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_cli_reference_has_a_section_with_the_help_of_every_command() -> None:
    text = _hooks().cli_reference()
    headings = re.findall(r"^#+ `(uet[a-z ]*)`$", text, re.M)
    assert headings[0] == "uet"
    assert [h for h in headings if h.count(" ") == 1] == [f"uet {name}" for name in COMMANDS]
    for heading in headings:
        assert f"usage: {heading} " in text


def test_cli_reference_lists_nested_actions_of_runs() -> None:
    headings = re.findall(r"^#+ `(uet runs [a-z]+)`$", _hooks().cli_reference(), re.M)
    assert headings == ["uet runs list", "uet runs show", "uet runs logs", "uet runs verify", "uet runs prune"]


def test_built_cli_page_shows_each_commands_help(built_site: Path) -> None:
    text = _text(built_site / "cli" / "index.html")
    for name in COMMANDS:
        assert f"usage: uet {name} " in text
    description = build_parser().description
    assert description is not None
    assert " ".join(description.split()) in " ".join(text.split())  # wrapped to the page's width


def test_built_dag_is_what_uet_plan_prints(built_site: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "plan", "examples/phases", "--format", "mermaid"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    page = (built_site / "guides" / "plan-and-run" / "index.html").read_text(encoding="utf-8")
    block = re.search(r'<pre class="mermaid"><code>(.*?)</code></pre>', page, re.S)
    assert block is not None
    assert html.unescape(block.group(1)).strip() == done.stdout.strip()


def test_built_three_tiers_are_what_uet_plan_prints_for_each_tier(built_site: Path) -> None:
    page = (built_site / "guides" / "three-tiers" / "index.html").read_text(encoding="utf-8")
    blocks = [
        html.unescape(b).strip() for b in re.findall(r'<pre class="mermaid"><code>(.*?)</code></pre>', page, re.S)
    ]
    expected = []
    for tier in ("pipeline", "module", "task"):
        command = [sys.executable, "-m", "uet_engine", "plan", "examples/three-tiers/phases", "--tier", tier]
        done = subprocess.run(
            [*command, "--format", "mermaid"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        )
        expected.append(done.stdout.strip())
    assert blocks == expected


def test_a_tier_marker_names_its_command_when_it_fails(tmp_path: Path) -> None:
    (tmp_path / "PH-01.yaml").write_text("phase_id: [\n", encoding="utf-8")
    expected = rf"^`uet plan {re.escape(str(tmp_path))} --tier module --format mermaid` failed \(exit 1\): "
    with pytest.raises(PluginError, match=expected):
        _hooks().on_page_markdown(f"<!-- uet:plan-mermaid {tmp_path} --tier module -->", _page(), _config(), None)
    with pytest.raises(PluginError, match="unknown marker"):
        _hooks().on_page_markdown(f"<!-- uet:plan-mermaid {tmp_path} --format dot -->", _page(), _config(), None)


def test_built_import_guide_has_every_row_of_the_mapping_tables(built_site: Path) -> None:
    """The guide's tables are rendered from the importer's own mapping data, row for row."""
    from uet_engine.planning.importing.mapping import RULES

    page = (built_site / "guides" / "existing-plans" / "index.html").read_text(encoding="utf-8")
    cells = re.findall(r"<tr>\s*<td><code>([^<]+)</code><br\s*/?>.*?</td>\s*<td>([a-z]+)</td>", page)
    expected = [(rule.source, rule.fate) for fmt in ("v3", "legacy") for rule in RULES[fmt]]
    assert [(html.unescape(source), fate) for source, fate in cells] == expected


def test_failing_uet_plan_stops_the_build_naming_the_command(tmp_path: Path) -> None:
    (tmp_path / "PH-01.yaml").write_text("phase_id: [\n", encoding="utf-8")
    where = re.escape(str(tmp_path))
    expected = rf"^`uet plan {where} --format mermaid` failed \(exit 1\): {where}/PH-01.yaml:2:1: \$: YAML syntax error"
    with pytest.raises(PluginError, match=expected):
        _hooks().on_page_markdown(f"<!-- uet:plan-mermaid {tmp_path} -->", _page(), _config(), None)


def test_unknown_marker_stops_the_build() -> None:
    with pytest.raises(PluginError, match=r"^guides/example.md: unknown marker '<!-- uet:dag x -->'$"):
        _hooks().on_page_markdown("text\n<!-- uet:dag x -->\n", _page(), _config(), None)


def test_missing_generated_reference_stops_the_build(tmp_path: Path) -> None:
    config = SimpleNamespace(config_file_path=str(tmp_path / "mkdocs.yml"))
    folder = re.escape(str(tmp_path / "generated" / "reference"))
    expected = rf"^{folder}: no reference pages; run `python -m codegen` first$"
    with pytest.raises(PluginError, match=expected):
        _hooks().on_files([], config)


# -- the schemas served at their $ids ------------------------------------------------------------------------


def _site_url() -> str:
    from mkdocs.config import load_config

    return str(load_config(str(REPO_ROOT / "mkdocs.yml"))["site_url"])


def test_every_schema_is_served_at_its_id(built_site: Path) -> None:
    from uet_contracts import CONTRACTS

    site_url = _site_url()
    served = [*(c.bundled_path for c in CONTRACTS), REPO_ROOT / "schemas" / "v1" / "common.schema.json"]
    for source in served:
        schema = json.loads(source.read_text(encoding="utf-8"))
        assert schema["$id"].startswith(site_url)
        copy = built_site / schema["$id"].removeprefix(site_url)
        assert copy.read_bytes() == source.read_bytes(), copy
    assert (built_site / "CNAME").read_text(encoding="utf-8").strip() == site_url.split("/")[2]


def test_the_catalog_lists_every_contract_at_its_served_url(built_site: Path) -> None:
    from uet_contracts import CONTRACTS
    from uet_engine.planning import scaffold

    catalog = json.loads((built_site / "schemas" / "catalog.json").read_text(encoding="utf-8"))
    assert (catalog["$schema"], catalog["version"]) == ("https://json.schemastore.org/schema-catalog.json", 1)
    by_url = {entry["url"]: entry for entry in catalog["schemas"]}
    assert len(by_url) == len(CONTRACTS)
    for entry in catalog["schemas"]:
        assert entry["name"].startswith("UET ") and entry["description"].endswith(".")
        assert (built_site / entry["url"].removeprefix(_site_url())).is_file()
    phase = next(e for e in catalog["schemas"] if e["name"] == "UET PhaseSpec")
    assert phase["fileMatch"] == scaffold.PHASE_GLOBS
    assert scaffold.docs_url() == _site_url()  # uet init's links point at this site


def test_a_schema_whose_id_is_not_below_the_site_url_stops_the_build(tmp_path: Path) -> None:
    (tmp_path / "generated" / "bundled").mkdir(parents=True)
    (tmp_path / "schemas" / "v1").mkdir(parents=True)
    (tmp_path / "generated" / "bundled" / "x.schema.json").write_text('{"$id": "https://elsewhere/x.json"}')
    (tmp_path / "schemas" / "v1" / "common.schema.json").write_text('{"$id": "https://uet-contracts.dev/c.json"}')
    with pytest.raises(PluginError, match=r"x\.schema\.json: \$id https://elsewhere/x\.json is not below site_url"):
        _hooks().schema_files(tmp_path, "https://uet-contracts.dev/")


def test_a_plain_mkdocs_build_prints_no_end_of_life_notice(tmp_path: Path) -> None:
    done = build_site(tmp_path / "site", {k: v for k, v in os.environ.items() if k != "NO_MKDOCS_2_WARNING"})
    assert done.returncode == 0, done.stderr
    assert "end of life" not in done.stderr + done.stdout
