from __future__ import annotations

from smtplib import SMTPException
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
)
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.clickjacking import xframe_options_sameorigin

from contacts.models import Contact
from emails.models import Email, EmailSend, Recipient
from emails.rendering import message_sample
from emails.selectors import (
    EmailStats,
    Reach,
    email_stats,
    email_was_sent,
    preview_contact_get,
    preview_contacts_recent,
    send_stats,
    sends_stats,
)
from emails.services import email_archive, email_delete, email_test_send, email_unarchive

# The preview frame: the email's markup may not run script nor submit anything, and only this
# admin may frame it. The sandbox directive holds even if the frame is opened on its own.
PREVIEW_POLICY = (
    "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline' https:; "
    "font-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)
PHONE_WIDTH = 390


def percent(share: float | None) -> str:
    """A rate as the admin shows it; "—" when nothing could be counted (no one tracked)."""
    return "—" if share is None else f"{share * 100:.1f} %"


_REACH_HEADS = [
    "Sent",
    "Failed",
    "Skipped",
    "Tracked",
    "Unique opens",
    "Open rate",
    "Unique clicks",
    "Click rate",
    "Click-to-open",
]


def _reach_cells(stats: Reach) -> list[object]:
    return [
        stats.sent,
        stats.failed,
        stats.skipped,
        stats.tracked,
        stats.unique_opens,
        percent(stats.open_rate),
        stats.unique_clicks,
        percent(stats.click_rate),
        percent(stats.click_to_open),
    ]


def figures_html(*, reach: Reach, email: EmailStats | None = None, sends: Any = ()) -> SafeString:
    """The figures tables of an email's or a send's change page (every value escaped)."""
    tables: list[dict[str, Any]] = [
        {"name": "reach", "heads": _REACH_HEADS, "rows": [{"cells": _reach_cells(reach)}]}
    ]
    if email is not None:
        sources = list(email.machine_sources.items())
        tables.append(
            {
                "name": "opens",
                "heads": [
                    "Opens by people",
                    "of which anonymous",
                    "Clicks by people",
                    "Machine opens",
                    *(f"… {source}" for source, _ in sources),
                    "Machine clicks",
                ],
                "rows": [
                    {
                        "cells": [
                            email.human_opens,
                            email.anonymous_opens,
                            email.clicks,
                            email.machine_opens,
                            *(n for _, n in sources),
                            email.machine_clicks,
                        ]
                    }
                ],
            }
        )
    rows = [
        {
            "link": reverse("admin:emails_emailsend_change", args=[send.send_id]),
            "cells": [
                f"{send.created_at:%Y-%m-%d %H:%M}" + (" (external)" if send.external else ""),
                *_reach_cells(send),
            ],
        }
        for send in sends
    ]
    if rows:
        tables.append(
            {
                "name": "sends",
                "caption": "Each send",
                "heads": ["Send", *_REACH_HEADS],
                "rows": rows,
            }
        )
    return SafeString(render_to_string("admin/emails/figures.html", {"tables": tables}))


class FigureColumns:
    """Change list columns of an email's or a send's figures (docs/metrics.md, "Email"),
    read once per row however many columns show them."""

    def figures_read(self, obj: Any) -> Reach:
        raise NotImplementedError

    def figures_of(self, obj: Any) -> Reach:
        cached: Reach | None = getattr(obj, "_figures", None)
        if cached is None:
            cached = obj._figures = self.figures_read(obj)
        return cached

    @admin.display(description="sent")
    def sent(self, obj: Any) -> int:
        return self.figures_of(obj).sent

    @admin.display(description="unique opens (rate)")
    def opened(self, obj: Any) -> str:
        stats = self.figures_of(obj)
        return f"{stats.unique_opens} ({percent(stats.open_rate)})"

    @admin.display(description="unique clicks (rate)")
    def clicked(self, obj: Any) -> str:
        stats = self.figures_of(obj)
        return f"{stats.unique_clicks} ({percent(stats.click_rate)})"

    @admin.display(description="click-to-open")
    def click_to_open(self, obj: Any) -> str:
        return percent(self.figures_of(obj).click_to_open)


class TestSendForm(forms.Form):
    to = forms.EmailField(label="Send to", max_length=254)
    contact = forms.CharField(
        label="As read by (contact email or id)",
        required=False,
        max_length=254,
        help_text="Fills the tokens with this contact's fields; leave empty for the defaults. "
        "The contact is not told and nothing is recorded for them.",
    )

    def clean_contact(self) -> Contact | None:
        key = self.cleaned_data["contact"]
        if not key.strip():
            return None
        contact = preview_contact_get(key=key)
        if contact is None:
            raise forms.ValidationError("No contact with that email address or id.")
        return contact


class ArchivedFilter(admin.SimpleListFilter):
    """Archived emails are out of the way unless asked for."""

    title = "archive"
    parameter_name = "archived"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Archived"), ("all", "All")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Current",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Email]) -> QuerySet[Email]:
        if self.value() == "all":
            return queryset
        return queryset.filter(archived_at__isnull=self.value() != "yes")


