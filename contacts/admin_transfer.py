"""The contacts admin's import and export: the CSV upload (the same engine as
`manage.py contacts_import`), the CSV export of the selected contacts, and the data-subject
export of one contact, logged as the API's is."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path

from contacts.exports import contacts_csv_response
from contacts.imports import ImportRefused, contacts_import, mapping_parse
from contacts.models import Contact
from contacts.rights import contact_export
from contacts.selectors import contact_list

# Read whole into memory: 100,000 Mautic contacts are about 20 MB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_IMPORT_PERMS = (
    "contacts.add_contact",
    "contacts.change_contact",
    "contacts.add_donotcontact",
    "consent.add_consentrecord",
)


class ContactImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV with a header row; Mautic's export reads as is.")
    mapping = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text=(
            "One column=target a line, for columns whose names are not the usual ones "
            "(e.g. Mail=email, Opted in=consent_action, Company=field:company)."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_UPLOAD_BYTES} bytes.")
        return upload

    def clean_mapping(self) -> dict[str, str]:
        try:
            return mapping_parse(lines=self.cleaned_data["mapping"].splitlines())
        except ImportRefused as exc:
            raise forms.ValidationError(str(exc)) from None


class ContactTransferAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_template = "admin/contacts/contact/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        upload = path(
            "import/",
            self.admin_site.admin_view(self.import_view),
            name="contacts_contact_import",
        )
        return [upload, *super().get_urls()]

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(_IMPORT_PERMS)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("contacts.view_contact")

    def has_personal_export_permission(self, request: HttpRequest) -> bool:
        # Logged as a data-subject request: a write, as for the API's export.
        return request.user.has_perms(["contacts.view_contact", "contacts.add_datasubjectrequest"])

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        extra = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context=extra)

    @admin.action(description="Export the selected contacts as CSV", permissions=["export"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Contact]
    ) -> StreamingHttpResponse:
        return contacts_csv_response(contacts=contact_list().filter(pk__in=queryset.values("pk")))

    @admin.action(
        description="Export everything held about the selected contact (GDPR Art. 15, 20)",
        permissions=["personal_export"],
    )
    def export_personal_data(
        self, request: HttpRequest, queryset: QuerySet[Contact]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.error(request, "Choose one contact: the export is of one person's data.")
            return None
        contact = queryset.get()
        document = contact_export(contact=contact, requested_by=request.user.get_username())
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, indent=2),
            content_type="application/json",
        )
        response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
        return response

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_import_permission(request):
            raise PermissionDenied
        report = None
        refused = ""
        form = ContactImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = contacts_import(
                    data=upload.read(),
                    file_name=upload.name,
                    mapping=form.cleaned_data["mapping"],
                    dry_run="import" not in request.POST,
                )
            except ImportRefused as exc:
                refused = str(exc)
        return render(
            request,
            "admin/contacts/contact/import.html",
            {
                **self.admin_site.each_context(request),
                "title": "Import contacts",
                "opts": self.model._meta,
                "form": form,
                "report": report,
                "refused": refused,
            },
        )
