"""The admin site: a home that is a dashboard (consentry/dashboard.py), the reports, a page of
the effective privacy settings, and the apps with authentication and API tokens last."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from api.permissions import rollups_refresh_allowed
from consent import registry
from consentry import admin_reports, dashboard, sites
from tracker.reports import today_utc
from tracker.rollups import rollup_recent

# Set up once and rarely opened again: after the apps an operator works in every day.
LAST_APPS = ("auth", "authtoken")


class ConsentryAdminSite(admin.AdminSite):
    site_header = "Consentry"
    site_title = "Consentry"
    index_title = "Tracking, consent and contacts"

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context: dict[str, Any] = super().each_context(request)
        context["site_url"] = dashboard.site_url_read()
        return context

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[dict[str, Any]]:
        apps: list[dict[str, Any]] = super().get_app_list(request, app_label)
        # A stable sort: the others keep Django's alphabetical order.
        return sorted(
            apps,
            key=lambda app: (
                LAST_APPS.index(app["app_label"]) if app["app_label"] in LAST_APPS else -1
            ),
        )

    def index(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        # As the reports page does: today's page figures include the hits of the last minutes.
        if rollups_refresh_allowed(user=request.user):
            rollup_recent()
        home = dashboard.home_read(user=request.user, today=today_utc())
        return super().index(request, {**(extra_context or {}), "home": home})

    def get_urls(self) -> list[URLPattern]:  # type: ignore[override]
        extra = [
            path("reports/", self.admin_view(self.reports), name="reports"),
            path(
                "privacy-settings/", self.admin_view(self.privacy_settings), name="privacy-settings"
            ),
        ]
        return extra + super().get_urls()  # type: ignore[operator]

    def reports(self, request: HttpRequest) -> HttpResponse:
        return admin_reports.reports(request, site=self)

    def privacy_settings(self, request: HttpRequest) -> HttpResponse:
        rows = [
            # What the choices page tells a visitor: who decides, how to reach them, the policy.
            ("Controller", settings.CONTROLLER_NAME or "not set: the choices page names no one"),
            ("Controller contact", settings.CONTROLLER_CONTACT or "not set"),
            (
                "Privacy policy",
                settings.PRIVACY_POLICY_URL or "not set: the choices page links none",
            ),
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
            ("Tracked sites", ", ".join(sorted(sites.sites_tracked())) or "none"),
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
