from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from pages.models import Asset, LandingPage
from pages.services import asset_upload_check, landing_pages_publish


class AssetForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Asset
        fields = ["title", "slug", "file", "published"]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload and hasattr(upload, "size") and not getattr(upload, "_committed", True):
            self.upload_facts = asset_upload_check(upload=upload)
        return upload


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = AssetForm
    list_display = ["title", "slug", "original_name", "size", "published", "link"]
    search_fields = ["title", "slug"]

    def save_model(self, request: HttpRequest, obj: Asset, form: Any, change: bool) -> None:
        facts = getattr(form, "upload_facts", None)
        if facts is not None:
            obj.original_name, obj.content_type = facts
            obj.size = obj.file.size
        super().save_model(request, obj, form, change)

    @admin.display(description="download link")
    def link(self, obj: Asset) -> str:
        url = reverse("asset", args=[obj.slug])
        return format_html('<a href="{}">{}</a>', url, url)


@admin.register(LandingPage)
class LandingPageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["title", "slug", "published", "updated_at", "link"]
    list_filter = ["published"]
    search_fields = ["title", "slug"]
    fields = ["title", "slug", "published", "body", "form", "focus"]
    prepopulated_fields = {"slug": ["title"]}
    actions = ["publish", "unpublish"]

    @admin.display(description="on the site")
    def link(self, obj: LandingPage) -> str:
        url = obj.get_absolute_url()
        # An unpublished page answers only to staff: say so, or the link looks broken to
        # whoever passes it on.
        label = "View on site" if obj.published else "Preview (staff only)"
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, label)

    @admin.action(description="Publish the selected pages", permissions=["change"])
    def publish(self, request: HttpRequest, queryset: QuerySet[LandingPage]) -> None:
        count = landing_pages_publish(pages=queryset, published=True)
        self.message_user(request, f"{count} page{'s' if count != 1 else ''} published.")

    @admin.action(description="Unpublish the selected pages", permissions=["change"])
    def unpublish(self, request: HttpRequest, queryset: QuerySet[LandingPage]) -> None:
        count = landing_pages_publish(pages=queryset, published=False)
        self.message_user(
            request,
            f"{count} page{'s' if count != 1 else ''} unpublished: visitors now get "
            "a 'page not found'.",
        )
