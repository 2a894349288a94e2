"""Reads of dynamic web content: what a slot shows, and what the filters may know of a
contact."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from consent.models import Purpose
from consent.selectors import consent_state
from contacts.models import Channel, Contact, DoNotContact
from dwc.models import Item, Variant


@dataclass(frozen=True, slots=True)
class VariantShown:
    id: int
    content: str
    filters: list[dict[str, object]]


@dataclass(frozen=True, slots=True)
class SlotShown:
    slot_id: int
    item_id: int
    content: str
    # Published variants, first to try first.
    variants: tuple[VariantShown, ...]


def slots_shown(*, names: list[str]) -> dict[str, SlotShown]:
    """The published default item of each named slot that has one, with its published
    variants, in two queries whatever the number of slots."""
    items = (
        Item.objects.filter(slot__name__in=names, is_default=True, published=True)
        .select_related("slot")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=Variant.objects.filter(published=True).order_by("priority", "id"),
                to_attr="shown",
            )
        )
    )
    return {
        item.slot.name: SlotShown(
            slot_id=item.slot_id,
            item_id=item.pk,
            content=item.content,
            variants=tuple(
                VariantShown(id=v.pk, content=v.content, filters=list(v.filters))
                for v in getattr(item, "shown", [])
            ),
        )
        for item in items
    }


def contact_profile(*, contact: Contact) -> dict[str, str]:
    """What a variant's filters may test, as text: the contact's fields and custom fields,
    its newest consent action per purpose, and its Do-Not-Contact per channel."""
    profile = {str(k): "" if v is None else str(v) for k, v in (contact.fields or {}).items()}
    profile.update(email=contact.email, first_name=contact.first_name, last_name=contact.last_name)
    for purpose in Purpose.values:
        profile[f"consent_{purpose}"] = consent_state(contact=contact, purpose=purpose) or ""
    dnc = set(DoNotContact.objects.filter(contact=contact).values_list("channel", flat=True))
    for channel in Channel.values:
        profile[f"dnc_{channel}"] = "true" if channel in dnc else "false"
    return profile
