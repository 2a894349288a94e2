"""Small server-side SVG charts: no script, no CDN, every label escaped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#6b7280")


def bars(
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    title: str,
    width: int = 720,
    height: int = 200,
) -> SafeString:
    """Stacked daily bars of `keys` over `rows` ({"day": date, key: n, ...})."""
    labels = labels or keys
    pad, legend = 28, 22
    plot_h = height - pad - legend
    top = max((sum(int(r.get(k, 0) or 0) for k in keys) for r in rows), default=0) or 1
    step = (width - pad) / max(len(rows), 1)
    bar_w = max(step * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" width="100%" aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="0" y="12" font-size="11" fill="#555">{top}</text>',
        f'<line x1="{pad}" y1="{legend + plot_h}" x2="{width}" y2="{legend + plot_h}" '
        'stroke="#ccc"/>',
    ]
    for i, row in enumerate(rows):
        x = pad + i * step
        y = float(legend + plot_h)
        for k, key in enumerate(keys):
            value = int(row.get(key, 0) or 0)
            if not value:
                continue
            h = value / top * plot_h
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(str(row["day"]))} '
                f"{escape(labels[k])}: {value}</title></rect>"
            )
        if len(rows) <= 14 or i % max(len(rows) // 7, 1) == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 4}" font-size="10" fill="#555">'
                f"{escape(str(row['day'])[5:])}</text>"
            )
    for k, label in enumerate(labels):
        parts.append(
            f'<rect x="{pad + k * 150}" y="4" width="10" height="10" '
            f'fill="{PALETTE[k % len(PALETTE)]}"/><text x="{pad + k * 150 + 14}" y="13" '
            f'font-size="11">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def share(parts: dict[str, int], *, title: str, colours: Sequence[str] = PALETTE) -> SafeString:
    """A single horizontal bar split into labelled shares (e.g. granted / refused / none)."""
    total = sum(parts.values()) or 1
    x = 0.0
    rects = []
    for k, (label, value) in enumerate(parts.items()):
        w = value / total * 600
        rects.append(
            format_html(
                '<rect x="{}" y="0" width="{}" height="24" fill="{}"><title>{}: {}</title></rect>',
                f"{x:.1f}",
                f"{w:.1f}",
                colours[k % len(colours)],
                label,
                value,
            )
        )
        x += w
    legend = " · ".join(f"{escape(label)}: {value}" for label, value in parts.items())
    return mark_safe(  # noqa: S308 - built from format_html and escape
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 600 24" width="100%" role="img" '
        f'aria-label="{escape(title)}">{"".join(rects)}</svg><p class="legend">{legend}</p>'
    )
