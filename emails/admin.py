from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from contacts.services import contact_upsert
from emails.models import Email, EmailSend, Recipient
from emails.selectors import email_stats
from emails.services import email_send


@admin.register(Email)
class EmailAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "subject", "updated_at", "figures"]
    search_fields = ["name", "subject"]
    readonly_fields = ["preview", "figures"]
    fields = ["name", "subject", "from_name", "from_email", "html", "text", "preview", "figures"]
    actions = ["test_send"]

    @admin.display(description="sent · human opens · machine opens · clicks")
    def figures(self, obj: Email) -> str:
        if not obj.pk:
            return "—"
        s = email_stats(email=obj)
        return f"{s.sent} · {s.human_opens} · {s.machine_opens} · {s.clicks}"

    @admin.display(description="preview")
    def preview(self, obj: Email) -> str:
        if not obj.pk:
            return "Save the email first."
        # The HTML is shown in a sandboxed frame: it cannot run script in the admin.
        return format_html(
            '<iframe sandbox="" srcdoc="{}" title="preview" style="width:100%;'
            'min-height:420px;border:1px solid #ccc"></iframe>',
            obj.html,
        )

    def has_send_permission(self, request: HttpRequest) -> bool:
        # A test send is a send (and files the sender as a contact): not for a view-only user.
        return request.user.has_perms(["emails.add_emailsend", "contacts.add_contact"])

    @admin.action(description="Send a test to yourself", permissions=["send"])
    def test_send(self, request: HttpRequest, queryset: QuerySet[Email]) -> None:
        address = getattr(request.user, "email", "")
        if not address:
            messages.error(request, "Your user has no email address.")
            return
        me = contact_upsert(email=address)
        for email in queryset:
            email_send(email=email, contacts=[me])
        messages.success(request, f"Test sent to {address}.")


@admin.register(EmailSend)
class EmailSendAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["email", "created_at", "external", "recipients_link"]

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
