"""Draw a soak's results as one SVG: callers up, controller memory and the greeting's overhead
(AGI latency as a caller hears it) over time, so a leak or a growing latency shows as a slope.

    python bench/soak_plot.py bench/results/soak-<time>.json [-o docs/soak.svg]

Plain SVG written by hand: no plotting library for three line charts.
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
COLOURS = ("#1f77b4", "#d62728")

Series = tuple[str, Sequence[tuple[float, float]]]


def panel(y0: int, title: str, unit: str, series: Sequence[Series], x_max: float) -> list[str]:
    """One chart: `series` share an x axis in minutes and a y axis from 0."""
    y_max = max((v for _, points in series for _, v in points), default=1.0) * 1.1 or 1.0
    inner_w, inner_h = WIDTH - LEFT - RIGHT, PANEL - 50
    top = y0 + 25

    def at(x: float, y: float) -> str:
        return f"{LEFT + x / x_max * inner_w:.1f},{top + inner_h - y / y_max * inner_h:.1f}"

    out = [
        f'<text x="{LEFT}" y="{y0 + 15}" font-weight="bold">{escape(title)}</text>',
        f'<rect x="{LEFT}" y="{top}" width="{inner_w}" height="{inner_h}" fill="none" '
        'stroke="#999"/>',
    ]
    for i in range(5):  # y ticks
        value = y_max * i / 4
        y = top + inner_h - inner_h * i / 4
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
            f'<line x1="{LEFT}" x2="{LEFT + inner_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
        )
    out.append(f'<text x="12" y="{top + inner_h / 2:.0f}">{escape(unit)}</text>')
    for minute in range(int(x_max) + 1):  # x ticks, minutes
        x = LEFT + minute / x_max * inner_w
        out.append(
            f'<text x="{x:.1f}" y="{top + inner_h + 14}" text-anchor="middle">{minute}</text>'
        )
    for (_, points), colour in zip(series, COLOURS, strict=False):
        if points:
            line = " ".join(at(x, y) for x, y in points)
            out.append(
                f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2" />'
            )
    legend_x = LEFT + inner_w - 10
    for i, ((name, _), colour) in enumerate(zip(series, COLOURS, strict=False)):
        out.append(
            f'<text x="{legend_x}" y="{y0 + 15 + 14 * i}" text-anchor="end" '
            f'fill="{colour}">{escape(name)}</text>'
        )
    return out


def minutes(points: Sequence[Sequence[float]]) -> list[tuple[float, float]]:
    return [(t / 60, v) for t, v in points]


def render(result: dict[str, Any]) -> str:
    channels = minutes(result["channels_up"])
    callers = minutes(result.get("callers_up", []))  # older results counted channels only
    rss = [(t, kb / 1024) for t, kb in minutes(result["controller_rss_kb"])]
    overhead = result["accounting"]["welcome_overhead_ms"]
    x_max = max([t for t, _ in channels + rss] + [m + 1 for m, _, _ in overhead] + [1.0])
    acc = result["accounting"]
    title = (
        f"soak {result['when']}: ~{result['concurrent_target']} callers for "
        f"{result['minutes']:g} min"
    )
    heading = (
        f"{acc['calls']} calls, {acc['ended']} ended, "
        f"{acc['recorded']} recorded"
        + (
            f" ({result['recorded_after_reconciliation']} after reconciliation)"
            if "recorded_after_reconciliation" in result
            else ""
        )
        + f", {len(acc['missing'])} missing"
    )
    body = [
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>',
        f'<text x="{LEFT}" y="38" font-size="12">{escape(heading)}</text>',
    ]
    body += panel(
        TOP,
        "callers and channels up (Asterisk)",
        "up",
        [("channels", channels), ("callers", callers)],
        x_max,
    )
    body += panel(TOP + PANEL, "controller memory (RSS)", "MB", [("RSS MB", rss)], x_max)
    body += panel(
        TOP + 2 * PANEL,
        "greeting overhead per minute (time past the prompt's length)",
        "ms",
        [
            ("p50", [(m + 0.5, p50) for m, p50, _ in overhead]),
            ("p99", [(m + 0.5, p99) for m, _, p99 in overhead]),
        ],
        x_max,
    )
    height = TOP + 3 * PANEL + 10
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="11"><rect width="100%" height="100%" '
        f'fill="white"/>{"".join(body)}'
        f'<text x="{WIDTH / 2}" y="{height - 2}" text-anchor="middle">minutes</text></svg>\n'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path, help="a bench/results/soak-*.json")
    parser.add_argument("-o", "--out", type=Path, default=Path("docs/soak.svg"))
    args = parser.parse_args()
    try:
        result = json.loads(args.result.read_text())
        svg = render(result)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"soak_plot: {args.result}: not a soak result ({exc})", file=sys.stderr)
        return 2
    args.out.write_text(svg)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
