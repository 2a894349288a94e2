"""Dead letters in the admin: pipeline events that could not be stored, with their error.
Read here, re-driven with the action (or `manage.py tracker_redrive`), or discarded."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from tracker.models import DeadLetter


@admin.register(DeadLetter)
class DeadLetterAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["created_at", "kind", "source", "tries", "error_start", "event_id"]
    list_filter = ["kind", "source"]
    readonly_fields = [
        "created_at",
        "updated_at",
        "source",
        "stream_id",
        "event_id",
        "kind",
        "tries",
        "error",
        "payload_shown",
    ]
    exclude = ["payload"]
    actions = ["redrive"]

    @admin.display(description="payload (tokens and device ids hidden)")
    def payload_shown(self, letter: DeadLetter) -> str:
        return letter.payload_shown()

    @admin.display(description="error")
    def error_start(self, letter: DeadLetter) -> str:
        return letter.error[:120]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Store the selected events again", permissions=["change"])
    def redrive(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        from tracker.store import deadletters_redrive

        result = deadletters_redrive(ids=list(queryset.values_list("pk", flat=True)))
        level = messages.SUCCESS if not result.failed else messages.WARNING
        self.message_user(
            request, f"Stored {result.stored}; still failing {result.failed}.", level=level
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Nothing of a dead letter is edited; "change" is the permission to re-drive.
        return obj is None and super().has_change_permission(request, obj)
