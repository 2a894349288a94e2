from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from pages.models import Asset, LandingPage
from pages.services import asset_upload_check


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
    list_display = ["title", "slug", "published", "link"]
    search_fields = ["title", "slug"]
    fields = ["title", "slug", "published", "body", "form", "focus"]

    @admin.display(description="page")
    def link(self, obj: LandingPage) -> str:
        url = reverse("landing", args=[obj.slug])
        return format_html('<a href="{}">{}</a>', url, url)
