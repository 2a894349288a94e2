from __future__ import annotations

from typing import TYPE_CHECKING

from consent.models import ConsentRecord

if TYPE_CHECKING:
    from contacts.models import Contact


def consent_state(*, contact: Contact, purpose: str) -> str | None:
    """The newest action recorded for this contact and purpose, or None when never asked."""
    return (
        ConsentRecord.objects.filter(contact_id=contact.pk, purpose=purpose)
        .order_by("-created_at", "-id")
        .values_list("action", flat=True)
        .first()
    )


def consent_history(*, contact: Contact) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(contact_id=contact.pk).order_by("created_at", "id"))
