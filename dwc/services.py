"""Dynamic web content served: the default item to everyone, a variant only to a known
contact with a permit; each slot filled is a counted view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from django.http import HttpRequest

from consent.gate import Decision
from contacts.selectors import device_owner
from dwc.filters import filters_match
from dwc.models import DwcView, Item, Slot, Variant
from dwc.selectors import SlotShown, contact_profile, slots_shown
from tracker.enqueue import event_enqueue
from tracker.services import counted_event
from tracker.store import counted_rows_store

# Richer than a focus item's text (a slot may hold a banner), still no script, style, form,
# iframe or event handler: the script puts this HTML into the host page.
_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "span", "small", "div",
    "h2", "h3", "h4", "blockquote", "hr", "img",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "*": {"class"},
}


def dwc_content_clean(*, html: str) -> str:
    """Operator HTML reduced to a safe subset: no script, no handlers, no javascript: URLs."""
    return nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )


@dataclass(frozen=True, slots=True)
class Filled:
    # Slot name -> the sanitised HTML to show, or None: the page keeps its own default.
    contents: dict[str, str | None]
    # The device the response should remember (written only if the decision permits).
    device_id: str | None


def _variant(shown: SlotShown, profile: dict[str, str] | None) -> tuple[int | None, str]:
    if profile is not None:
        for variant in shown.variants:
            if filters_match(filters=variant.filters, profile=profile):
                return variant.id, variant.content
    return None, shown.content


def slots_fill(*, request: HttpRequest, decision: Decision, names: Sequence[str]) -> Filled:
    """Fill the named slots as the decision allows. A variant needs a contact behind a device
    the gate lets this response identify; without a permit every visitor gets the default
    item and the view is counted anonymously (or not at all)."""
    shown = slots_shown(names=list(names))
    profile = None
    if shown and decision.identify and decision.device_id is not None:
        contact = device_owner(public_id=decision.device_id)
        profile = contact_profile(contact=contact) if contact is not None else None
    device_id = decision.device_id
    contents: dict[str, str | None] = {}
    for name in names:
        slot = shown.get(name)
        if slot is None:
            contents[name] = None
            continue
        variant_id, html = _variant(slot, profile)
        contents[name] = dwc_content_clean(html=html)
        if decision.count:
            fields: dict[str, object] = {"ds": slot.slot_id, "di": slot.item_id}
            if variant_id is not None:
                fields["dv"] = variant_id
            event, identity = counted_event(
                request=request, decision=decision, kind="dwc", **fields
            )
            event_enqueue(event)
            device_id = identity.device_id or device_id
    return Filled(contents=contents, device_id=device_id)


def dwc_views_store(events: Sequence[dict[str, Any]]) -> int:
    """Slot views from the pipeline (their fields checked by the registry); a slot deleted
    since counts nothing, an item or variant deleted since is forgotten from the row."""
    slots = set(
        Slot.objects.filter(id__in={int(e["ds"]) for e in events}).values_list("id", flat=True)
    )
    items = set(
        Item.objects.filter(id__in={int(e["di"]) for e in events}).values_list("id", flat=True)
    )
    asked = {int(e["dv"]) for e in events if e.get("dv") not in (None, "")}
    variants = set(Variant.objects.filter(id__in=asked).values_list("id", flat=True))

    def own(event: dict[str, Any]) -> dict[str, Any] | None:
        if int(event["ds"]) not in slots:
            return None
        item = int(event["di"])
        raw = event.get("dv")
        variant = None if raw is None or raw == "" else int(raw)
        return {
            "slot_id": int(event["ds"]),
            "item_id": item if item in items else None,
            "variant_id": variant if variant in variants else None,
        }

    return counted_rows_store(DwcView, events, own=own)
