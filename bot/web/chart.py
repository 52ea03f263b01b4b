"""Charts for the staff console, written on the server as SVG: no library, no script, nothing
fetched from anywhere, and they print.

Each chart is an `<svg role="img">` named by its `<title>` and summed up by its `<desc>`; every
bar carries a `<title>` of its own (a tooltip, and what a screen reader reads), and the page puts
a table of the same numbers beside it. Colours come from CSS classes (`k0`…`k7`, `done`,
`pending`, `overdue` in console.css), so a legend swatch and its bars cannot disagree, and the
strict CSP (no inline style) holds.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 960, 280
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 20, 40


@dataclass(frozen=True)
class Series:
    label: str
    css: str                   # the colour's class, also on the legend swatch
    values: tuple[int, ...]    # one per column


def ticks(peak: int, most: int = 5) -> list[int]:
    """Round gridline values from 0 to at least `peak`: steps of 1, 2 or 5 times a power of ten."""
    step, factors = 1, itertools.cycle((2, 2.5, 2))  # 1, 2, 5, 10, 20, 50, 100…
    while peak / step > most:
        step = int(step * next(factors))
    top = -(-max(peak, 1) // step) * step
    return list(range(0, top + 1, step))


def _text(x: float, y: float, text: str, css: str = "", anchor: str = "middle") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"' + (f' class="{css}"' if css else "")
            + f">{escape(text)}</text>")


def stacked_columns(uid: str, title: str, desc: str, labels: list[str], series: list[Series],
                    tips: list[str], unit: str, empty: str) -> Markup:
    """Columns of stacked bars, one column per label; `tips[i]` names column i in the tooltips."""
    totals = [sum(s.values[i] for s in series) for i in range(len(labels))]
    grid = ticks(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    band = plot_w / max(len(labels), 1)
    bar = band * 0.62

    def y(value: float) -> float:
        return TOP + plot_h - plot_h * value / grid[-1]

    out = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>']
    for value in grid:
        out.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
        out.append(_text(LEFT - 6, y(value) + 4, str(value), "tick", "end"))
    for i, label in enumerate(labels):
        x = LEFT + band * i + (band - bar) / 2
        base = 0
        for s in series:
            value = s.values[i]
            if not value:
                continue
            out.append(f'<rect class="{s.css}" x="{x:.1f}" y="{y(base + value):.1f}" width="{bar:.1f}" '
                       f'height="{y(base) - y(base + value):.1f}"><title>{escape(tips[i])} · '
                       f'{escape(s.label)}：{value} {escape(unit)}</title></rect>')
            base += value
        if totals[i]:
            out.append(_text(x + bar / 2, y(totals[i]) - 5, str(totals[i]), "total"))
        out.append(_text(x + bar / 2, HEIGHT - BOTTOM + 18, label, "tick"))
    out.append(f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(0):.1f}" y2="{y(0):.1f}"/>')
    if not any(totals):
        out.append(_text(LEFT + plot_w / 2, TOP + plot_h / 2, empty, "empty"))
    out.append("</svg>")
    return Markup("".join(out))


def share_bar(uid: str, title: str, desc: str, parts: list[tuple[str, str, int]]) -> Markup:
    """One bar split into (label, css class, count) parts, each as wide as its share."""
    total = sum(count for _, _, count in parts)
    width, height = 600, 28
    out = [f'<svg class="share-bar" viewBox="0 0 {width} {height}" preserveAspectRatio="none" role="img" '
           f'aria-labelledby="{uid}-t {uid}-d" xmlns="http://www.w3.org/2000/svg">',
           f'<title id="{uid}-t">{escape(title)}</title><desc id="{uid}-d">{escape(desc)}</desc>']
    if not total:
        out.append(f'<rect class="none" x="0" y="0" width="{width}" height="{height}"/>')
    x = 0.0
    for label, css, count in parts:
        if not count:
            continue
        w = width * count / total
        out.append(f'<rect class="{css}" x="{x:.2f}" y="0" width="{w:.2f}" height="{height}">'
                   f'<title>{escape(label)}：{count}</title></rect>')
        x += w
    out.append("</svg>")
    return Markup("".join(out))
