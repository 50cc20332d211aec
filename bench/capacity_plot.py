"""Draw a capacity run (bench/capacity.py) as one SVG: per variant and call rate, the greeting's
p99 latency against the 300 ms a held step allows, the menu reaction's p99, and Asterisk's
and the controller's CPU per call.

    python bench/capacity_plot.py bench/results/capacity-<time>.json [-o docs/capacity.svg]

Plain SVG written by hand, as bench/soak_plot.py: no plotting library for four line charts.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

WIDTH, PANEL, LEFT, RIGHT, TOP = 760, 180, 70, 20, 50
COLOURS = {"twin": "#2ca02c", "fastagi": "#1f77b4", "classic": "#d62728"}

Series = tuple[str, Sequence[tuple[float, float]]]


def panel(
    y0: int,
    title: str,
    unit: str,
    series: Sequence[Series],
    x_max: float,
    limit: float | None = None,
    cap: float | None = None,
) -> list[str]:
    """One chart: x the call rate (calls/s), y from 0; `limit` a dashed horizontal line;
    `cap` the top of the y axis (a point above it is drawn on the top edge)."""
    values = [v for _, points in series for _, v in points] + ([limit] if limit else [])
    y_max = max(values, default=1.0) * 1.1 or 1.0
    if cap:
        y_max = min(y_max, cap)
    inner_w, inner_h = WIDTH - LEFT - RIGHT, PANEL - 50
    top = y0 + 25

    def at(x: float, y: float) -> tuple[float, float]:
        return LEFT + x / x_max * inner_w, top + inner_h - min(y, y_max) / y_max * inner_h

    out = [
        f'<text x="{LEFT}" y="{y0 + 15}" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" '
        'stroke="#999"/>',
        f'<text x="12" y="{top + inner_h / 2:.0f}">{escape(unit)}</text>',
    ]
    for i in range(5):
        value, y = y_max * i / 4, top + inner_h - inner_h * i / 4
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
            f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
    for tick in range(int(x_max) + 1):
        x = LEFT + tick / x_max * inner_w
        out.append(f'<text x="{x:.1f}" y="{top + inner_h + 14}" text-anchor="middle">{tick}</text>')
    if limit:
        _, y = at(0, limit)
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#888" stroke-dasharray="6 4"/>'
        )
    for n, (name, points) in enumerate(series):
        colour = COLOURS.get(name, "#555")
        coords = [at(x, y) for x, y in points]
        if len(coords) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            out.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>'
            )
        out += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords]
        out.append(
            f'<text x="{LEFT + inner_w - 10}" y="{y0 + 15 + 14 * n}" text-anchor="end" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    return out


def by_variant(steps: list[dict[str, Any]], value: str) -> list[Series]:
    names = list(dict.fromkeys(s["variant"] for s in steps))
    return [
        (
            name,
            [(s["rate"], s[value]) for s in steps if s["variant"] == name and s[value] is not None],
        )
        for name in names
    ]


def render(result: dict[str, Any]) -> str:
    steps = result["steps"]
    for s in steps:  # the classic entry's processes are Asterisk's children
        s["asterisk_all_cpu"] = (
            s["asterisk_cpu_ms_per_call"] + s["asterisk_children_cpu_ms_per_call"]
        )
    x_max = max([s["rate"] for s in steps] + [1.0]) + 1
    held = ", ".join(f"{v} {r:g}/s" for v, r in result["held_rate"].items())
    body = [
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">'
        f"{escape('capacity ' + result['when'] + ' (' + result['tree_commit'] + ')')}</text>",
        f'<text x="{LEFT}" y="38" font-size="12">{escape("highest rate held: " + held)}</text>',
    ]
    body += panel(
        TOP,
        "greeting latency p99 (answer to the greeting's first packet); dashed: 300 ms; "
        "top edge: 1 s or more",
        "ms",
        by_variant(steps, "greeting_ms_p99"),
        x_max,
        limit=300.0,
        cap=1000.0,
    )
    body += panel(
        TOP + PANEL,
        "menu reaction p99 (a key's end to the next prompt's first packet); top edge: 1 s or more",
        "ms",
        by_variant(steps, "reaction_ms_p99"),
        x_max,
        cap=1000.0,
    )
    body += panel(
        TOP + 2 * PANEL,
        "Asterisk CPU per call (its own, and the classic entry's processes)",
        "ms",
        by_variant(steps, "asterisk_all_cpu"),
        x_max,
    )
    body += panel(
        TOP + 3 * PANEL,
        "controller CPU per call (the FastAGI controller's process)",
        "ms",
        by_variant(steps, "controller_cpu_ms_per_call"),
        x_max,
    )
    height = TOP + 4 * PANEL + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" '
        f'fill="white"/>{"".join(body)}'
        f'<text x="{WIDTH / 2}" y="{height - 2}" text-anchor="middle">calls per second</text>'
        "</svg>\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path, help="a bench/results/capacity-*.json")
    parser.add_argument("-o", "--out", type=Path, default=Path("docs/capacity.svg"))
    args = parser.parse_args()
    try:
        svg = render(json.loads(args.result.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"capacity_plot: {args.result}: not a capacity result ({exc})", file=sys.stderr)
        return 2
    args.out.write_text(svg)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
