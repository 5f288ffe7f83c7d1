"""Mermaid and DOT views of the example snapshot, exactly as written; special characters escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.conftest import EXAMPLES
from uet_contracts import DagSnapshot
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.planning.snapshot import build_module_tasks, build_snapshot
from uet_engine.planning.views import tasks_to_dot, tasks_to_mermaid, to_dot, to_mermaid


def example() -> DagSnapshot:
    return build_snapshot(load_phase_set(EXAMPLES / "phases"), generated_at=datetime(2026, 1, 1, tzinfo=UTC))


def test_mermaid_highlights_the_critical_path() -> None:
    assert to_mermaid(example(), {"PH-00": 'Say "hi" & <go>'}) == (
        "flowchart TD\n"
        '    n0["PH-00<br/>Say #quot;hi#quot; #amp; #lt;go#gt;"]\n'
        '    n1["PH-01A"]\n'
        '    n2["PH-01B"]\n'
        '    n3["PH-02"]\n'
        "    n0 --> n1\n"
        "    n0 --> n2\n"
        "    n1 --> n3\n"
        "    n2 --> n3\n"
        "    classDef critical stroke:#d62728,stroke-width:3px\n"
        "    class n0,n1,n3 critical\n"
        "    linkStyle 0,2 stroke:#d62728,stroke-width:3px\n"
    )


def test_dot_highlights_the_critical_path() -> None:
    red = 'color="#d62728", penwidth=3'
    assert to_dot(example(), {"PH-01B": 'A "quoted"\\title'}) == (
        "digraph uet {\n"
        "    rankdir=TB;\n"
        "    node [shape=box];\n"
        f'    "PH-00" [label="PH-00", {red}];\n'
        f'    "PH-01A" [label="PH-01A", {red}];\n'
        '    "PH-01B" [label="PH-01B\\nA \\"quoted\\"\\\\title"];\n'
        f'    "PH-02" [label="PH-02", {red}];\n'
        f'    "PH-00" -> "PH-01A" [{red}];\n'
        '    "PH-00" -> "PH-01B";\n'
        f'    "PH-01A" -> "PH-02" [{red}];\n'
        '    "PH-01B" -> "PH-02";\n'
        "}\n"
    )


def test_a_single_phase_has_no_edges_to_highlight() -> None:
    snapshot = example()
    snapshot.nodes, snapshot.edges, snapshot.critical_path = ["PH-1"], {}, ["PH-1"]
    assert to_mermaid(snapshot).splitlines()[-1] == "    class n0 critical"
    assert to_dot(snapshot).splitlines()[-2] == '    "PH-1" [label="PH-1", color="#d62728", penwidth=3];'


def test_the_task_tier_draws_a_subgraph_per_workstream_numbering_links_across_them() -> None:
    tasks = build_module_tasks(load_phase_set(EXAMPLES / "three-tiers" / "phases"))
    assert tasks_to_mermaid(tasks, {"ws-http-api": {"routes": 'Write "routes"'}}) == (
        "flowchart TD\n"
        '    subgraph w0["PH-10 ws-core-store"]\n'
        "        direction TB\n"
        '        w0n0["package"]\n'
        '        w0n1["store"]\n'
        '        w0n2["store-tests"]\n'
        "    end\n"
        '    subgraph w1["PH-11 ws-http-api"]\n'
        "        direction TB\n"
        '        w1n0["export"]\n'
        '        w1n1["routes<br/>Write #quot;routes#quot;"]\n'
        "    end\n"
        '    subgraph w2["PH-12 ws-api-docs"]\n'
        "        direction TB\n"
        '        w2n0["step/0"]\n'
        "    end\n"
        "    w0n0 --> w0n1\n"
        "    w0n0 --> w0n2\n"
        "    w1n1 --> w1n0\n"
        "    classDef critical stroke:#d62728,stroke-width:3px\n"
        "    class w0n0,w0n1,w1n1,w1n0,w2n0 critical\n"
        "    linkStyle 0,2 stroke:#d62728,stroke-width:3px\n"
    )


def test_the_task_tier_in_dot_qualifies_each_node_by_its_workstream() -> None:
    tasks = build_module_tasks(load_phase_set(EXAMPLES / "three-tiers" / "phases"))
    red = 'color="#d62728", penwidth=3'
    lines = tasks_to_dot(tasks).splitlines()
    assert lines[3:8] == [
        "    subgraph cluster_0 {",
        '        label="PH-10 ws-core-store";',
        f'        "ws-core-store/package" [label="package", {red}];',
        f'        "ws-core-store/store" [label="store", {red}];',
        '        "ws-core-store/store-tests" [label="store-tests"];',
    ]
    assert lines[-4:] == [
        f'    "ws-core-store/package" -> "ws-core-store/store" [{red}];',
        '    "ws-core-store/package" -> "ws-core-store/store-tests";',
        f'    "ws-http-api/routes" -> "ws-http-api/export" [{red}];',
        "}",
    ]
