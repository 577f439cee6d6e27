"""Inline SVG charts for the quality report: no script, no external asset, so the page
reads the same opened from a mail attachment, a file share or a headless browser.

Two shapes are enough: horizontal bars (pass rates, defects, worst sources) and a daily
stacked-bar chart with a pass-rate line (the trend)."""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from html import escape

GOOD, FAIR, POOR = "#2e7d32", "#ef8f00", "#c62828"
STORED, DUPLICATE, QUARANTINED, LINE = "#4c9a5a", "#b0b7bf", "#d64541", "#1f4e8c"
FONT = 'font-family="inherit"'


def rate_colour(rate: float | None) -> str:
    if rate is None:
        return DUPLICATE
    return GOOD if rate >= 0.98 else FAIR if rate >= 0.95 else POOR


def percent(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{rate * 100:.{digits}f}%"


def _width(text: str) -> float:
    """Rough rendered width in em: CJK characters are square, Latin about half."""
    return sum(1.0 if unicodedata.east_asian_width(c) in "WF" else 0.56 for c in text)


def _fit(text: str, max_em: float) -> str:
    if _width(text) <= max_em:
        return text
    out = ""
    for c in text:
        if _width(out + c + "…") > max_em:
            break
        out += c
    return out + "…"


def _t(
    x: float, y: float, text: str, anchor: str = "start", size: int = 12, fill: str = "#333", weight: str = "normal"
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{fill}" '
        f'font-weight="{weight}">{escape(text)}</text>'
    )


def _svg(width: int, height: int, title: str) -> str:
    # drawn at the size it is shown (the page is 1056 px wide), so 12 px text stays 12 px;
    # the stylesheet lets it shrink on a narrower screen
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" {FONT}>'
    )


def hbars(
    rows: list[dict], max_value: float | None = None, width: int = 800, label_em: float = 17, title: str = ""
) -> str:
    """One bar per row: ``{"label", "value", "text", "colour", "title"?}``."""
    if not rows:
        return ""
    size, row_h, top = 13, 26, 6
    label_w = int(label_em * size) + 12
    text_w = 80
    bar_w = width - label_w - text_w
    top_value = max_value if max_value is not None else max((r["value"] for r in rows), default=0) or 1
    height = top + row_h * len(rows) + 4
    parts = [_svg(width, height, title)]
    for i, r in enumerate(rows):
        y = top + i * row_h
        w = max(0.0, min(1.0, (r["value"] or 0) / top_value)) * bar_w
        tip = escape(r.get("title") or f"{r['label']}: {r['text']}")
        parts.append(f"<g><title>{tip}</title>")
        parts.append(_t(label_w - 10, y + 17, _fit(r["label"], label_em), "end", size))
        parts.append(f'<rect x="{label_w}" y="{y + 5}" width="{bar_w}" height="16" fill="#f0f2f4" rx="2"/>')
        if w > 0:
            parts.append(
                f'<rect x="{label_w}" y="{y + 5}" width="{max(w, 2):.1f}" height="16" fill="{r["colour"]}" rx="2"/>'
            )
        parts.append(_t(label_w + bar_w + 8, y + 17, r["text"], "start", size, "#222", "bold"))
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def _nice_max(v: float) -> tuple[float, float]:
    """An axis top at or above ``v`` and its tick step (1, 2 or 5 times a power of ten)."""
    if v <= 0:
        return 1, 1
    raw = v / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    return step * math.ceil(v / step), step


@dataclass(frozen=True)
class _Plot:
    """The trend's drawing area, its two axes (records per day on the left, the pass rate
    from ``r_lo`` to 100% on the right) and one slot per day."""

    left: float
    top: float
    plot_w: float
    plot_h: float
    y_max: float
    r_lo: float
    slot: float
    bar: float

    def count_y(self, v: float) -> float:
        return self.top + self.plot_h - self.plot_h * v / self.y_max

    def rate_y(self, r: float) -> float:
        return self.top + self.plot_h - self.plot_h * (r - self.r_lo) / (1 - self.r_lo)

    def centre(self, i: int) -> float:
        return self.left + self.slot * i + self.slot / 2


def _rate_floor(days: list[dict]) -> float:
    """Start the rate axis near the lowest rate, so 95% and 99% do not look the same."""
    rates = [d["pass_rate"] for d in days if d["pass_rate"] is not None]
    r_lo = max(0.0, math.floor((min(rates) - 0.02) * 20) / 20) if rates else 0.0
    return min(r_lo, 0.9)


