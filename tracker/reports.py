"""Reads for reports: daily series per kind of object, and the consent rate. Shared by the
stats API and the admin dashboard."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from consent.models import ConsentRecord
from consentry.kinds import kinds
from tracker.models import Audience, DailyStat


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _by_day(queryset: QuerySet[Any], field: str, **counts: Any) -> dict[dt.date, dict[str, int]]:
    rows = queryset.annotate(day=TruncDate(field)).values("day").annotate(**counts)
    return {row["day"]: {k: int(row[k] or 0) for k in counts} for row in rows}


def pages_daily(
    *, start: dt.date, end: dt.date, object_id: int | None = None, site: str | None = None
) -> dict[dt.date, dict[str, int]]:
    """Page hits are read from their rollups: hits, visitors and sessions per audience."""
    stats = DailyStat.objects.filter(day__gte=start, day__lte=end, dimension="total")
    if site:
        stats = stats.filter(site=site)
    series: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for row in stats.values("day", "audience").annotate(
        hits=Sum("hits"), visitors=Sum("visitors"), sessions=Sum("sessions")
    ):
        for measure in ("hits", "visitors", "sessions"):
            series[row["day"]][f"{row['audience']}_{measure}"] = int(row[measure] or 0)
    return series


def stats_daily(
    *,
    kind: str,
    start: dt.date,
    end: dt.date,
    object_id: int | None = None,
    site: str | None = None,
) -> list[dict[str, Any]]:
    """One row per day of the report `kind` (consentry.kinds.reports()): the figures each
    registered kind adds to it, anonymous and identified apart, machines apart from people."""
    parts = []
    for counted in kinds():
        for series in counted.series:
            if series.report != kind:
                continue
            if series.daily is not None:
                parts.append(series.daily(start=start, end=end, object_id=object_id, site=site))
                continue
            time = series.time_field
            rows = counted.model._default_manager.filter(
                series.base, **{f"{time}__date__gte": start, f"{time}__date__lte": end}
            )
            if object_id and series.object_field:
                rows = rows.filter(**{series.object_field: object_id})
            counts = {name: Count("id", filter=where) for name, where in series.counts.items()}
            parts.append(_by_day(rows, time, **counts))
    if not parts:
        raise ValueError(f"unknown kind {kind!r}")
    by_day = _merge(*parts)
    return [{"day": day, **by_day.get(day, {})} for day in _days(start, end)]


def _merge(*parts: dict[dt.date, dict[str, int]]) -> dict[dt.date, dict[str, int]]:
    merged: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for part in parts:
        for day, values in part.items():
            merged[day].update(values)
    return merged


def consent_rate(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Browser choices made in the range (script, choices page, form box), against the
    people counted in it. Records made for a contact alone (API, email) are not a browser's."""
    choices = (
        ConsentRecord.objects.exclude(browser_key="")
        .filter(
            purpose="tracking",
            created_at__date__gte=start,
            created_at__date__lte=end,
        )
        .aggregate(
            granted=Count("id", filter=Q(action="grant")),
            refused=Count("id", filter=Q(action="withdraw")),
            objected=Count("id", filter=Q(action="object")),
        )
    )
    visitors = (
        DailyStat.objects.filter(
            day__gte=start, day__lte=end, dimension="total", audience=Audience.ALL
        ).aggregate(n=Sum("visitors"))["n"]
        or 0
    )
    made = sum(choices.values())
    return {
        **choices,
        "visitors": visitors,
        "no_choice": max(visitors - made, 0),
        "rate": round(choices["granted"] / visitors, 4) if visitors else None,
    }
