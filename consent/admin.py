from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from consent.models import ConsentRecord


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Proof of every choice: readable, never added, changed or deleted here."""

    list_display = ["created_at", "contact", "purpose", "action", "source", "notice_version"]
    list_display += ["imported", "import_file"]
    list_filter = ["purpose", "action", "source", "imported"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
