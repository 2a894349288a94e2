"""Reads for reports, each measure defined once (docs/metrics.md): the daily series per
report, the dimension tables (pages, referrers, UTM tags, devices, browsers), the consent rate
and the ranges a report may cover. The stats API and the admin's reports page both read here,
so they cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from consent.models import Action, ConsentRecord, Purpose
from consentry.kinds import kinds
from tracker.models import Audience, DailyStat
from tracker.rollups import DIMENSIONS as ROLLED_UP

# The longest range a report covers: a year, leap day included.
MAX_RANGE_DAYS = 366

PRESETS: dict[str, str] = {
    "today": "Today",
    "last_7_days": "Last 7 days",
    "last_30_days": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "last_12_months": "Last 12 months",
}
DEFAULT_PRESET = "last_30_days"

PAGE_MEASURES: tuple[str, ...] = tuple(
    f"{audience}_{measure}"
    for audience in (Audience.ANONYMOUS, Audience.IDENTIFIED, Audience.MACHINE, Audience.ALL)
    for measure in ("hits", "visitors", "sessions")
)

# Dimension reports (`stats/?kind=`) -> the rollup dimensions they read: each dimension
# tracker/rollups.py rolls up, and `utm`, its three UTM tags together.
DIMENSION_REPORTS: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in ROLLED_UP if name != "total"},
    "utm": tuple(name for name in ROLLED_UP if name.startswith("utm_")),
}
DIMENSION_MEASURES = ("hits", "anonymous_visitors", "identified_visitors")


class RangeRefused(ValueError):
    """A range no report covers; the message says why, for the person who asked."""


def today_utc() -> dt.date:
    return dt.datetime.now(tz=dt.UTC).date()


def _preset(name: str, today: dt.date) -> tuple[dt.date, dt.date]:
    first = today.replace(day=1)
    if name == "today":
        return today, today
    if name == "last_7_days":
        return today - dt.timedelta(days=6), today
    if name == "last_30_days":
        return today - dt.timedelta(days=29), today
    if name == "this_month":
        return first, today
    if name == "last_month":
        end = first - dt.timedelta(days=1)
        return end.replace(day=1), end
    if name == "last_12_months":
        # Twelve calendar months, this one included, so that each bar is a whole month.
        month = first.month - 11
        year = first.year + (month - 1) // 12
        return dt.date(year, (month - 1) % 12 + 1, 1), today
    raise RangeRefused(f"unknown preset {name!r}; one of: {', '.join(PRESETS)}")


def report_range(
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    preset: str = "",
    today: dt.date | None = None,
) -> tuple[dt.date, dt.date]:
    """The days a report covers, both included. Without a preset or dates: the last 30 days;
    with only an end: the 30 days up to it; with only a start: up to today."""
    today = today or today_utc()
    if preset:
        if start or end:
            raise RangeRefused("give either a preset or start and end dates, not both")
        return _preset(preset, today)
    end = end or today
    start = start or end - dt.timedelta(days=29)
    if start > end:
        raise RangeRefused(f"the range ends ({end}) before it starts ({start})")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise RangeRefused(
            f"the range {start} to {end} covers {(end - start).days + 1} days; "
            f"a report covers at most {MAX_RANGE_DAYS}"
        )
    return start, end


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
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


def report_measures(*, kind: str) -> list[str]:
    """The figures of the series report `kind`, in the order its kinds registered them."""
    names: dict[str, None] = {}
    for counted in kinds():
        for series in counted.series:
            if series.report == kind:
                names.update(dict.fromkeys(series.measures if series.daily else series.counts))
    return list(names)


def stats_daily(
    *,
    kind: str,
    start: dt.date,
    end: dt.date,
    object_id: int | None = None,
    site: str | None = None,
) -> list[dict[str, Any]]:
    """One row per day of the series report `kind` (consentry.kinds.reports()), every day of
    the range present and every figure of the report in it (0 when nothing happened): the
    figures each registered kind adds, anonymous and identified apart, machines apart."""
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
    zero = dict.fromkeys(report_measures(kind=kind), 0)
    return [{"day": day, **zero, **by_day.get(day, {})} for day in days_between(start, end)]


def _merge(*parts: dict[dt.date, dict[str, int]]) -> dict[dt.date, dict[str, int]]:
    merged: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for part in parts:
        for day, values in part.items():
            merged[day].update(values)
    return merged


def series_totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The range's total of each figure of a daily series (visitors: visitor-days)."""
    totals: dict[str, int] = {}
    for row in rows:
        for key, value in row.items():
            if key != "day":
                totals[key] = totals.get(key, 0) + int(value)
    return totals


