"""The contacts CSV: what a marketer takes out to a spreadsheet or another tool.

Every cell goes through the one formula neutraliser the form exports use, so a name such as
`=HYPERLINK(...)` opens as text. The header uses Mautic's field names where it has them, and
the contact import reads this file back without a mapping (it changes nothing)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone

from consent.models import ConsentRecord, Purpose
from contacts.models import Channel, Contact, DoNotContact
from forms.exports import cell_safe

CHUNK = 2000


class _Line:
    """A file-like object that hands back the line csv.writer just wrote."""

    def write(self, value: str) -> str:
        return value


def contacts_export_rows(*, contacts: QuerySet[Contact]) -> QuerySet[Contact]:
    """The contacts with their current email consent and Do-Not-Contact channels."""
    newest = ConsentRecord.objects.filter(contact=OuterRef("pk"), purpose=Purpose.EMAIL).order_by(
        "-created_at", "-id"
    )
    return contacts.annotate(email_consent=Subquery(newest.values("action")[:1]))


def contacts_csv(*, contacts: QuerySet[Contact]) -> Iterator[str]:
    """Lines of CSV, header first, read in chunks so that a large export streams."""
    rows = contacts_export_rows(contacts=contacts)
    aliases: list[str] = []
    seen: set[str] = set()
    for fields in rows.values_list("fields", flat=True).iterator(chunk_size=CHUNK):
        for alias in fields or {}:
            if alias not in seen:
                seen.add(alias)
                aliases.append(alias)
    channels: list[str] = [Channel.EMAIL, Channel.SMS, Channel.TRACKING]
    writer = csv.writer(_Line())
    yield writer.writerow(
        [
            "email",
            "firstname",
            "lastname",
            *(cell_safe(alias) for alias in aliases),
            "email_consent",
            "tracking_consent",
            *(f"dnc_{channel}" for channel in channels),
            "created_at",
            "updated_at",
        ]
    )
    start = 0
    while True:
        chunk = list(rows[start : start + CHUNK])
        if not chunk:
            return
        start += CHUNK
        dnc: dict[int, set[str]] = {}
        for contact_id, channel in DoNotContact.objects.filter(
            contact_id__in=[c.pk for c in chunk]
        ).values_list("contact_id", "channel"):
            dnc.setdefault(contact_id, set()).add(channel)
        for contact in chunk:
            held = dnc.get(contact.pk, set())
            yield writer.writerow(_row(contact, aliases, held, channels))


def _row(contact: Contact, aliases: list[str], held: set[str], channels: list[str]) -> list[Any]:
    return [
        cell_safe(contact.email),
        cell_safe(contact.first_name),
        cell_safe(contact.last_name),
        *(cell_safe(contact.fields.get(alias, "")) for alias in aliases),
        getattr(contact, "email_consent", None) or "",
        getattr(contact, "tracking_consent", None) or "",
        *("1" if channel in held else "0" for channel in channels),
        contact.created_at.isoformat(),
        contact.updated_at.isoformat(),
    ]


def contacts_csv_response(*, contacts: QuerySet[Contact]) -> StreamingHttpResponse:
    """The CSV as a download, streamed: the API's export and the admin's action."""
    response = StreamingHttpResponse(contacts_csv(contacts=contacts), content_type="text/csv")
    name = f"contacts-{timezone.now():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
