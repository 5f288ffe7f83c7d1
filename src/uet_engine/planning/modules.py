"""The module tier: module manifests, which module each written path belongs to, and the module DAG.

A repository may describe its modules in ``modules/<module_id>/module.manifest.yaml`` (``.yml`` and
``.json`` too): the paths each module owns and the modules it builds on (ModuleManifestV1). When such
manifests exist they are checked as a set, and against the phases:

- module ids are unique and each equals the name of its folder; ``depends_on`` names known modules;
- no path belongs to two modules (owned entries of two modules never overlap);
- every path a phase may write (its ``create`` and ``modify`` entries) belongs to exactly one module; a
  problem names the phase, the path and the candidates;
- the module graph has no cycle. Its edges are the declared ``depends_on`` plus those the phases imply: a
  phase writing module A that depends (directly) on a phase writing module B makes A depend on B. A cycle
  is named in full, with where each of its edges comes from.

"Belongs" and "overlap" use the one glob dialect of ``uet_engine.paths``. Every problem is collected
before ``PlanError`` is raised, each located in its file, as for phase specs.
"""

from __future__ import annotations

import dataclasses
import graphlib
import hashlib
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import uet_contracts
from uet_contracts import ContractError, DagSnapshot, ModuleManifest, Problem
from uet_engine.errors import PlanError
from uet_engine.paths import PathIndex
from uet_engine.planning import graph
from uet_engine.planning.phase_set import Locator, PhaseSet
from uet_engine.planning.snapshot import CANONICAL, derive_snapshot, source_hash

MANIFEST_NAME = "module.manifest"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


def default_modules_dir(specs_dir: Path) -> Path:
    """Where manifests are looked for unless told: ``modules/`` beside the spec folder (``phases/``)."""
    return Path(specs_dir).resolve().parent / "modules"


def manifest_files(modules_dir: Path) -> list[Path]:
    """The manifest files of a modules folder, ``<module_id>/module.manifest.{yaml,yml,json}``, sorted."""
    if not Path(modules_dir).is_dir():
        return []
    return sorted(
        path
        for path in Path(modules_dir).glob(f"*/{MANIFEST_NAME}.*")
        if path.suffix.lower() in MANIFEST_SUFFIXES and path.is_file()
    )


@dataclass(frozen=True)
class ModuleSet:
    """Checked module manifests with what they imply for a phase set.

    ``manifests`` and ``files`` are keyed by module id (sorted); ``writers`` maps each phase to the modules
    it writes (sorted); ``edges`` maps each module with prerequisites to them (sorted) and ``origins`` says
    where each edge comes from; ``topo_levels`` are the Kahn levels of the module graph.
    """

    manifests: dict[str, ModuleManifest]
    files: dict[str, Path]
    writers: dict[str, list[str]]
    edges: dict[str, list[str]]
    origins: dict[tuple[str, str], str]
    topo_levels: list[list[str]]


def load_modules(modules_dir: Path, phase_set: PhaseSet) -> ModuleSet | None:
    """The checked manifests under ``modules_dir`` (None when there are none); ``PlanError`` with every
    problem of the manifests and of the phases' paths against them."""
    paths = manifest_files(modules_dir)
    if not paths:
        return None
    return _Checker(paths, phase_set).check()


def with_modules(phase_set: PhaseSet, modules: ModuleSet | None) -> PhaseSet:
    """The phase set, knowing which modules each phase writes (for the records of a run and the task tier)."""
    return phase_set if modules is None else dataclasses.replace(phase_set, modules=modules.writers)