@admin.register(Email)
class EmailAdmin(FigureColumns, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "subject",
        "updated_at",
        "sent",
        "opened",
        "clicked",
        "click_to_open",
        "machine_opens",
        "archived_at",
    ]
    list_filter = [ArchivedFilter]
    search_fields = ["name", "subject"]
    readonly_fields = ["preview", "figures", "archived_at"]
    # The figures first: after a send, they are what the operator comes for.
    fields = [
        "name",
        "subject",
        "figures",
        "from_name",
        "from_email",
        "basis",
        "html",
        "text",
        "preview",
        "archived_at",
    ]
    actions = ["test_send", "archive", "unarchive"]

    def has_delete_permission(self, request: HttpRequest, obj: Email | None = None) -> bool:
        # A sent email is archived, not deleted (see email_delete).
        if obj is not None and email_was_sent(email=obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Email) -> None:
        email_delete(email=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        for email in queryset:
            email_delete(email=email)

    @admin.action(description="Archive (hide from the list; figures kept)", permissions=["change"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        for email in queryset:
            email_archive(email=email)
        messages.success(request, f"{len(queryset)} archived.")

    @admin.action(description="Bring back from the archive", permissions=["change"])
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        for email in queryset:
            email_unarchive(email=email)
        messages.success(request, f"{len(queryset)} back in the list.")

    def figures_read(self, obj: Email) -> EmailStats:
        return email_stats(email=obj)

    @admin.display(description="machine opens")
    def machine_opens(self, obj: Email) -> int:
        return cast(EmailStats, self.figures_of(obj)).machine_opens

    @admin.display(description="figures")
    def figures(self, obj: Email) -> str:
        if not obj.pk:
            return "—"
        stats = cast(EmailStats, self.figures_of(obj))
        return figures_html(reach=stats, email=stats, sends=sends_stats(email=obj))

    @admin.display(description="preview")
    def preview(self, obj: Email) -> str:
        if not obj.pk:
            return "Save the email first."
        # The rendered message (tokens at their defaults) in a sandboxed frame: it cannot run
        # script in the admin, and it has no pixel nor tracked link, so it counts nothing.
        return format_html(
            '<iframe sandbox="" src="{}" title="Preview" class="email-preview" '
            'style="width:100%;min-height:520px;border:1px solid #ccc"></iframe>'
            '<p><a href="{}">Preview for a contact, at full and at phone width</a> · '
            '<a href="{}">Send a test</a></p>',
            reverse("admin:emails_email_preview_frame", args=[obj.pk]),
            reverse("admin:emails_email_preview", args=[obj.pk]),
            reverse("admin:emails_email_test_send", args=[obj.pk]),
        )

    def has_send_permission(self, request: HttpRequest) -> bool:
        # A test send creates nothing, but it is mail from the operator's sender: not for a
        # view-only user.
        return request.user.has_perm("emails.add_emailsend")

    @admin.action(description="Send a test to yourself", permissions=["send"])
    def test_send(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        address = getattr(request.user, "email", "")
        if not address:
            messages.error(request, "Your user has no email address.")
            return
        for email in queryset:
            try:
                email_test_send(email=email, to=address)
            except (SMTPException, OSError) as exc:
                messages.error(request, f"The test of {email} was not sent: {exc}")
                return
        messages.success(request, f"Test sent to {address}; it counts in no report.")

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/preview/",
                self.admin_site.admin_view(self.preview_view),
                name="emails_email_preview",
            ),
            path(
                "<path:object_id>/preview/frame/",
                self.admin_site.admin_view(self.preview_frame_view),
                name="emails_email_preview_frame",
            ),
            path(
                "<path:object_id>/test-send/",
                self.admin_site.admin_view(self.test_send_view),
                name="emails_email_test_send",
            ),
        ]
        return own + super().get_urls()

    def _email(self, request: HttpRequest, object_id: str) -> Email:
        if not object_id.isdigit() or len(object_id) > 18:
            raise Http404("No such email.")
        email = get_object_or_404(Email, pk=int(object_id))
        if not self.has_view_permission(request, email):
            raise PermissionDenied
        return email

    def _contact(self, request: HttpRequest) -> tuple[Contact | None, str]:
        """The contact named by ?contact=, and what the operator is told when it is not found.
        The preview shows the contact's fields: it needs sight of contacts."""
        key = request.GET.get("contact", "")[:254]
        if not key.strip():
            return None, ""
        if not request.user.has_perm("contacts.view_contact"):
            raise PermissionDenied
        contact = preview_contact_get(key=key)
        return contact, "" if contact else "No contact with that email address or id."

    def preview_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        email = self._email(request, object_id)
        contact, problem = self._contact(request)
        frame = reverse("admin:emails_email_preview_frame", args=[email.pk])
        if contact is not None:
            frame += f"?contact={contact.pk}"
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": email,
            "title": f"Preview: {email}",
            "frame": frame,
            "contact": contact,
            "problem": problem,
            "key": request.GET.get("contact", "")[:254],
            "choices": preview_contacts_recent()
            if request.user.has_perm("contacts.view_contact")
            else [],
            "phone_width": PHONE_WIDTH,
            "subject": message_sample(email=email, contact=contact, to="").subject,
            "test_send": reverse("admin:emails_email_test_send", args=[email.pk]),
        }
        return TemplateResponse(request, "admin/emails/email/preview.html", context)

    @xframe_options_sameorigin
    def preview_frame_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        email = self._email(request, object_id)
        contact, _ = self._contact(request)
        rendered = message_sample(email=email, contact=contact, to="")
        response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = PREVIEW_POLICY
        response["Cache-Control"] = "no-store, private"
        response["Referrer-Policy"] = "no-referrer"
        return response

    def test_send_view(self, request: HttpRequest, object_id: str) -> HttpResponseBase:
        email = self._email(request, object_id)
        if not self.has_send_permission(request):
            raise PermissionDenied
        initial = {"to": getattr(request.user, "email", ""), "contact": request.GET.get("contact")}
        form = TestSendForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            contact = form.cleaned_data["contact"]
            if contact is not None and not request.user.has_perm("contacts.view_contact"):
                raise PermissionDenied
            to = form.cleaned_data["to"]
            try:
                email_test_send(email=email, to=to, contact=contact)
            except (SMTPException, OSError) as exc:
                form.add_error(None, f"The mail server refused the test: {exc}")
            else:
                messages.success(request, f"Test sent to {to}; it counts in no report.")
                return HttpResponseRedirect(reverse("admin:emails_email_change", args=[email.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": email,
            "title": f"Send a test of {email}",
            "form": form,
        }
        return TemplateResponse(request, "admin/emails/email/test_send.html", context)


@admin.register(EmailSend)
class EmailSendAdmin(FigureColumns, admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "email",
        "created_at",
        "external",
        "recipients_link",
        "sent",
        "opened",
        "clicked",
        "click_to_open",
    ]
    readonly_fields = ("email", "external", "created_at", "recipients_link", "figures")
    fields = readonly_fields

    def figures_read(self, obj: EmailSend) -> Reach:
        return send_stats(send=obj)

    # A send is the record of who was mailed and what its figures count: read, never edited
    # nor deleted (its email is archived instead).
    def has_change_permission(self, request: HttpRequest, obj: EmailSend | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: EmailSend | None = None) -> bool:
        return False

    @admin.display(description="figures")
    def figures(self, obj: EmailSend) -> str:
        return figures_html(reach=self.figures_of(obj))

    @admin.display(description="recipients")
    def recipients_link(self, obj: EmailSend) -> str:
        return format_html(
            '<a href="{}?send__id__exact={}">{}</a>',
            reverse("admin:emails_recipient_changelist"),
            obj.pk,
            obj.recipients.count(),
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Recipient)
class RecipientAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["contact", "send", "status", "tracked", "sent_at"]
    list_filter = ["status", "tracked"]
    readonly_fields = ["send", "contact", "status", "tracked", "message_id", "error", "sent_at"]
    exclude = ["token"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
