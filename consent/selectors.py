from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import OuterRef, Subquery

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


def consent_states(*, contact_ids: Iterable[int], purpose: str) -> dict[int, str]:
    """consent_state for many contacts in one query: the newest action of each contact that
    was ever asked (contacts never asked are absent)."""
    ids = set(contact_ids)
    if not ids:
        return {}
    newest = (
        ConsentRecord.objects.filter(contact_id=OuterRef("contact_id"), purpose=purpose)
        .order_by("-created_at", "-id")
        .values("id")[:1]
    )
    rows = ConsentRecord.objects.filter(
        contact_id__in=ids, purpose=purpose, id=Subquery(newest)
    ).values_list("contact_id", "action")
    return {int(contact_id): str(action) for contact_id, action in rows}


def consent_history(*, contact: Contact) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(contact_id=contact.pk).order_by("created_at", "id"))
