"""Reads for reports: daily series per kind of object, and the consent rate. Shared by the
stats API and the admin dashboard."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate

from consent.models import ConsentRecord
from tracker.models import Audience, DailyStat

KINDS = ("page", "email", "link", "form", "focus", "asset")


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def _by_day(queryset: QuerySet[Any], field: str, **counts: Any) -> dict[dt.date, dict[str, int]]:
    rows = queryset.annotate(day=TruncDate(field)).values("day").annotate(**counts)
    return {row["day"]: {k: int(row[k] or 0) for k in counts} for row in rows}


def stats_daily(
    *,
    kind: str,
    start: dt.date,
    end: dt.date,
    object_id: int | None = None,
    site: str | None = None,
) -> list[dict[str, Any]]:
    """One row per day: anonymous and identified reported apart, machines apart from people."""
    window = {"created_at__date__gte": start, "created_at__date__lte": end}
    series: dict[dt.date, dict[str, int]]
    if kind == "page":
        stats = DailyStat.objects.filter(day__gte=start, day__lte=end, dimension="total")
        if site:
            stats = stats.filter(site=site)
        series = defaultdict(dict)
        for row in stats.values("day", "audience").annotate(
            hits=Sum("hits"), visitors=Sum("visitors"), sessions=Sum("sessions")
        ):
            for measure in ("hits", "visitors", "sessions"):
                series[row["day"]][f"{row['audience']}_{measure}"] = int(row[measure] or 0)
    elif kind == "email":
        from emails.models import EmailClick, EmailOpen, Recipient

        opens = EmailOpen.objects.filter(**window)
        clicks = EmailClick.objects.filter(**window)
        sent = Recipient.objects.filter(
            status="sent", sent_at__date__gte=start, sent_at__date__lte=end
        )
        if object_id:
            opens, clicks = (
                opens.filter(email_id=object_id),
                clicks.filter(link__email_id=object_id),
            )
            sent = sent.filter(send__email_id=object_id)
        series = _merge(
            _by_day(sent, "sent_at", sent=Count("id")),
            _by_day(
                opens,
                "created_at",
                human_opens=Count("id", filter=Q(machine=False)),
                machine_opens=Count("id", filter=Q(machine=True)),
                identified_opens=Count("id", filter=Q(recipient__isnull=False)),
            ),
            _by_day(
                clicks,
                "created_at",
                clicks=Count("id", filter=Q(machine=False)),
                machine_clicks=Count("id", filter=Q(machine=True)),
                identified_clicks=Count("id", filter=Q(recipient__isnull=False)),
            ),
        )
    elif kind == "link":
        from emails.models import EmailClick

        clicks = EmailClick.objects.filter(**window)
        if object_id:
            clicks = clicks.filter(link_id=object_id)
        series = _by_day(
            clicks,
            "created_at",
            clicks=Count("id", filter=Q(machine=False)),
            identified_clicks=Count("id", filter=Q(recipient__isnull=False)),
            machine_clicks=Count("id", filter=Q(machine=True)),
        )
    elif kind == "form":
        from forms.models import Submission

        submissions = Submission.objects.filter(**window)
        if object_id:
            submissions = submissions.filter(form_id=object_id)
        series = _by_day(
            submissions,
            "created_at",
            submissions=Count("id"),
            identified_submissions=Count("id", filter=Q(identified=True)),
        )
    elif kind == "focus":
        from focus.models import FocusEvent

        events = FocusEvent.objects.filter(machine=False, **window)
        if object_id:
            events = events.filter(focus_id=object_id)
        series = _by_day(
            events,
            "created_at",
            views=Count("id", filter=Q(kind="view")),
            conversions=Count("id", filter=Q(kind="conversion")),
            identified_views=Count("id", filter=Q(kind="view", device__isnull=False)),
        )
    elif kind == "asset":
        from pages.models import AssetDownload

        downloads = AssetDownload.objects.filter(machine=False, **window)
        if object_id:
            downloads = downloads.filter(asset_id=object_id)
        series = _by_day(
            downloads,
            "created_at",
            downloads=Count("id"),
            identified_downloads=Count(
                "id", filter=Q(contact__isnull=False) | Q(device__isnull=False)
            ),
        )
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return [{"day": day, **series.get(day, {})} for day in _days(start, end)]


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
