"""Small SVG chart builders for the dashboard, rendered on the server.

Every label passes through ``html.escape`` before it enters the markup, so the
returned ``Markup`` is safe to insert into a template unescaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = (
    "#2f6f9f",
    "#e07b39",
    "#4f9a5a",
    "#b0463c",
    "#7e5fa8",
    "#8a6d3b",
    "#c45f9b",
    "#5f6b73",
)
WIDTH = 720
FONT = 'font-family="sans-serif" font-size="12"'


def _open(height: int, title: str) -> list[str]:
    label = escape(title)
    return [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
            f'height="{height}" role="img" aria-label="{label}" class="chart">'
        ),
        f"<title>{label}</title>",
    ]


def _empty(title: str) -> Markup:
    parts = _open(60, title)
    parts.append(f'<text x="10" y="35" {FONT} fill="#555">No data yet.</text></svg>')
    return Markup("".join(parts))


def bar_chart(items: Sequence[tuple[str, int]], title: str) -> Markup:
    """Draw horizontal bars, one per (label, value), longest first as given."""
    if not items:
        return _empty(title)
    row_height, label_width = 24, 220
    height = row_height * len(items) + 10
    largest = max(value for _, value in items) or 1
    bar_room = WIDTH - label_width - 60
    parts = _open(height, title)
    for index, (label, value) in enumerate(items):
        y = 5 + index * row_height
        width = max(1, round(bar_room * value / largest))
        short_label = label if len(label) <= 32 else label[:31] + "…"
        parts.append(
            f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" {FONT}>{escape(short_label)}</text>'
            f'<rect x="{label_width}" y="{y + 3}" width="{width}" height="{row_height - 6}" fill="{PALETTE[0]}">'
            f"<title>{escape(label)}: {value}</title></rect>"
            f'<text x="{label_width + width + 6}" y="{y + 16}" {FONT}>{value}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_columns(
    categories: Sequence[str], series: dict[str, Sequence[int]], title: str
) -> Markup:
    """Draw one column per category, stacked by series (such as stories per week by source)."""
    if not categories or not series:
        return _empty(title)
    height, top, bottom, left = 280, 10, 60, 40
    plot_height = height - top - bottom
    totals = [
        sum(values[index] for values in series.values())
        for index in range(len(categories))
    ]
    largest = max(totals) or 1
    slot = (WIDTH - left - 10) / len(categories)
    column = max(2.0, slot * 0.7)

    parts = _open(height, title)
    parts.append(
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" {FONT}>{largest}</text>'
    )
    parts.append(
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" {FONT}>0</text>'
    )
    for index, category in enumerate(categories):
        x = left + index * slot + (slot - column) / 2
        base = top + plot_height
        for color_index, (name, values) in enumerate(series.items()):
            value = values[index]
            if not value:
                continue
            bar_height = plot_height * value / largest
            base -= bar_height
            color = PALETTE[color_index % len(PALETTE)]
            parts.append(
                f'<rect x="{x:.1f}" y="{base:.1f}" width="{column:.1f}" height="{bar_height:.1f}" fill="{color}">'
                f"<title>{escape(category)} {escape(name)}: {value}</title></rect>"
            )
        if len(categories) <= 12 or index % max(1, len(categories) // 12) == 0:
            parts.append(
                f'<text x="{x + column / 2:.1f}" y="{top + plot_height + 14}" text-anchor="middle" '
                f'font-family="sans-serif" font-size="10">{escape(category[5:] if len(category) == 10 else category)}</text>'
            )
    parts.extend(_legend(list(series), height - 22))
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(points: Sequence[tuple[str, int]], title: str) -> Markup:
    """Draw a line through (label, value) points, such as the queue size per week."""
    if not points:
        return _empty(title)
    height, top, bottom, left = 220, 10, 30, 40
    plot_height = height - top - bottom
    largest = max(value for _, value in points) or 1
    step = (WIDTH - left - 20) / max(1, len(points) - 1)
    coordinates = [
        (left + index * step, top + plot_height - plot_height * value / largest)
        for index, (_, value) in enumerate(points)
    ]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)

    parts = _open(height, title)
    parts.append(
        f'<text x="{left - 6}" y="{top + 10}" text-anchor="end" {FONT}>{largest}</text>'
    )
    parts.append(
        f'<text x="{left - 6}" y="{top + plot_height}" text-anchor="end" {FONT}>0</text>'
    )
    parts.append(
        f'<polyline points="{path}" fill="none" stroke="{PALETTE[1]}" stroke-width="2"/>'
    )
    for (label, value), (x, y) in zip(points, coordinates):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{PALETTE[1]}"><title>{escape(label)}: {value}</title></circle>'
        )
    parts.append(
        f'<text x="{left}" y="{height - 8}" {FONT}>{escape(points[0][0])}</text>'
    )
    parts.append(
        f'<text x="{WIDTH - 20}" y="{height - 8}" text-anchor="end" {FONT}>{escape(points[-1][0])}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(names: list[str], y: int) -> list[str]:
    parts = []
    x = 40
    for index, name in enumerate(names):
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="{y}" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16}" y="{y + 11}" {FONT}>{escape(name)}</text>'
        )
        x += 28 + 7 * len(name)
    return parts
