"""A flow as a picture: Graphviz DOT text, rendered by `dot` to SVG or PNG."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ivr.flow import Flow, outcomes

SHAPES = {
    "menu": "box3d",
    "route": "doubleoctagon",
    "hangup": "Msquare",
    "hours": "diamond",
    "switch": "diamond",
    "collect": "parallelogram",
    "lookup": "cylinder",
    "message": "note",
    "notify": "note",
    "callback": "note",
    "set": "cds",
}


class GraphError(Exception):
    pass


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(flow: Flow) -> str:
    lines = [
        f"digraph {_quote('flow ' + flow.name)} {{",
        "  rankdir=LR;",
        '  node [fontname="sans-serif", fontsize=10];',
        '  edge [fontname="sans-serif", fontsize=9];',
    ]
    for node_id, node in flow.nodes.items():
        kind = type(node).__name__.removesuffix("Node").lower()
        style = ', style=filled, fillcolor="#e8f0fe"' if node_id == flow.start else ""
        style += ', style=filled, fillcolor="#fde8e8"' if node_id == flow.agent else ""
        lines.append(
            f"  {_quote(node_id)} [label={_quote(node_id + chr(10) + kind)}, "
            f"shape={SHAPES.get(kind, 'box')}{style}];"
        )
    for node_id, node in flow.nodes.items():
        for label, target in outcomes(node):
            lines.append(f"  {_quote(node_id)} -> {_quote(target)} [label={_quote(label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(flow: Flow, out: Path) -> Path:
    """Write `out` (.svg, .png or .dot) for the flow."""
    dot_text = to_dot(flow)
    fmt = out.suffix.lstrip(".").lower()
    if fmt == "dot":
        out.write_text(dot_text, encoding="utf-8")
        return out
    if fmt not in ("svg", "png"):
        raise GraphError(f"{out}: give a .svg, .png or .dot file name")
    dot = shutil.which("dot")
    if dot is None:
        raise GraphError(
            "graphviz's 'dot' is not installed: run scripts/setup (Debian package graphviz)"
        )
    result = subprocess.run(
        [dot, f"-T{fmt}", "-o", str(out)], input=dot_text.encode(), capture_output=True, check=False
    )
    if result.returncode != 0:
        raise GraphError(f"dot failed: {result.stderr.decode(errors='replace').strip()[:200]}")
    return out
