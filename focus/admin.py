from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from focus.models import FocusItem


@admin.register(FocusItem)
class FocusItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "style", "published", "trigger", "frequency", "views", "conversions"]
    list_filter = ["published", "style"]
    search_fields = ["name", "headline"]
    readonly_fields = ["embed_code", "preview"]
    fieldsets = [
        (None, {"fields": ["name", "published", "style"]}),
        (
            "Content",
            {
                "fields": [
                    "headline",
                    "text",
                    ("background", "foreground", "button_colour"),
                    "button_label",
                    "button_url",
                    "form",
                ],
                "description": "The text may use simple HTML (links, emphasis, lists); "
                "anything else is removed before it is shown.",
            },
        ),
        ("When", {"fields": [("trigger", "trigger_value"), ("frequency", "frequency_minutes")]}),
        ("Embed", {"fields": ["embed_code", "preview"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[FocusItem]:
        items: QuerySet[FocusItem] = super().get_queryset(request)
        human = Q(events__machine=False)
        return items.annotate(
            n_views=Count("events", filter=human & Q(events__kind="view")),
            n_conversions=Count("events", filter=human & Q(events__kind="conversion")),
        )

    @admin.display(description="views", ordering="n_views")
    def views(self, obj: FocusItem) -> int:
        return int(getattr(obj, "n_views", 0))

    @admin.display(description="conversions", ordering="n_conversions")
    def conversions(self, obj: FocusItem) -> int:
        return int(getattr(obj, "n_conversions", 0))

    @admin.display(description="embed code")
    def embed_code(self, obj: FocusItem) -> str:
        if not obj.pk:
            return "Save the item first."
        return format_html(
            '<code>&lt;script src="{}" async&gt;&lt;/script&gt;</code>',
            f"{settings.PUBLIC_URL}{reverse('focus-js', args=[obj.pk])}",
        )

    @admin.display(description="live preview")
    def preview(self, obj: FocusItem) -> str:
        if not obj.pk:
            return "Save the item first."
        return format_html(
            '<iframe src="{}" title="preview" style="width:100%;height:360px;'
            'border:1px solid #ccc"></iframe>',
            reverse("focus-preview", args=[obj.pk]),
        )