def dimension_rows(
    *,
    kind: str,
    start: dt.date,
    end: dt.date,
    site: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The dimension report `kind` (DIMENSION_REPORTS): per value of each of its dimensions,
    the people's hits and the anonymous and identified visitors (each a sum of daily uniques),
    most hits first. The empty value is the hits without one (no referrer, no UTM tag), so
    each dimension's hits add up to the page report's people's hits."""
    if kind not in DIMENSION_REPORTS:
        raise ValueError(f"unknown dimension report {kind!r}")
    stats = DailyStat.objects.filter(
        day__gte=start,
        day__lte=end,
        dimension__in=DIMENSION_REPORTS[kind],
        audience__in=[Audience.ANONYMOUS, Audience.IDENTIFIED],
    )
    if site:
        stats = stats.filter(site=site)
    rows = (
        stats.values("dimension", "key")
        .annotate(
            hits=Sum("hits"),
            anonymous_visitors=Sum("visitors", filter=Q(audience=Audience.ANONYMOUS)),
            identified_visitors=Sum("visitors", filter=Q(audience=Audience.IDENTIFIED)),
        )
        .order_by("dimension", "-hits", "key")
    )
    order = {name: n for n, name in enumerate(DIMENSION_REPORTS[kind])}
    answer = sorted(
        (
            {
                "dimension": row["dimension"],
                "key": row["key"],
                **{m: int(row[m] or 0) for m in DIMENSION_MEASURES},
            }
            for row in rows
        ),
        key=lambda row: (order[row["dimension"]], -row["hits"], row["key"]),
    )
    if limit is None:
        return answer
    kept: dict[str, int] = defaultdict(int)
    limited = []
    for row in answer:
        if kept[row["dimension"]] < limit:
            kept[row["dimension"]] += 1
            limited.append(row)
    return limited


def consent_rate(*, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The share of browsers that made a tracking choice in the range whose latest choice in
    it is a grant, with the visitors beside it.

    browsers: browsers that made a choice (script, choices page, form box, banner), each once;
    granted, refused, objected: those browsers by their latest choice in the range;
    rate: granted / browsers, 0..1, None when no browser made a choice;
    anonymous_visitors, identified_visitors, visitors: the page report's visitors (anonymous,
    identified, people each once a day), each a sum of daily uniques.
    Records made for a contact alone (API, email, import) carry no browser key: not counted."""
    choices = ConsentRecord.objects.filter(
        purpose=Purpose.TRACKING,
        action__in=[Action.GRANT, Action.WITHDRAW, Action.OBJECT],
        created_at__date__gte=start,
        created_at__date__lte=end,
    ).exclude(browser_key="")
    newer = choices.filter(browser_key=OuterRef("browser_key")).filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), id__gt=OuterRef("id"))
    )
    latest = (
        choices.filter(~Exists(newer))
        .order_by()
        .aggregate(
            browsers=Count("id"),
            granted=Count("id", filter=Q(action=Action.GRANT)),
            refused=Count("id", filter=Q(action=Action.WITHDRAW)),
            objected=Count("id", filter=Q(action=Action.OBJECT)),
        )
    )
    visitors = dict(
        DailyStat.objects.filter(day__gte=start, day__lte=end, dimension="total")
        .values("audience")
        .annotate(n=Sum("visitors"))
        .values_list("audience", "n")
    )
    browsers = int(latest["browsers"])
    return {
        "browsers": browsers,
        "granted": int(latest["granted"]),
        "refused": int(latest["refused"]),
        "objected": int(latest["objected"]),
        "rate": round(latest["granted"] / browsers, 4) if browsers else None,
        "anonymous_visitors": int(visitors.get(Audience.ANONYMOUS, 0) or 0),
        "identified_visitors": int(visitors.get(Audience.IDENTIFIED, 0) or 0),
        "visitors": int(visitors.get(Audience.ALL, 0) or 0),
    }
