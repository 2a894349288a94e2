"""The admin site, with a reports dashboard and a page of the effective privacy settings."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from api.permissions import rollups_refresh_allowed
from consent import registry
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


class ConsentryAdminSite(admin.AdminSite):
    site_header = "Consentry"
    site_title = "Consentry"
    index_title = "Tracking, consent and contacts"

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        extra = [
            path("reports/", self.admin_view(self.reports), name="reports"),
            path(
                "privacy-settings/", self.admin_view(self.privacy_settings), name="privacy-settings"
            ),
        ]
        return extra + super().get_urls()  # type: ignore[operator]

    def reports(self, request: HttpRequest) -> HttpResponse:
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
            **self.each_context(request),
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

    def privacy_settings(self, request: HttpRequest) -> HttpResponse:
        rows = [
            ("Tracking mode", settings.TRACKING_MODE),
            ("Do-Not-Contact revokes tracking", settings.DNC_REVOKES_TRACKING),
            ("Honour Sec-GPC", settings.HONOR_GPC),
            ("Honour DNT", settings.HONOR_DNT),
            ("IPv4 bytes masked", settings.IP_MASK_V4_BYTES),
            ("IPv6 bits masked", settings.IP_MASK_V6_BITS),
            ("Identified hits kept (days)", settings.RETENTION_DAYS),
            ("Anonymous rows and salts kept", "48 hours"),
            ("Consent notice version", settings.CONSENT_NOTICE_VERSION),
            ("Focus frequency cookie", settings.FOCUS_FREQUENCY_COOKIE),
            ("Cookie domain", settings.COOKIE_DOMAIN or "host only"),
            ("Secure cookies", settings.COOKIE_SECURE),
            ("SameSite", settings.COOKIE_SAMESITE),
            ("Tracked sites", ", ".join(settings.TRACKED_SITES) or "none"),
            ("Trusted proxies", ", ".join(map(str, settings.TRUSTED_PROXIES)) or "none"),
        ]
        context = {
            **self.each_context(request),
            "title": "Privacy settings",
            "rows": rows,
            "cookies": registry.REGISTRY,
            "legacy": sorted(registry.LEGACY_COOKIES),
        }
        return TemplateResponse(request, "admin/privacy_settings.html", context)