class _Checker:
    def __init__(self, paths: list[Path], phase_set: PhaseSet) -> None:
        self.paths = paths
        self.phase_set = phase_set
        self.manifests: dict[str, ModuleManifest] = {}
        self.files: dict[str, Path] = {}
        self.problems: list[Problem] = []
        self.unreadable = False
        self.at = Locator().at

    def check(self) -> ModuleSet:
        self._load()
        self._known_dependencies()
        owned = self._owned()
        writers = self._writers(owned)
        edges, origins = self._edges(writers)
        try:
            levels = graph.kahn_levels(edges)
        except graphlib.CycleError:
            levels = []
            self._cycles(edges, origins)
        if self.problems:
            raise PlanError(_sorted(self.problems), unreadable=self.unreadable)
        return ModuleSet(
            manifests=dict(sorted(self.manifests.items())),
            files=dict(sorted(self.files.items())),
            writers=writers,
            edges={module: sorted(deps) for module, deps in sorted(edges.items()) if deps},
            origins=origins,
            topo_levels=levels,
        )

    def _load(self) -> None:
        for path in self.paths:
            if not os.access(path, os.R_OK):
                self.problems.append(Problem("cannot read file: permission denied", file=str(path)))
                self.unreadable = True
                continue
            try:
                manifest = uet_contracts.load(path, ModuleManifest)
            except ContractError as exc:
                self.problems += exc.errors
                continue
            first = self.files.get(manifest.module_id)
            if first is not None:
                message = f"module_id {manifest.module_id!r} is already declared in {first}"
                self.problems.append(self.at(path, ["module_id"], message))
                continue
            if manifest.module_id != path.parent.name:
                message = (
                    f"module_id {manifest.module_id!r} differs from its folder {path.parent.name!r}: a manifest"
                    f" lives at modules/<module_id>/{MANIFEST_NAME}.yaml"
                )
                self.problems.append(self.at(path, ["module_id"], message))
            self.manifests[manifest.module_id] = manifest
            self.files[manifest.module_id] = path

    def _known_dependencies(self) -> None:
        for module, manifest in self.manifests.items():
            for i, dep in enumerate(manifest.depends_on or []):
                if dep == module:
                    self.problems.append(self.at(self.files[module], ["depends_on", i], "depends on itself"))
                elif dep not in self.manifests:
                    message = f"depends on unknown module {dep!r}: no manifest under {self.files[module].parent.parent}"
                    self.problems.append(self.at(self.files[module], ["depends_on", i], message))

    def _owned(self) -> dict[str, list[tuple[str, int]]]:
        """Owned entry -> [(module, index in its owns)]; reports each pair of modules whose entries are the
        same or overlap, once, at the first of the two."""
        owned: dict[str, list[tuple[str, int]]] = {}
        for module, manifest in self.manifests.items():
            for i, entry in enumerate(manifest.owns):
                owned.setdefault(entry, []).append((module, i))
        index = PathIndex(owned)
        reported: set[frozenset[tuple[str, str]]] = set()
        for entry in sorted(owned):
            for module, i in owned[entry]:
                for other in [entry, *index.overlapping(entry)]:
                    for rival, _ in owned[other]:
                        pair = frozenset({(module, entry), (rival, other)})
                        if rival == module or pair in reported:
                            continue
                        reported.add(pair)
                        what = "it" if other == entry else repr(other)
                        message = (
                            f"owns {entry!r}, and {rival} ({self.files[rival]}) owns {what}: a path belongs to one"
                            " module"
                        )
                        self.problems.append(self.at(self.files[module], ["owns", i], message))
        return owned

    def _writers(self, owned: dict[str, list[tuple[str, int]]]) -> dict[str, list[str]]:
        """Phase -> the modules it writes; reports each written path owned by no module or by several."""
        index = PathIndex(owned)
        writers: dict[str, list[str]] = {}
        for phase in self.phase_set.specs:
            modules: set[str] = set()
            written = self.phase_set.specs.record(phase)
            for kind in ("create", "modify"):
                for i, path in enumerate(getattr(written, kind)):
                    holders: dict[str, list[str]] = {}  # module -> its entries that hold the path
                    for entry in ([path] if path in owned else []) + index.overlapping(path):
                        for module, _ in owned[entry]:
                            holders.setdefault(module, []).append(entry)
                    if len(holders) == 1:
                        modules.update(holders)
                        continue
                    if holders:
                        named = ", ".join(
                            f"{m} (owns {', '.join(map(repr, entries))})" for m, entries in sorted(holders.items())
                        )
                        message = f"{phase} may write {path!r}, which belongs to {len(holders)} modules: {named}"
                    else:
                        message = (
                            f"{phase} may write {path!r}, which no module owns (modules: {', '.join(self.manifests)});"
                            " add it to the owns of one module"
                        )
                    self.problems.append(self.at(self.phase_set.files[phase], ["file_scope", kind, i], message))
            writers[phase] = sorted(modules)
        return writers

    def _edges(self, writers: dict[str, list[str]]) -> tuple[dict[str, list[str]], dict[tuple[str, str], str]]:
        """Module -> the modules it depends on (declared, then implied by the phases), and each edge's origin."""
        edges: dict[str, list[str]] = {module: [] for module in self.manifests}
        origins: dict[tuple[str, str], str] = {}
        for module, manifest in self.manifests.items():
            for dep in manifest.depends_on or []:
                if dep in self.manifests and dep != module:
                    edges[module].append(dep)
                    origins[(module, dep)] = f"declared in {self.files[module]}"
        for phase, prereqs in self.phase_set.edges.items():
            for prereq in prereqs:
                for a in writers.get(phase, []):
                    for b in writers.get(prereq, []):
                        if a != b and (a, b) not in origins:
                            edges[a].append(b)
                            origins[(a, b)] = (
                                f"implied by {phase}, which writes {a} and depends on {prereq}, which writes {b}"
                            )
        return edges, origins

    def _cycles(self, edges: dict[str, list[str]], origins: dict[tuple[str, str], str]) -> None:
        for loop in graph.cycles(edges):
            why = "; ".join(f"{a} -> {b} {origins[(a, b)]}" for a, b in itertools.pairwise(loop))
            message = f"module cycle: {' -> '.join(loop)} (each module depends on the next: {why})"
            first, second = loop[0], loop[1]
            declared = self.manifests[first].depends_on or []
            parts: list[str | int] = ["depends_on", declared.index(second)] if second in declared else ["module_id"]
            self.problems.append(self.at(self.files[first], parts, message))


def _sorted(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.file or "", p.line or 0, p.column or 0, p.json_path, p.message))


def modules_hash(modules: ModuleSet, phase_set: PhaseSet) -> str:
    """``sha256:`` over the canonical manifests (by module id) and the specs' own source hash."""
    digest = hashlib.sha256()
    for module in modules.manifests:
        digest.update(CANONICAL.encode(uet_contracts.to_dict(modules.manifests[module])).encode())
        digest.update(b"\n")
    digest.update(source_hash(phase_set).encode())
    return "sha256:" + digest.hexdigest()


def module_snapshot(modules: ModuleSet, phase_set: PhaseSet, *, generated_at: datetime | None = None) -> DagSnapshot:
    """The module-tier DagSnapshot: a node per module, its declared and implied edges, each module weighing 1."""
    return derive_snapshot(
        "module",
        modules_hash(modules, phase_set),
        list(modules.manifests),
        modules.edges,
        modules.topo_levels,
        dict.fromkeys(modules.manifests, 1),
        generated_at,
    )
