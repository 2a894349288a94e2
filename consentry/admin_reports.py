"""The admin's reports page: the series, dimension tables and consent rate of a range, read
through tracker/reports.py as the stats API reads them (docs/metrics.md), each table also as a
CSV download."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.template.response import TemplateResponse
from django.utils.http import urlencode

from api.permissions import rollups_refresh_allowed
from consentry.charts import bars, bucket_size, buckets, share
from consentry.kinds import reports as registered_reports
from forms.exports import cell_safe
from tracker.reports import (
    DEFAULT_PRESET,
    DIMENSION_MEASURES,
    PRESETS,
    RangeRefused,
    consent_rate,
    dimension_rows,
    report_measures,
    report_range,
    series_totals,
    stats_daily,
    today_utc,
)
from tracker.rollups import rollup_recent

# Series reports: title, the figures drawn, their legend, and whether they are disjoint parts
# of one whole (only then are they stacked).
SERIES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool]] = {
    "page": (
        "Hits",
        ("anonymous_hits", "identified_hits", "machine_hits"),
        ("anonymous", "identified", "machines"),
        True,
    ),
    "email": (
        "Email",
        ("sent", "human_opens", "machine_opens", "clicks"),
        ("sent", "human opens", "machine opens", "clicks"),
        False,
    ),
    "form": ("Form submissions", ("submissions",), ("submissions",), False),
    "focus": ("Focus items", ("views", "conversions"), ("views", "conversions"), False),
    "asset": ("Asset downloads", ("downloads",), ("downloads",), False),
    "dwc": ("Dynamic content", ("views", "personalised"), ("views", "personalised"), False),
    # Seconds watched are in the table and the CSV: they share no axis with plays.
    "video": ("Video plays", ("plays",), ("plays",), False),
}
# The link report is the email report's clicks, told apart only per link (the API's &object=).
NOT_DRAWN = ("link",)
DIMENSIONS: dict[str, str] = {
    "path": "Top pages",
    "referrer": "Referrers",
    "utm_source": "UTM source",
    "utm_medium": "UTM medium",
    "utm_campaign": "UTM campaign",
    "device": "Devices",
    "browser": "Browsers",
}
CONSENT_FIGURES = (
    "browsers",
    "granted",
    "refused",
    "objected",
    "rate",
    "anonymous_visitors",
    "identified_visitors",
    "visitors",
)
SHOWN_ROWS = 10
EXPORTED_ROWS = 1000


def _date(request: HttpRequest, name: str) -> dt.date | None:
    value = request.GET.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise RangeRefused(f"{name} {value[:40]!r} is not a date (YYYY-MM-DD)") from None


def _range(request: HttpRequest) -> tuple[dt.date, dt.date, str, str]:
    """The range asked for, or the default one with the reason the asked one was refused."""
    preset = request.GET.get("preset", "")[:40]
    try:
        start, end = report_range(
            start=_date(request, "start"), end=_date(request, "end"), preset=preset
        )
    except RangeRefused as refused:
        start, end = report_range(preset=DEFAULT_PRESET)
        return start, end, "", str(refused)
    return start, end, preset, ""


def _csv(name: str, start: dt.date, end: dt.date, header: Sequence[str], rows: Any) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell_safe(value) if isinstance(value, str) else value for value in row])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="consentry-{name}-{start}-{end}.csv"'
    return response


def _series() -> dict[str, tuple[str, tuple[str, ...], tuple[str, ...], bool]]:
    """The drawn series: those named above, then any other report a kind registers, its
    figures side by side."""
    registered = registered_reports()
    drawn = {kind: shown for kind, shown in SERIES.items() if kind in registered}
    for kind in registered:
        if kind not in drawn and kind not in NOT_DRAWN:
            measures = tuple(report_measures(kind=kind))
            labels = tuple(m.replace("_", " ") for m in measures)
            drawn[kind] = (kind.capitalize(), measures, labels, False)
    return drawn


def _export(table: str, start: dt.date, end: dt.date) -> HttpResponse:
    if table in _series():
        days = stats_daily(kind=table, start=start, end=end)
        measures = [k for k in days[0] if k != "day"]
        return _csv(
            table,
            start,
            end,
            ["day", *measures],
            ([row["day"].isoformat(), *(row[m] for m in measures)] for row in days),
        )
    if table in DIMENSIONS:
        rows = dimension_rows(kind=table, start=start, end=end, limit=EXPORTED_ROWS)
        return _csv(
            table,
            start,
            end,
            [table, *DIMENSION_MEASURES],
            ([row["key"], *(row[m] for m in DIMENSION_MEASURES)] for row in rows),
        )
    if table == "consent":
        consent = consent_rate(start=start, end=end)
        return _csv(table, start, end, CONSENT_FIGURES, [[consent[k] for k in CONSENT_FIGURES]])
    return HttpResponseBadRequest("unknown table", content_type="text/plain")


def reports(request: HttpRequest, *, site: admin.AdminSite) -> HttpResponse:
    """The admin's reports page, or one of its tables as CSV (`?export=<table>`)."""
    start, end, preset, refused = _range(request)
    if end >= today_utc() - dt.timedelta(days=1) and rollups_refresh_allowed(user=request.user):
        rollup_recent()
    if "export" in request.GET:
        if refused:
            return HttpResponseBadRequest(refused, content_type="text/plain")
        return _export(request.GET["export"], start, end)
    size = bucket_size(start, end)
    span = {"start": start.isoformat(), "end": end.isoformat()}
    series = []
    totals: dict[str, dict[str, int]] = {}
    for kind, (title, keys, labels, stacked) in _series().items():
        days = stats_daily(kind=kind, start=start, end=end)
        totals[kind] = series_totals(days)
        series.append(
            {
                "kind": kind,
                "title": f"{title} per {size}",
                "chart": bars(
                    buckets(days, size=size),
                    keys,
                    labels=labels,
                    title=f"{title} per {size}",
                    stacked=stacked,
                ),
                "totals": [(k.replace("_", " "), k, v) for k, v in totals[kind].items()],
                "csv": "?" + urlencode({**span, "export": kind}),
            }
        )
    tables = [
        {
            "dimension": dimension,
            "title": title,
            "rows": dimension_rows(kind=dimension, start=start, end=end, limit=SHOWN_ROWS),
            "csv": "?" + urlencode({**span, "export": dimension}),
        }
        for dimension, title in DIMENSIONS.items()
    ]
    consent = consent_rate(start=start, end=end)
    context = {
        **site.each_context(request),
        "title": "Reports",
        "start": start,
        "end": end,
        "preset": preset,
        "presets": [
            (name, label, "?" + urlencode({"preset": name})) for name, label in PRESETS.items()
        ],
        "refused": refused,
        "size": size,
        "totals": {
            "hits": totals["page"]["anonymous_hits"] + totals["page"]["identified_hits"],
            "sent": totals["email"]["sent"],
            "submissions": totals["form"]["submissions"],
            "focus_views": totals["focus"]["views"],
        },
        "series": series,
        "tables": tables,
        "consent": consent,
        "consent_percent": None if consent["rate"] is None else f"{consent['rate'] * 100:.1f}",
        "consent_csv": "?" + urlencode({**span, "export": "consent"}),
        "consent_chart": share(
            {
                "granted": consent["granted"],
                "refused": consent["refused"],
                "objected": consent["objected"],
            },
            title="The browsers that made a choice, by their latest choice",
            colours=("#10b981", "#f59e0b", "#ef4444"),
        ),
    }
    return TemplateResponse(request, "admin/reports.html", context)
