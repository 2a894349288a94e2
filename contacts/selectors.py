from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact

from consent.models import ConsentRecord
from consentry.kinds import kinds
from contacts.dnc_view import dnc_view
from contacts.models import Contact, Device, DoNotContact


def contact_is_dnc(*, contact: Contact, channel: str | None = None) -> bool:
    """Read fresh from the database on every call: a Do-Not-Contact is honoured at once."""
    entries = DoNotContact.objects.filter(contact_id=contact.pk)
    if channel is not None:
        entries = entries.filter(channel=channel)
    return entries.exists()


# Asked on every identified hit: written out, since building it through the ORM costs about
# five times what PostgreSQL spends answering it. Names from the models, values as parameters.
_DEVICE_DNC_SQL = (
    f"SELECT EXISTS (SELECT 1 FROM {DoNotContact._meta.db_table} dnc"  # noqa: S608
    f" JOIN {Device._meta.db_table} device ON device.contact_id = dnc.contact_id"
    " WHERE device.public_id = %s)"
)


def device_is_dnc(*, public_id: str) -> bool:
    """Is the contact behind this device on Do-Not-Contact (any channel)? Asked on every
    identified hit: from this process's view when it has one (contacts/dnc_view.py, a change
    is honoured within milliseconds of its commit), otherwise one indexed join."""
    known = dnc_view.device_on_dnc(public_id)
    if known is not None:
        return known
    with connection.cursor() as cursor:
        cursor.execute(_DEVICE_DNC_SQL, [public_id])
        row = cursor.fetchone()
    return bool(row and row[0])


def _email_is(email: str) -> tuple[Exact[str], Q]:
    """Filters for contacts with this email, any case: written as the unique index on
    LOWER(email) (for non-empty emails) is, so that PostgreSQL looks the contact up instead of
    scanning them all."""
    return Exact(Lower("email"), Lower(Value(email.strip()))), ~Q(email="")


def contact_get_by_email(*, email: str) -> Contact | None:
    if not email.strip():
        return None
    return Contact.objects.filter(*_email_is(email)).first()


def device_get(*, public_id: str) -> Device | None:
    return Device.objects.select_related("contact").filter(public_id=public_id).first()


def device_owner(*, public_id: str | None) -> Contact | None:
    """The contact a browser's device is tied to, if it has a device and the device an owner:
    a choice that browser makes is recorded as theirs."""
    device = device_get(public_id=public_id) if public_id else None
    return device.contact if device else None


def contact_list(
    *,
    email: str | None = None,
    dnc: bool | None = None,
    consent: str | None = None,
    updated_since: dt.datetime | None = None,
) -> QuerySet[Contact]:
    """Contacts with their Do-Not-Contact flag and current tracking consent, filterable."""
    newest = ConsentRecord.objects.filter(contact=OuterRef("pk"), purpose="tracking").order_by(
        "-created_at", "-id"
    )
    contacts = Contact.objects.annotate(
        on_dnc=Exists(DoNotContact.objects.filter(contact=OuterRef("pk"))),
        tracking_consent=Subquery(newest.values("action")[:1]),
    ).order_by("id")
    if email and email.strip():
        contacts = contacts.filter(*_email_is(email))
    if dnc is not None:
        contacts = contacts.filter(on_dnc=dnc)
    if consent == "none":
        contacts = contacts.filter(tracking_consent__isnull=True)
    elif consent:
        contacts = contacts.filter(tracking_consent=consent)
    if updated_since is not None:
        contacts = contacts.filter(updated_at__gte=updated_since)
    return contacts


def contact_activity(*, contact: Contact, limit: int = 500) -> list[dict[str, Any]]:
    """The contact's timeline, newest first: the rows of every counted kind (page hits, emails
    sent, opened and clicked, form submissions, focus items, downloads, …) and consent changes."""
    items: list[dict[str, Any]] = []

    def add(kind: str, at: Any, **detail: Any) -> None:
        if at is not None:
            items.append({"type": kind, "at": at, "detail": detail})

    for counted in kinds():
        if counted.timeline is None:
            continue
        rows = (
            counted.model._default_manager.filter(**{counted.owner: contact})
            .select_related(*counted.timeline_related)
            .order_by(counted.timeline_order)[:limit]
        )
        for row in rows:
            kind, detail = counted.timeline(row)
            add(kind, getattr(row, counted.timeline_time), **detail)
    for rec in ConsentRecord.objects.filter(contact=contact).order_by("-created_at")[:limit]:
        add("consent", rec.created_at, purpose=rec.purpose, action=rec.action, source=rec.source)
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


# A contact's own columns: a form field mapped to one of these is not a custom field.
CORE_FIELDS = ("email", "first_name", "last_name")


@dataclass(frozen=True)
class CustomField:
    """A custom field as the contact editor shows it: `type` is a form field's type."""

    alias: str
    label: str
    type: str = "text"
    choices: tuple[str, ...] = ()


def contact_custom_fields(*, contact: Contact | None = None) -> list[CustomField]:
    """The custom fields to edit on a contact. There is no separate definition to keep in
    step: a custom field exists because a form maps a field to it (labelled and typed as the
    first such form field), or because the contact holds a value under it (from an import or
    the API), shown by its name as text."""
    from forms.models import CONSENT_TYPES, Field

    mapped = (
        Field.objects.exclude(contact_field__in=("", *CORE_FIELDS))
        .exclude(type__in=CONSENT_TYPES)
        .order_by("form_id", "order", "id")
    )
    defined: dict[str, CustomField] = {}
    for field in mapped:
        defined.setdefault(
            field.contact_field,
            CustomField(
                alias=field.contact_field,
                label=field.label,
                type=field.type,
                choices=tuple(field.choices()),
            ),
        )
    for alias in sorted((contact.fields or {}) if contact is not None else {}):
        label = alias.replace("_", " ")
        defined.setdefault(alias, CustomField(alias=alias, label=label[:1].upper() + label[1:]))
    return list(defined.values())


@dataclass(frozen=True)
class ErasureLine:
    """What erasing a contact does to one kind of record: `kept` rows stay in the counts,
    attributed to no one; the others are deleted."""

    label: str
    count: int
    kept: bool = False


@dataclass(frozen=True)
class ErasurePreview:
    contact: Contact
    lines: list[ErasureLine]


def contact_erasure_preview(*, contacts: Iterable[Contact]) -> list[ErasurePreview]:
    """What contact_erase would remove for each contact, counted the way it finds them: its
    devices, Do-Not-Contact entries and consent records, and the rows of every counted kind."""
    from contacts.rights import _consent_records

    previews = []
    for contact in contacts:
        lines = [
            ErasureLine("devices", contact.devices.count()),
            ErasureLine("Do-Not-Contact entries", contact.dnc_entries.count()),
            ErasureLine("consent records", _consent_records(contact=contact).count()),
        ]
        for kind in kinds():
            owned = Q(**{kind.owner: contact})
            if kind.device:
                owned |= Q(**{f"{kind.device}__contact": contact})
            lines.append(
                ErasureLine(
                    str(kind.model._meta.verbose_name_plural),
                    kind.model._default_manager.filter(owned).count(),
                    kept=kind.erase_detach is not None,
                )
            )
        previews.append(ErasurePreview(contact=contact, lines=lines))
    return previews