def trend(days: list[dict], width: int = 1056, height: int = 280) -> str:
    """Stacked daily bars (stored, duplicate, quarantined) on the left axis and the pass
    rate as a line on the right axis; days without records leave a gap in the line."""
    if not days:
        return ""
    left, right, top, bottom = 58, 58, 14, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    y_max, step = _nice_max(max(d["received"] for d in days))
    n = len(days)
    slot = plot_w / n
    plot = _Plot(left, top, plot_w, plot_h, y_max, _rate_floor(days), slot, max(1.0, min(slot * 0.7, 28)))
    parts = [_svg(width, height, f"近{n}天每日接收量与合格率")]
    parts += _axes(plot, step)
    parts += _day_bars(plot, days)
    parts += _rate_line(plot, days)
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#999"/>')
    parts += _trend_legend(left, height - 8)
    parts.append("</svg>")
    return "".join(parts)


def _axes(plot: _Plot, step: float) -> list[str]:
    """Grid lines labelled with records per day on the left, pass rates on the right."""
    parts = []
    left, plot_w = plot.left, plot.plot_w
    ticks = int(round(plot.y_max / step))
    for i in range(ticks + 1):
        v = step * i
        y = plot.count_y(v)
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e6ea"/>')
        parts.append(_t(left - 6, y + 4, f"{int(v):,}", "end", 11, "#666"))
    r_lo = plot.r_lo
    for i in range(5):
        r = r_lo + (1 - r_lo) * i / 4
        y = plot.rate_y(r)
        parts.append(
            _t(
                left + plot_w + 6,
                y + 4,
                percent(r, 0 if abs(r * 100 - round(r * 100)) < 0.05 else 1),
                "start",
                11,
                LINE,
            )
        )
    return parts


def _day_bars(plot: _Plot, days: list[dict]) -> list[str]:
    """Each day's stacked bar with its numbers as a tooltip; about ten days labelled."""
    parts = []
    n = len(days)
    for i, d in enumerate(days):
        x = plot.left + plot.slot * i + (plot.slot - plot.bar) / 2
        y = plot.top + plot.plot_h
        tip = (
            f"{d['day']}：接收 {d['received']:,}，入库 {d['stored']:,}，重复 {d['duplicate']:,}，"
            f"隔离 {d['quarantined']:,}，合格率 {percent(d['pass_rate'])}"
        )
        parts.append(f"<g><title>{escape(tip)}</title>")
        for key, colour in (("stored", STORED), ("duplicate", DUPLICATE), ("quarantined", QUARANTINED)):
            h = plot.plot_h * d[key] / plot.y_max
            if h > 0:
                y -= h
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{plot.bar:.1f}" height="{h:.1f}" fill="{colour}"/>')
        parts.append("</g>")
        if i % max(1, round(n / 10)) == 0 or i == n - 1:
            parts.append(_t(plot.centre(i), plot.top + plot.plot_h + 16, d["day"][5:], "middle", 11, "#666"))
    return parts


def _rate_line(plot: _Plot, days: list[dict]) -> list[str]:
    """The pass rate as a polyline with a dot per day, broken where a day had no records."""
    points: list[tuple[float, float] | None] = [
        None if d["pass_rate"] is None else (plot.centre(i), plot.rate_y(d["pass_rate"])) for i, d in enumerate(days)
    ]
    parts = []
    segment: list[tuple[float, float]] = []
    for p in [*points, None]:
        if p is None:
            if len(segment) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in segment)
                parts.append(f'<polyline points="{path}" fill="none" stroke="{LINE}" stroke-width="2"/>')
            for x, y in segment:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}" stroke="#fff" stroke-width="1.5"/>'
                )
            segment = []
        else:
            segment.append(p)
    return parts


def _trend_legend(x: float, legend_y: float) -> list[str]:
    parts = []
    for text, colour in (("入库", STORED), ("重复", DUPLICATE), ("隔离", QUARANTINED)):
        parts.append(f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(_t(x + 16, legend_y, text, size=12))
        x += 64
    parts.append(
        f'<line x1="{x}" x2="{x + 18}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{LINE}" stroke-width="2"/>'
    )
    parts.append(_t(x + 22, legend_y, "合格率（右轴）", size=12))
    return parts
