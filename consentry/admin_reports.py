"""The admin's reports page: the figures of every registered kind over a range."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from api.permissions import rollups_refresh_allowed
from consentry.charts import bars, share
from tracker.models import DailyStat
from tracker.reports import consent_rate, stats_daily
from tracker.rollups import rollup_recent


def _range(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = dt.datetime.now(tz=dt.UTC).date()
    try:
        end = dt.date.fromisoformat(request.GET.get("end", "")) if request.GET.get("end") else today
        start = (
            dt.date.fromisoformat(request.GET.get("start", ""))
            if request.GET.get("start")
            else end - dt.timedelta(days=29)
        )
    except ValueError:
        end, start = today, today - dt.timedelta(days=29)
    if start > end or (end - start).days > 366:
        start = end - dt.timedelta(days=29)
    return start, end


def _top(dimension: str, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    rows = (
        DailyStat.objects.filter(
            day__gte=start,
            day__lte=end,
            dimension=dimension,
            audience__in=["anonymous", "identified"],
        )
        .exclude(key="")
        .values("key")
        .annotate(hits=Sum("hits"), visitors=Sum("visitors"))
        .order_by("-hits")[:10]
    )
    return list(rows)


def reports(request: HttpRequest, *, site: admin.AdminSite) -> HttpResponse:
    """The admin's reports page."""
    start, end = _range(request)
    recent = end >= dt.datetime.now(tz=dt.UTC).date() - dt.timedelta(days=1)
    if recent and rollups_refresh_allowed(user=request.user):
        rollup_recent()
    pages = stats_daily(kind="page", start=start, end=end)
    emails = stats_daily(kind="email", start=start, end=end)
    forms = stats_daily(kind="form", start=start, end=end)
    focus = stats_daily(kind="focus", start=start, end=end)
    consent = consent_rate(start=start, end=end)
    totals = {
        "hits": sum(r.get("anonymous_hits", 0) + r.get("identified_hits", 0) for r in pages),
        "sent": sum(r.get("sent", 0) for r in emails),
        "submissions": sum(r.get("submissions", 0) for r in forms),
        "focus_views": sum(r.get("views", 0) for r in focus),
    }
    context = {
        **site.each_context(request),
        "title": "Reports",
        "start": start,
        "end": end,
        "totals": totals,
        "consent": consent,
        "hits_chart": bars(
            pages,
            ["anonymous_hits", "identified_hits", "machine_hits"],
            labels=["anonymous", "identified", "machines"],
            title="Hits per day",
        ),
        "consent_chart": share(
            {
                "granted": consent["granted"],
                "refused": consent["refused"],
                "objected": consent["objected"],
                "no choice": consent["no_choice"],
            },
            title="Consent choices",
            # granted, refused, objected, and no choice in a neutral grey
            colours=("#10b981", "#f59e0b", "#ef4444", "#9ca3af"),
        ),
        "email_chart": bars(
            emails,
            ["sent", "human_opens", "machine_opens", "clicks"],
            labels=["sent", "human opens", "machine opens", "clicks"],
            title="Email per day",
        ),
        "form_chart": bars(forms, ["submissions"], title="Form submissions per day"),
        "focus_chart": bars(focus, ["views", "conversions"], title="Focus items per day"),
        "top_pages": _top("path", start, end),
        "top_referrers": _top("referrer", start, end),
    }
    return TemplateResponse(request, "admin/reports.html", context)
