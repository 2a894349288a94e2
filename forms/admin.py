from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from forms.exports import submissions_csv
from forms.models import Field, Form, Submission


class FieldInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Field
    extra = 0
    fields = [
        ("label", "alias", "type", "required", "order"),
        ("default", "contact_field"),
        "options",
        ("max_length", "min_value", "max_value"),
        "notice_version",
    ]


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "published",
        "set_cookie_on_submission",
        "kiosk",
        "double_opt_in",
        "submission_count",
    ]
    list_filter = ["published", "set_cookie_on_submission", "kiosk", "double_opt_in"]
    search_fields = ["name"]
    inlines = [FieldInline]
    readonly_fields = ["embed_code", "preview"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "published",
                    "submit_label",
                    "success_message",
                    "redirect_url",
                    "allowed_origins",
                ]
            },
        ),
        (
            "Privacy",
            {
                "fields": ["set_cookie_on_submission", "kiosk", "double_opt_in"],
                "description": "With the switch off, a submission never sets a cookie. "
                "On, it sets the device cookie only if the visitor consents (or the "
                "tracking mode is 'always'); kiosk embeds never do. With double opt-in, "
                "a ticked email-consent box sends a confirmation link, and email consent "
                "is recorded only when it is confirmed.",
            },
        ),
        ("Embed", {"fields": ["embed_code", "preview"]}),
    ]

    @admin.display(description="submissions")
    def submission_count(self, obj: Form) -> int:
        return obj.submissions.count()

    @admin.display(description="embed code")
    def embed_code(self, obj: Form) -> str:
        if not obj.pk:
            return "Save the form first."
        # Absolute: the code is pasted on the customer's own site.
        url = f"{settings.PUBLIC_URL}{reverse('form-generate-js')}?id={obj.pk}"
        return format_html('<code>&lt;script src="{}"&gt;&lt;/script&gt;</code>', url)

    @admin.display(description="live preview")
    def preview(self, obj: Form) -> str:
        if not obj.pk:
            return "Save the form first."
        url = reverse("form-embed", args=[obj.pk])
        return format_html(
            '<iframe src="{}" title="preview" style="width:100%;min-height:420px;'
            'border:1px solid #ccc" sandbox=""></iframe>',
            url,
        )


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "form", "contact", "created_at", "kiosk", "identified"]
    list_filter = ["form", "kiosk", "identified"]
    readonly_fields = ["form", "contact", "data", "kiosk", "identified", "created_at"]
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Export the selected submissions as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Submission]) -> HttpResponse:
        body = submissions_csv(submissions=queryset.select_related("form", "contact"))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="submissions.csv"'
        return response
