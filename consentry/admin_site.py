"""The admin site, with a reports dashboard and a page of the effective privacy settings."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from consent import registry
from consentry import admin_reports


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
        return admin_reports.reports(request, site=self)

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
