from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet, ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from consent.models import ConsentRecord
from contacts.admin_forms import NEW_NAME, NEW_VALUE, PREFIX, contact_form_for
from contacts.admin_transfer import ContactTransferAdmin
from contacts.models import Contact, DataSubjectRequest, DoNotContact
from contacts.rights import contact_erase
from contacts.selectors import (
    contact_activity,
    contact_custom_fields,
    contact_erasure_preview,
    contact_list,
)
from emails.sendpage import send_flow
from webhooks.events import contact_data
from webhooks.services import webhook_emit

# The confirmation itemises this many contacts (counting costs a few queries each); the
# others are counted, not itemised.
ERASE_PREVIEW_MAX = 100


class DoNotContactInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DoNotContact
    extra = 0
    fields = ["channel", "reason", "comment", "created_at"]
    readonly_fields = ["created_at"]


class ConsentInline(admin.TabularInline):  # type: ignore[type-arg]
    """The contact's consent history: read-only proof, oldest first."""

    model = ConsentRecord
    extra = 0
    can_delete = False
    fields = (
        "created_at",
        "purpose",
        "action",
        "source",
        "notice_version",
        "ip_masked",
        "imported",
        "import_file",
    )
    readonly_fields = fields
    ordering = ["created_at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contact)
class ContactAdmin(ContactTransferAdmin):
    list_display = ["email", "first_name", "last_name", "dnc", "tracking", "updated_at"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["created_at", "updated_at", "timeline"]
    inlines = [DoNotContactInline, ConsentInline]
    actions = ["send_email", "export_csv", "export_personal_data", "erase"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Contact]:
        return contact_list()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # "Erase the selected contacts" is the one way: Django's own "Delete selected" would
        # do the same behind a page that calls the rows kept in the figures deleted.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_form(
        self, request: HttpRequest, obj: Contact | None = None, change: bool = False, **kwargs: Any
    ) -> Any:
        custom = contact_custom_fields(contact=obj)
        kwargs["form"] = contact_form_for(custom, obj.fields if obj is not None else {})
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Contact | None = None) -> Any:
        custom = [PREFIX + field.alias for field in contact_custom_fields(contact=obj)]
        return [
            (None, {"fields": ["email", "first_name", "last_name"]}),
            (
                "Custom fields",
                {
                    "fields": [*custom, NEW_NAME, NEW_VALUE],
                    "description": "The fields forms map to a contact field, and any other "
                    "the contact holds from an import or the API.",
                },
            ),
            ("Activity", {"fields": ["created_at", "updated_at", "timeline"]}),
        ]

    @admin.display(boolean=True, description="do not contact")
    def dnc(self, obj: Contact) -> bool:
        return bool(getattr(obj, "on_dnc", False))

    @admin.display(description="tracking consent")
    def tracking(self, obj: Contact) -> str:
        return str(getattr(obj, "tracking_consent", None) or "—")

    @admin.display(description="activity")
    def timeline(self, obj: Contact) -> str:
        if not obj.pk:
            return "—"
        items = contact_activity(contact=obj, limit=100)
        if not items:
            return "No activity yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    i["at"].strftime("%Y-%m-%d %H:%M"),
                    i["type"].replace("_", " "),
                    ", ".join(f"{k}: {v}" for k, v in i["detail"].items()),
                )
                for i in items
            ),
        )
        return format_html(
            "<table><thead><tr><th>When</th><th>What</th><th>Detail</th></tr>"
            "</thead><tbody>{}</tbody></table>",
            rows,
        )

    # The admin writes through its forms, not the services (a blank input removes a custom
    # field, which contact_update never does): it sends the same webhook events as they would,
    # in the view's transaction, so they go out only if the whole page is saved.
    def save_model(
        self, request: HttpRequest, obj: Contact, form: ModelForm[Contact], change: bool
    ) -> None:
        stored = Contact.objects.filter(pk=obj.pk).first() if change else None
        before = contact_data(stored) if stored is not None else None
        super().save_model(request, obj, form, change)
        after = contact_data(obj)
        if before is None:
            webhook_emit(type="contact.created", data={"contact": after}, contact_id=obj.pk)
        elif after != before:
            webhook_emit(type="contact.updated", data={"contact": after}, contact_id=obj.pk)

    def save_formset(
        self,
        request: HttpRequest,
        form: ModelForm[Contact],
        formset: BaseInlineFormSet[Any, Contact, Any],
        change: bool,
    ) -> None:
        if formset.model is not DoNotContact:
            super().save_formset(request, form, formset, change)
            return
        # The channels as stored, not as typed: a row edited and ticked for deletion alike.
        held = {f.instance.pk: f.initial["channel"] for f in formset.initial_forms}
        removed = [f.initial["channel"] for f in formset.deleted_forms if f.instance.pk]
        super().save_formset(request, form, formset, change)
        contact = form.instance
        added: list[DoNotContact] = list(formset.new_objects)
        for entry, changed in formset.changed_objects:
            if "channel" in changed:  # moved to another channel: off the one, on the other
                removed.append(held[entry.pk])
                added.append(entry)
        for channel in removed:
            webhook_emit(
                type="dnc.removed",
                data={"contact": {"id": contact.pk}, "channel": channel},
                contact_id=contact.pk,
            )
        for entry in added:
            webhook_emit(
                type="dnc.added",
                data={
                    "contact": {"id": contact.pk},
                    "channel": entry.channel,
                    "reason": entry.reason,
                },
                contact_id=contact.pk,
            )

    def delete_model(self, request: HttpRequest, obj: Contact) -> None:
        contact_erase(contact=obj, requested_by=request.user.get_username())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Contact]) -> None:
        for contact in queryset:
            contact_erase(contact=contact, requested_by=request.user.get_username())

    @admin.action(description="Erase the selected contacts (GDPR Art. 17)", permissions=["delete"])
    def erase(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        """First a page that names what will go, then, once confirmed, the erasure: it cannot
        be undone."""
        if request.POST.get("post") == "yes":
            count = len(queryset)
            self.delete_queryset(request, queryset)
            messages.success(
                request,
                f"Erased {count} contact{'s' if count != 1 else ''}, with a tombstone left in "
                "the consent log.",
            )
            return None
        contacts = list(queryset.order_by("email", "pk"))
        back = reverse("admin:contacts_contact_changelist")
        return self._erase_confirmation(request, contacts, back=back, selected=True)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The change page's Delete: the same confirmation as the list's action (Django's own
        would call the kept rows deleted and leave out the consent records)."""
        contact = self.get_object(request, unquote(object_id))
        if contact is None or not self.has_delete_permission(request, contact):
            return super().delete_view(request, object_id, extra_context)  # its 404 or 403
        if request.method == "POST" and request.POST.get("post") == "yes":
            self.log_deletions(request, Contact.objects.filter(pk=contact.pk))
            self.delete_model(request, contact)
            messages.success(request, "Erased, with a tombstone left in the consent log.")
            return HttpResponseRedirect(reverse("admin:contacts_contact_changelist"))
        back = reverse("admin:contacts_contact_change", args=[contact.pk])
        return self._erase_confirmation(request, [contact], back=back, selected=False)

    def _erase_confirmation(
        self, request: HttpRequest, contacts: list[Contact], *, back: str, selected: bool
    ) -> TemplateResponse:
        shown = contacts[:ERASE_PREVIEW_MAX]
        return TemplateResponse(
            request,
            "admin/contacts/contact/erase_confirm.html",
            {
                **self.admin_site.each_context(request),
                "title": "Erase contacts" if selected else f"Erase {contacts[0]}",
                "opts": self.model._meta,
                "previews": contact_erasure_preview(contacts=shown),
                "count": len(contacts),
                "unlisted": len(contacts) - len(shown),
                # The list's action posts its selection back; the change page posts to itself.
                "ids": [contact.pk for contact in contacts] if selected else [],
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
                "back": back,
            },
        )

    def has_send_permission(self, request: HttpRequest) -> bool:
        """Sending is the API's send operation, with the emails it offers in sight."""
        return request.user.has_perms(["emails.add_emailsend", "emails.view_email"])

    @admin.action(description="Send an email to the selected contacts", permissions=["send"])
    def send_email(self, request: HttpRequest, queryset: QuerySet[Contact]) -> HttpResponse | None:
        count = queryset.count()
        return send_flow(
            request=request,
            context=self.admin_site.each_context(request),
            contacts=Contact.objects.filter(pk__in=queryset.values("pk")),
            hidden=[
                ("action", "send_email"),
                *((ACTION_CHECKBOX_NAME, str(pk)) for pk in queryset.values_list("pk", flat=True)),
            ],
            described=f"{count} selected contact{'s' if count != 1 else ''}",
        )


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["kind", "contact_ref", "received_at", "completed_at", "requested_by"]
    list_filter = ["kind"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
