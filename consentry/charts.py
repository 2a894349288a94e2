"""Small server-side SVG charts: no script, no CDN, every label escaped.

Measures that cannot be added (emails sent and their opens, views and conversions) are drawn
side by side; only parts of one whole (anonymous, identified and machine hits) are stacked.
A long range is drawn by week or by month, so that a year is a dozen readable bars, not 365
hairlines."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#6b7280")
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 14, 30, 22
FONT = 12
CHAR = FONT * 0.6  # the average width of a character, to keep labels from overlapping


@dataclass
class Bucket:
    """The days one bar stands for, with the sum of each figure over them."""

    first: dt.date
    last: dt.date
    label: str
    title: str
    values: dict[str, int] = field(default_factory=dict)


def bucket_size(start: dt.date, end: dt.date) -> str:
    """day up to a month, week up to half a year, month beyond."""
    days = (end - start).days + 1
    return "day" if days <= 31 else "week" if days <= 183 else "month"


def _bucket_of(day: dt.date, size: str) -> dt.date:
    if size == "week":
        return day - dt.timedelta(days=day.weekday())
    if size == "month":
        return day.replace(day=1)
    return day


def buckets(rows: Sequence[dict[str, Any]], *, size: str) -> list[Bucket]:
    """Daily rows ({"day": date, figure: n}) summed per day, week (from Monday) or month."""
    out: dict[dt.date, Bucket] = {}
    for row in rows:
        day: dt.date = row["day"]
        key = _bucket_of(day, size)
        bucket = out.get(key)
        if bucket is None:
            bucket = out[key] = Bucket(first=day, last=day, label="", title="")
        bucket.last = day
        for name, value in row.items():
            if name != "day":
                bucket.values[name] = bucket.values.get(name, 0) + int(value or 0)
    for bucket in out.values():
        first, last = bucket.first, bucket.last
        if size == "day":
            bucket.label, bucket.title = f"{first.day} {first:%b}", first.isoformat()
        elif size == "week":
            bucket.label = f"{first.day} {first:%b}"
            bucket.title = f"{first.isoformat()} to {last.isoformat()}"
        else:
            bucket.label = f"{first:%b %Y}"
            bucket.title = f"{first:%Y-%m}"
    return list(out.values())


def _nice_top(value: int) -> int:
    """The axis top: the value rounded up to 1, 2 or 5 times a power of ten."""
    if value <= 1:
        return 1
    power = int(10 ** math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def bars(
    rows: Sequence[Bucket],
    keys: Sequence[str],
    *,
    labels: Sequence[str] | None = None,
    title: str,
    stacked: bool = False,
) -> SafeString:
    """Bars of `keys` per bucket: side by side, or stacked when they are disjoint parts of
    one whole (`stacked=True`)."""
    labels = labels or keys
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h

    def height(row: Bucket) -> int:
        values = [int(row.values.get(k, 0)) for k in keys]
        return sum(values) if stacked else max(values, default=0)

    top = _nice_top(max((height(r) for r in rows), default=0))
    step = plot_w / max(len(rows), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'class="chart" aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, top):
        y = base - tick / top * plot_h
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" '
            f'stroke="{"#bbb" if tick == 0 else "#eee"}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="{FONT}" fill="#555" '
            f'text-anchor="end">{tick}</text>'
        )
    group = step * 0.8
    width = group if stacked else group / max(len(keys), 1)
    for i, row in enumerate(rows):
        x = LEFT + i * step + (step - group) / 2
        y = float(base)
        for k, key in enumerate(keys):
            value = int(row.values.get(key, 0))
            if not value:
                continue
            h = value / top * plot_h
            left = x if stacked else x + k * width
            if stacked:
                y -= h
            parts.append(
                f'<rect x="{left:.1f}" y="{y if stacked else base - h:.1f}" '
                f'width="{width:.1f}" height="{h:.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{escape(row.title)} {escape(labels[k])}: {value}</title></rect>"
            )
    # Label every n-th bucket so that no two labels overlap.
    widest = max((len(r.label) for r in rows), default=1) * CHAR + 8
    every = max(math.ceil(widest / step), 1)
    for i, row in enumerate(rows):
        if i % every == 0:
            parts.append(
                f'<text x="{LEFT + (i + 0.5) * step:.1f}" y="{HEIGHT - 6}" font-size="{FONT}" '
                f'fill="#555" text-anchor="middle">{escape(row.label)}</text>'
            )
    x = float(LEFT)
    for k, label in enumerate(labels):
        parts.append(
            f'<rect x="{x:.1f}" y="8" width="12" height="12" '
            f'fill="{PALETTE[k % len(PALETTE)]}"/><text x="{x + 16:.1f}" y="18" '
            f'font-size="{FONT}">{escape(label)}</text>'
        )
        x += 16 + len(label) * CHAR + 18
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every interpolated text is escaped above


def share(parts: dict[str, int], *, title: str, colours: Sequence[str] = PALETTE) -> SafeString:
    """A single horizontal bar split into labelled shares of one whole (e.g. the browsers
    that made a choice, by the choice)."""
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
        f'aria-label="{escape(title)}"><rect x="0" y="0" width="600" height="24" '
        f'fill="#f3f4f6"/>{"".join(rects)}</svg><p class="legend">{legend}</p>'
    )
