"""The module tier: manifests checked as a set and against the phases, and the module DAG they give."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLES
from tests.uet_engine.phase_specs import spec, write
from uet_engine.errors import PlanError
from uet_engine.planning import modules
from uet_engine.planning.phase_set import load_phase_set

THREE_TIERS = EXAMPLES / "three-tiers"


def manifest(root: Path, module_id: str, owns: list[str], depends_on: list[str] | None = None, **more: Any) -> Path:
    folder = root / "modules" / more.pop("folder", module_id)
    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"module_id": module_id, "title": f"Module {module_id}", "owns": owns, **more}
    if depends_on is not None:
        data["depends_on"] = depends_on
    path = folder / "module.manifest.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def load(root: Path) -> modules.ModuleSet | None:
    return modules.load_modules(root / "modules", load_phase_set(root / "phases"))


def problems_of(root: Path) -> list[str]:
    with pytest.raises(PlanError) as caught:
        load(root)
    return [p.format().replace(f"{root}{os.sep}", "") for p in caught.value.problems]


def test_the_example_gives_declared_and_implied_module_edges() -> None:
    phase_set = load_phase_set(THREE_TIERS / "phases")
    found = modules.load_modules(modules.default_modules_dir(THREE_TIERS / "phases"), phase_set)
    assert found is not None
    assert list(found.manifests) == ["api", "core", "docs"]
    assert found.writers == {"PH-10": ["core"], "PH-11": ["api"], "PH-12": ["docs"]}
    assert found.edges == {"api": ["core"], "docs": ["api"]}
    assert found.origins == {
        ("api", "core"): f"declared in {THREE_TIERS / 'modules' / 'api' / 'module.manifest.yaml'}",
        ("docs", "api"): "implied by PH-12, which writes docs and depends on PH-11, which writes api",
    }
    snapshot = modules.module_snapshot(found, phase_set)
    assert (snapshot.dag_type, snapshot.nodes) == ("module", ["api", "core", "docs"])
    assert snapshot.topo_levels == [["core"], ["api"], ["docs"]]
    assert snapshot.critical_path == ["core", "api", "docs"]
    assert modules.with_modules(phase_set, found).modules == found.writers


def test_no_manifests_means_no_module_tier(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", create=["a.py"]))
    assert load(tmp_path) is None
    (tmp_path / "modules" / "empty").mkdir(parents=True)
    assert load(tmp_path) is None


def test_a_declared_module_cycle_is_named_in_full_with_where_each_edge_comes_from(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", create=["a/x.py"]))
    manifest(tmp_path, "a", ["a/**"], ["b"])
    manifest(tmp_path, "b", ["b/**"], ["c"])
    manifest(tmp_path, "c", ["c/**"], ["a"])
    assert problems_of(tmp_path) == [
        "modules/a/module.manifest.yaml:6:3: $.depends_on[0]: module cycle: a -> b -> c -> a (each module depends on"
        " the next: a -> b declared in modules/a/module.manifest.yaml; b -> c declared in"
        " modules/b/module.manifest.yaml; c -> a declared in modules/c/module.manifest.yaml)"
    ]


def test_phases_imply_a_module_edge_and_can_close_a_cycle(tmp_path: Path) -> None:
    write(
        tmp_path / "phases",
        spec("PH-01", create=["core/a.py"]),
        spec("PH-02", ["PH-01"], create=["api/b.py"]),
    )
    manifest(tmp_path, "core", ["core/**"])
    manifest(tmp_path, "api", ["api/**"])
    found = load(tmp_path)
    assert found is not None
    assert found.edges == {"api": ["core"]}
    assert (
        found.origins[("api", "core")] == "implied by PH-02, which writes api and depends on PH-01, which writes core"
    )
    manifest(tmp_path, "core", ["core/**"], ["api"])  # core now declares it builds on api: a cycle
    assert problems_of(tmp_path) == [
        "modules/api/module.manifest.yaml:1:12: $.module_id: module cycle: api -> core -> api (each module depends on"
        " the next: api -> core implied by PH-02, which writes api and depends on PH-01, which writes core; core -> api"
        " declared in modules/core/module.manifest.yaml)"
    ]


def test_a_written_path_must_belong_to_exactly_one_module(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", create=["core/a.py", "tools/run.sh"], modify=["settings/conf.py"]))
    manifest(tmp_path, "core", ["core/**", "settings/*.py"])
    manifest(tmp_path, "config", ["settings/conf.py"])
    assert problems_of(tmp_path) == [
        "modules/core/module.manifest.yaml:5:3: $.owns[1]: owns 'settings/*.py', and config"
        " (modules/config/module.manifest.yaml) owns 'settings/conf.py': a path belongs to one module",
        "phases/PH-01.yaml:10:5: $.file_scope.create[1]: PH-01 may write 'tools/run.sh', which no module owns"
        " (modules: config, core); add it to the owns of one module",
        "phases/PH-01.yaml:12:5: $.file_scope.modify[0]: PH-01 may write 'settings/conf.py', which belongs to 2"
        " modules: config (owns 'settings/conf.py'), core (owns 'settings/*.py')",
    ]


def test_manifest_set_rules_are_each_named(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", create=["a/x.py"]))
    manifest(tmp_path, "a", ["a/**"], ["a", "nope"])
    manifest(tmp_path, "b", ["b/**"], folder="bee")
    manifest(tmp_path, "b", ["c/**"], folder="b")
    (tmp_path / "modules" / "bad").mkdir()
    (tmp_path / "modules" / "bad" / "module.manifest.yaml").write_text("module_id: bad\ntitle: Bad\n")
    assert problems_of(tmp_path) == [
        "modules/a/module.manifest.yaml:6:3: $.depends_on[0]: depends on itself",
        "modules/a/module.manifest.yaml:7:3: $.depends_on[1]: depends on unknown module 'nope': no manifest under"
        " modules",
        "modules/bad/module.manifest.yaml:1:1: $.owns: missing required field 'owns'",
        "modules/bee/module.manifest.yaml:1:12: $.module_id: module_id 'b' is already declared in"
        " modules/b/module.manifest.yaml",
    ]


def test_a_manifest_in_the_wrong_folder_is_named(tmp_path: Path) -> None:
    write(tmp_path / "phases", spec("PH-01", create=["a/x.py"]))
    manifest(tmp_path, "a", ["a/**"], folder="alpha")
    assert problems_of(tmp_path) == [
        "modules/alpha/module.manifest.yaml:1:12: $.module_id: module_id 'a' differs from its folder 'alpha': a"
        " manifest lives at modules/<module_id>/module.manifest.yaml"
    ]
