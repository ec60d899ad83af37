"""Draw bench/results/quantize_recipes.json as an SVG: latency against neighbours kept, one point per INT8 recipe.

Why: the recipes trade speed for how well each query's neighbours survive; a scatter shows the
Pareto front at a glance where the table needs reading. Hand-written SVG: no plotting library
enters any install.

Run: .venv/bin/python bench/plot_quantize_recipes.py [--results bench/results/quantize_recipes.json]
"""

from __future__ import annotations

import argparse
import json
from html import escape
from pathlib import Path

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 840, 440, 70, 320, 30, 60


def svg(results: dict) -> str:
    points = [
        (name, entry["latency"]["short"]["ratio_to_fp32"], entry["quality_vs_fp32"]["mean_top10_overlap"] if entry["quality_vs_fp32"] else 1.0)
        for name, entry in results["minilm"].items()
    ]
    x_max = max(1.05, max(x for _, x, _ in points) * 1.05)
    y_min = min(0.85, min(y for _, _, y in points) - 0.01)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def sx(x: float) -> float:
        return LEFT + x / x_max * plot_w

    def sy(y: float) -> float:
        return TOP + (1.0 - y) / (1.0 - y_min) * plot_h

    target = results["targets"]
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        # the target region: latency <= target, overlap >= target
        f'<rect x="{LEFT}" y="{TOP}" width="{sx(target["latency_ratio_max"]) - LEFT:.1f}" height="{sy(target["mean_top10_overlap_min"]) - TOP:.1f}" fill="#e6f4e6"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{LEFT + plot_w}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 15}" text-anchor="middle">short-query latency / fp32 (lower is faster)</text>',
        f'<text x="15" y="{TOP + plot_h / 2}" transform="rotate(-90 15 {TOP + plot_h / 2})" text-anchor="middle">top-10 neighbours kept (retrieval set)</text>',
        f'<text x="{LEFT + 4}" y="{TOP + 12}" fill="#2a7a2a">target: &lt;= {target["latency_ratio_max"]}x, &gt;= {target["mean_top10_overlap_min"]}</text>',
    ]
    for tick in [i / 10 for i in range(0, int(x_max * 10) + 1, 2)]:
        parts.append(f'<text x="{sx(tick):.1f}" y="{TOP + plot_h + 15}" text-anchor="middle">{tick:.1f}</text>')
    y = 1.0
    while y >= y_min:
        parts.append(f'<text x="{LEFT - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        y = round(y - 0.02, 2)
    colours = ["#000000", "#d62728", "#ff7f0e", "#bcbd22", "#1f77b4", "#17becf", "#9467bd", "#8c564b", "#2ca02c"]
    for index, (name, x, y) in enumerate(points):
        colour = colours[index % len(colours)]
        parts.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="{colour}"/>')
        legend_y = TOP + 14 + index * 18
        parts.append(f'<circle cx="{WIDTH - RIGHT + 20}" cy="{legend_y - 4}" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{WIDTH - RIGHT + 30}" y="{legend_y}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path(__file__).resolve().parent / "results" / "quantize_recipes.json")
    args = parser.parse_args(argv)
    output = args.results.with_suffix(".svg")
    output.write_text(svg(json.loads(args.results.read_text())))
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
