"""Text views of DagSnapshots for docs and reviews: Mermaid and Graphviz DOT, critical path highlighted.

Arrows point from a prerequisite to the node that waits for it (the order work flows in). Both views
are deterministic (nodes and edges sorted) so a committed diagram changes only when the DAG does. One
snapshot (the pipeline or the module tier) is drawn as one graph; the task tier, one snapshot per
workstream, as one subgraph (a DOT cluster) per workstream that has steps.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from uet_contracts import DagSnapshot, ModuleTasks

_CRITICAL_COLOUR = "#d62728"


class _Drawn(NamedTuple):
    """One snapshot to draw: the prefix of its node ids, its subgraph title (None: the whole chart), labels."""

    prefix: str
    title: str | None
    snapshot: DagSnapshot
    titles: Mapping[str, str] | None


def _flow_edges(snapshot: DagSnapshot) -> list[tuple[str, str]]:
    """(prerequisite, dependent) pairs, sorted."""
    return sorted((prereq, node) for node, prereqs in snapshot.edges.items() for prereq in prereqs)


def _critical_edges(snapshot: DagSnapshot) -> set[tuple[str, str]]:
    path = snapshot.critical_path
    return set(itertools.pairwise(path))


def to_mermaid(snapshot: DagSnapshot, titles: Mapping[str, str] | None = None) -> str:
    """A Mermaid flowchart. Node ids are ``n0``, ``n1``, ... (node ids may hold characters Mermaid reads
    as syntax); the labels carry the node id and, when given, its title."""
    return _mermaid([_Drawn("n", None, snapshot, titles)])


def tasks_to_mermaid(tasks: ModuleTasks, titles: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The task tier as a Mermaid flowchart: a subgraph per workstream with steps; ``titles`` maps a
    workstream id to the labels of its nodes."""
    return _mermaid(_task_graphs(tasks, titles, lambda w, ws: f"w{w}n"))


def _task_graphs(
    tasks: ModuleTasks, titles: Mapping[str, Mapping[str, str]] | None, prefix: Callable[[int, str], str]
) -> list[_Drawn]:
    """The workstreams that have steps, each titled by its phase and workstream."""
    return [
        _Drawn(
            prefix(w, item.workstream_id),
            f"{item.phase_id} {item.workstream_id}",
            item.snapshot,
            (titles or {}).get(item.workstream_id),
        )
        for w, item in enumerate(tasks.workstreams)
        if item.snapshot.nodes
    ]


def _mermaid(graphs: Sequence[_Drawn]) -> str:
    lines = ["flowchart TD"]
    ids: list[dict[str, str]] = []
    for w, (prefix, title, snapshot, titles) in enumerate(graphs):
        ids.append({node: f"{prefix}{i}" for i, node in enumerate(snapshot.nodes)})
        indent = "    " if title is None else "        "
        if title is not None:
            lines += [f'    subgraph w{w}["{_mermaid_text(title)}"]', "        direction TB"]
        for node in snapshot.nodes:
            label = _mermaid_text(node)
            if titles and node in titles:
                label += "<br/>" + _mermaid_text(titles[node])
            lines.append(f'{indent}{ids[w][node]}["{label}"]')
        if title is not None:
            lines.append("    end")
    highlighted: list[str] = []
    on_path: list[str] = []
    links = 0  # linkStyle numbers the links of the whole chart in the order they are written
    for w, (_, _, snapshot, _) in enumerate(graphs):
        critical = _critical_edges(snapshot)
        for prereq, node in _flow_edges(snapshot):
            if (prereq, node) in critical:
                highlighted.append(str(links))
            lines.append(f"    {ids[w][prereq]} --> {ids[w][node]}")
            links += 1
        on_path += [ids[w][n] for n in snapshot.critical_path]
    if on_path:
        lines.append(f"    classDef critical stroke:{_CRITICAL_COLOUR},stroke-width:3px")
        lines.append(f"    class {','.join(on_path)} critical")
    if highlighted:
        lines.append(f"    linkStyle {','.join(highlighted)} stroke:{_CRITICAL_COLOUR},stroke-width:3px")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label (entity codes for the characters that end or break it)."""
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def to_dot(snapshot: DagSnapshot, titles: Mapping[str, str] | None = None) -> str:
    """A Graphviz digraph; the critical path's nodes and edges are drawn bold in red."""
    return _dot([_Drawn("", None, snapshot, titles)])


def tasks_to_dot(tasks: ModuleTasks, titles: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The task tier as a Graphviz digraph: a cluster per workstream with steps, node ids ``ws-id/node``."""
    return _dot(_task_graphs(tasks, titles, lambda w, ws: f"{ws}/"))


def _dot(graphs: Sequence[_Drawn]) -> str:
    style = f'color="{_CRITICAL_COLOUR}", penwidth=3'
    lines = ["digraph uet {", "    rankdir=TB;", "    node [shape=box];"]
    for w, (prefix, title, snapshot, titles) in enumerate(graphs):
        indent = "    " if title is None else "        "
        if title is not None:
            lines += [f"    subgraph cluster_{w} {{", f"        label={_dot_string(title)};"]
        on_path = set(snapshot.critical_path)
        for node in snapshot.nodes:
            label = node if not titles or node not in titles else f"{node}\n{titles[node]}"
            extra = f", {style}" if node in on_path else ""
            lines.append(f"{indent}{_dot_string(prefix + node)} [label={_dot_string(label)}{extra}];")
        if title is not None:
            lines.append("    }")
    for prefix, _, snapshot, _ in graphs:
        critical = _critical_edges(snapshot)
        for prereq, node in _flow_edges(snapshot):
            extra = f" [{style}]" if (prereq, node) in critical else ""
            lines.append(f"    {_dot_string(prefix + prereq)} -> {_dot_string(prefix + node)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
