"""Text views of a DagSnapshot for docs and reviews: Mermaid and Graphviz DOT, critical path highlighted.

Arrows point from a prerequisite to the phase that waits for it (the order work flows in). Both views
are deterministic (nodes and edges sorted) so a committed diagram changes only when the DAG does.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping

from uet_contracts import DagSnapshot

_CRITICAL_COLOUR = "#d62728"


def _flow_edges(snapshot: DagSnapshot) -> list[tuple[str, str]]:
    """(prerequisite, dependent) pairs, sorted."""
    return sorted((prereq, node) for node, prereqs in snapshot.edges.items() for prereq in prereqs)


def _critical_edges(snapshot: DagSnapshot) -> set[tuple[str, str]]:
    path = snapshot.critical_path
    return set(itertools.pairwise(path))


def to_mermaid(snapshot: DagSnapshot, titles: Mapping[str, str] | None = None) -> str:
    """A Mermaid flowchart. Node ids are ``n0``, ``n1``, ... (phase ids may hold characters Mermaid
    reads as syntax); the labels carry the phase id and, when given, its title."""
    ids = {node: f"n{i}" for i, node in enumerate(snapshot.nodes)}
    lines = ["flowchart TD"]
    for node in snapshot.nodes:
        label = _mermaid_text(node)
        if titles and node in titles:
            label += "<br/>" + _mermaid_text(titles[node])
        lines.append(f'    {ids[node]}["{label}"]')
    critical = _critical_edges(snapshot)
    highlighted: list[str] = []
    for i, (prereq, node) in enumerate(_flow_edges(snapshot)):
        lines.append(f"    {ids[prereq]} --> {ids[node]}")
        if (prereq, node) in critical:
            highlighted.append(str(i))
    if snapshot.critical_path:
        lines.append(f"    classDef critical stroke:{_CRITICAL_COLOUR},stroke-width:3px")
        lines.append(f"    class {','.join(ids[n] for n in snapshot.critical_path)} critical")
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
    on_path = set(snapshot.critical_path)
    critical = _critical_edges(snapshot)
    style = f'color="{_CRITICAL_COLOUR}", penwidth=3'
    lines = ["digraph uet {", "    rankdir=TB;", "    node [shape=box];"]
    for node in snapshot.nodes:
        label = node if not titles or node not in titles else f"{node}\n{titles[node]}"
        extra = f", {style}" if node in on_path else ""
        lines.append(f"    {_dot_string(node)} [label={_dot_string(label)}{extra}];")
    for prereq, node in _flow_edges(snapshot):
        extra = f" [{style}]" if (prereq, node) in critical else ""
        lines.append(f"    {_dot_string(prereq)} -> {_dot_string(node)}{extra};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    """A DOT double-quoted string: backslashes and quotes escaped, newlines as centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
