from __future__ import annotations

from contacts.models import Contact, Device, DoNotContact


def contact_is_dnc(*, contact: Contact, channel: str | None = None) -> bool:
    """Read fresh from the database on every call: a Do-Not-Contact is honoured at once."""
    entries = DoNotContact.objects.filter(contact_id=contact.pk)
    if channel is not None:
        entries = entries.filter(channel=channel)
    return entries.exists()


def device_is_dnc(*, public_id: str) -> bool:
    """Is the contact behind this device on Do-Not-Contact (any channel)? One indexed join."""
    return DoNotContact.objects.filter(contact__devices__public_id=public_id).exists()


def contact_get_by_email(*, email: str) -> Contact | None:
    return Contact.objects.filter(email__iexact=email.strip()).first()


def device_get(*, public_id: str) -> Device | None:
    return Device.objects.select_related("contact").filter(public_id=public_id).first()
