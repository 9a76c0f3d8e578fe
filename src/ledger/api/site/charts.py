"""Charts as SVG, rendered on the server in pure Python (no script, no CDN).

Each chart is a horizontal bar chart: one labelled bar per row, its value
written beside it, so it reads without colour and prints in black and
white. The SVG carries `role="img"`, a <title> and a <desc> that states every
value; the page shows the same numbers in a table next to it.
"""

from __future__ import annotations

from html import escape
from typing import Final

WIDTH: Final = 480
BAR: Final = 24
GAP: Final = 10
LABEL: Final = 160  # width of the label column
VALUE: Final = 130  # width of the value column


def _text_width(label: str) -> int:
    """Roughly, at the charts' 15 px font: a CJK character is about twice a Latin one."""
    return sum(15 if ord(c) > 0x2E80 else 8 for c in label)


def _clip(label: str, width: int) -> str:
    if _text_width(label) <= width:
        return label
    out = ""
    for c in label:
        if _text_width(out + c + "…") > width:
            break
        out += c
    return out + "…"


def bar_chart(title: str, rows: list[tuple[str, float]], *, shown: list[str] | None = None,
              maximum: float | None = None, chart_id: str = "chart") -> str:
    """An SVG bar chart of `rows` (label, value); `shown`: the text written beside each bar."""
    shown = shown if shown is not None else [f"{v:g}" for _, v in rows]
    top = max([maximum or 0.0, *(v for _, v in rows)]) or 1.0
    height = max(1, len(rows)) * (BAR + GAP) + GAP
    span = WIDTH - LABEL - VALUE
    desc = "；".join(f"{label}：{text}" for (label, _), text in zip(rows, shown)) or "暂无数据"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {WIDTH} {height}" role="img"'
        f' aria-labelledby="{chart_id}-title {chart_id}-desc" width="{WIDTH}" height="{height}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]
    if not rows:
        parts.append(f'<text x="{GAP}" y="{GAP + BAR - 6}" class="chart-empty">暂无数据</text>')
    for i, ((label, value), text) in enumerate(zip(rows, shown)):
        y = GAP + i * (BAR + GAP)
        w = max(0.0, span * value / top)
        parts += [
            f'<text x="{LABEL - 8}" y="{y + BAR - 6}" text-anchor="end" class="chart-label">'
            f'{escape(_clip(label, LABEL - 12))}</text>',
            f'<rect x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR}" class="chart-bar"/>',
            f'<text x="{LABEL + w + 6:.1f}" y="{y + BAR - 6}" class="chart-value">{escape(text)}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def rate_chart(title: str, shares: list[tuple[str, int, int]], chart_id: str = "rate") -> str:
    """Bars of part/whole on a 0-100 % scale, each written as "part/whole (x.x%)"."""
    rows = [(label, (part / whole) if whole else 0.0) for label, part, whole in shares]
    shown = [f"{part}/{whole}（{percent(part, whole)}）" for _, part, whole in shares]
    return bar_chart(title, rows, shown=shown, maximum=1.0, chart_id=chart_id)
