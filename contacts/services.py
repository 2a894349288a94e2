from __future__ import annotations

from types import EllipsisType
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from consent.gate import device_new_id
from consentry.kinds import kinds
from contacts.dnc_view import dnc_view
from contacts.models import DUPLICATE_EMAIL, Channel, Contact, Device, DncReason, DoNotContact
from contacts.selectors import contact_get_by_email

_CONTACT_FIELDS = ("first_name", "last_name")


def contact_upsert(
    *,
    email: str,
    fields: dict[str, Any] | None = None,
    found: Contact | EllipsisType | None = ...,
    **names: str,
) -> Contact:
    """Create the contact for an email (matched case-insensitively) or update it.

    `found`: what contact_get_by_email answered the caller for this email a moment ago, when
    it asked (a form submission asks first, for the gate): not read a second time."""
    email = email.strip()
    if not email:
        raise ValueError("a contact needs an email to be upserted")
    unknown = set(names) - set(_CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown contact fields: {', '.join(sorted(unknown))}")
    for attempt in range(2):
        # A contact created since the caller looked makes the insert fail: read it then.
        contact = found if attempt == 0 and found is not ... else contact_get_by_email(email=email)
        if contact is None:
            try:
                with transaction.atomic():
                    contact = Contact.objects.create(email=email, fields=fields or {}, **names)
                    _contact_hook("contact.created", contact)
                    return contact
            except IntegrityError:
                continue  # a concurrent request created it first: update that one
        return _contact_change(contact=contact, fields=fields, names=names)
    raise RuntimeError(f"could not upsert contact {email!r}")


def _contact_change(
    *,
    contact: Contact,
    fields: dict[str, Any] | None,
    names: dict[str, str],
    before: dict[str, Any] | None = None,
) -> Contact:
    """Apply names and custom fields (merged) and save; contact.updated when anything changed,
    in the same transaction as the change."""
    with transaction.atomic():
        if before is None:
            before = _contact_hook_data(contact)
        for name, value in names.items():
            setattr(contact, name, value)
        if fields:
            contact.fields = {**contact.fields, **fields}
        contact.save()
        if _contact_hook_data(contact) != before:
            _contact_hook("contact.updated", contact)
    return contact


def _contact_hook_data(contact: Contact) -> dict[str, Any]:
    from webhooks.events import contact_data

    return contact_data(contact)


def _contact_hook(event: str, contact: Contact) -> None:
    from webhooks.services import webhook_emit

    webhook_emit(type=event, data={"contact": _contact_hook_data(contact)}, contact_id=contact.pk)


def contact_update(
    *,
    contact: Contact,
    email: str | None = None,
    fields: dict[str, Any] | None = None,
    **names: str,
) -> Contact:
    """Change a contact's email, names or custom fields (merged into the ones it has).

    Raises ValidationError when another contact holds the new email: an email names one contact.
    """
    unknown = set(names) - set(_CONTACT_FIELDS)
    if unknown:
        raise TypeError(f"unknown contact fields: {', '.join(sorted(unknown))}")
    # What the contact was before any of the change, the email included: one event for it all.
    before = _contact_hook_data(contact)
    if email is not None and email.lower() != contact.email.lower():
        if contact_get_by_email(email=email) is not None:
            raise ValidationError({"email": [DUPLICATE_EMAIL]})
        contact.email = email
    return _contact_change(contact=contact, fields=fields, names=names, before=before)


def device_create(*, contact: Contact | None = None) -> Device:
    return Device.objects.create(public_id=device_new_id(), contact=contact)


def device_link(*, device: Device, contact: Contact, browser_key: str = "") -> Device:
    """Tie a device to a contact, and the hits it made with a permit before, so the contact's
    timeline is whole. Only identified rows carry a device: anonymous counting is untouched.

    `browser_key` is the key in the browser's consent cookie, if it holds one: the device
    remembers it (one-way, as consent records do) so that the choices this browser made
    before it was identified reach the contact's export and erasure."""
    from consent.services import browser_key_hash

    changed = []
    if browser_key and device.browser_key != (hashed := browser_key_hash(browser_key)):
        device.browser_key = hashed
        changed.append("browser_key")
    if device.contact_id != contact.pk:
        device.contact = contact
        changed.append("contact")
        for kind in kinds():
            if kind.device and kind.owner == "contact":
                kind.model._default_manager.filter(
                    **{kind.device: device, "contact__isnull": True}
                ).update(contact=contact)
    if changed:
        device.save(update_fields=changed)
    return device


def dnc_add(
    *,
    contact: Contact,
    channel: str = Channel.EMAIL,
    reason: str = DncReason.MANUAL,
    comment: str = "",
) -> DoNotContact:
    """Idempotent: a second add for the same channel keeps the first entry and its time."""
    from webhooks.services import webhook_emit

    with transaction.atomic():
        entry, created = DoNotContact.objects.get_or_create(
            contact=contact, channel=channel, defaults={"reason": reason, "comment": comment}
        )
        if created:
            dnc_view.changed(contact.pk)
            webhook_emit(
                type="dnc.added",
                data={"contact": {"id": contact.pk}, "channel": channel, "reason": reason},
                contact_id=contact.pk,
            )
    return entry


def dnc_remove(*, contact: Contact, channel: str = Channel.EMAIL) -> bool:
    from webhooks.services import webhook_emit

    with transaction.atomic():
        deleted, _ = DoNotContact.objects.filter(contact=contact, channel=channel).delete()
        if deleted:
            dnc_view.changed(contact.pk)
            webhook_emit(
                type="dnc.removed",
                data={"contact": {"id": contact.pk}, "channel": channel},
                contact_id=contact.pk,
            )
    return deleted > 0
