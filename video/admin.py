from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.db.models import Count, Q, QuerySet, Sum
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from video.models import Video


@admin.register(Video)
class VideoAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "url", "published", "form", "gate_seconds", "plays", "watched"]
    list_filter = ["published"]
    search_fields = ["name", "url"]
    readonly_fields = ["embed_code"]
    fieldsets = [
        (None, {"fields": ["name", "url", "published"]}),
        (
            "Gate",
            {
                "fields": ["form", "gate_seconds"],
                "description": "The form shows over the player at this second and the video "
                "pauses; once the visitor submits the form (stored like any other "
                "submission), the video plays on. Nothing is stored on the visitor's device.",
            },
        ),
        ("Embed", {"fields": ["embed_code"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Video]:
        videos: QuerySet[Video] = super().get_queryset(request)
        people = Q(hits__machine=False)
        return videos.annotate(
            n_plays=Count("hits", filter=people), n_seconds=Sum("hits__seconds", filter=people)
        )

    @admin.display(description="plays", ordering="n_plays")
    def plays(self, obj: Video) -> int:
        return int(getattr(obj, "n_plays", 0) or 0)

    @admin.display(description="seconds watched", ordering="n_seconds")
    def watched(self, obj: Video) -> int:
        return int(getattr(obj, "n_seconds", 0) or 0)

    @admin.display(description="embed code")
    def embed_code(self, obj: Video) -> str:
        script = f"{settings.PUBLIC_URL}{reverse('video-gate-js')}"
        return format_html(
            "<p>Once on every page with the video, after the player:</p>"
            '<code>&lt;script src="{}" async&gt;&lt;/script&gt;</code>'
            "<p>The video is found by its address. Mautic's markup works too: "
            '<code>&lt;video data-form-id="N" data-gate-time="S"&gt;</code>.</p>',
            script,
        )
