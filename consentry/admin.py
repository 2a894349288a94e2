"""Tracked sites in the admin: the origins whose pages Consentry counts and whose embeds it
answers, with the origins it refused lately beside them, each a click away from tracked.
Every change reaches every web process within a second (consentry.sites)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_POST

from consentry.env import origin_normalise
from consentry.models import TrackedSite
from consentry.sites import (
    REFUSED_DAYS,
    site_add,
    site_save,
    sites_delete,
    sites_named,
    sites_refused,
    sites_seed,
    sites_switch,
)


class TrackedSiteForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = TrackedSite
        fields = ["origin", "label", "active"]

    def clean_origin(self) -> str:
        try:
            return origin_normalise(self.cleaned_data["origin"])
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


@admin.register(TrackedSite)
class TrackedSiteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = TrackedSiteForm
    list_display = ["origin", "label", "active", "named_in_settings", "created_at"]
    list_filter = ["active"]
    search_fields = ["origin", "label"]
    actions = ["activate", "deactivate"]
    change_list_template = "admin/consentry/trackedsite/change_list.html"

    @admin.display(description="in TRACKED_SITES", boolean=True)
    def named_in_settings(self, site: TrackedSite) -> bool:
        return site.origin in sites_named()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A site is its origin: another origin is another site (add it).
        return ["origin", "created_at"] if obj is not None else []

    def get_urls(self) -> list[URLPattern]:
        track = path(
            "track/",
            self.admin_site.admin_view(require_POST(self.track)),
            name="consentry_trackedsite_track",
        )
        return [track, *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # TRACKED_SITES' origins are tracked from the first request; here they are listed
        # (by someone who may add sites: a view-only user's reading writes nothing).
        if self.has_add_permission(request):
            sites_seed()
        context = {
            **(extra_context or {}),
            "refused": sites_refused(),
            "refused_days": REFUSED_DAYS,
            "can_track": self.has_add_permission(request),
        }
        return super().changelist_view(request, extra_context=context)

    def track(self, request: HttpRequest) -> HttpResponse:
        """ "Track this site", from the list of refused origins."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        back = HttpResponseRedirect(reverse("admin:consentry_trackedsite_changelist"))
        try:
            site = site_add(origin=request.POST.get("origin", ""))
        except ValueError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        self.message_user(request, f"Now tracking {site.origin}: its next page view counts.")
        return back

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # One by one from the change page, where a site named in TRACKED_SITES cannot be
        # deleted (it would be tracked still): deactivate it instead.
        actions.pop("delete_selected", None)
        return actions

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.origin in sites_named():
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: TrackedSite, form: Any, change: bool) -> None:
        site_save(site=obj)

    def delete_model(self, request: HttpRequest, obj: TrackedSite) -> None:
        sites_delete(sites=TrackedSite.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[TrackedSite]) -> None:
        sites_delete(sites=queryset.exclude(origin__in=sites_named()))

    @admin.action(description="Activate the selected sites", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[TrackedSite]) -> None:
        changed = sites_switch(sites=queryset, active=True)
        self.message_user(request, f"{changed} site(s) activated: their hits count again.")

    @admin.action(description="Deactivate the selected sites", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[TrackedSite]) -> None:
        changed = sites_switch(sites=queryset, active=False)
        self.message_user(request, f"{changed} site(s) deactivated: their hits are refused.")
