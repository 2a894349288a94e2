"""Focus items: safe content, their tracked button link, and their views and conversions."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

import nh3
from django.http import HttpRequest

from consent.gate import Decision
from emails.models import TrackedLink
from focus.models import FocusEvent, FocusEventKind, FocusItem
from tracker.pipeline import devices_for, event_enqueue, events_well_formed
from tracker.services import counted_event

_TAGS = {"p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "span", "small"}
_ATTRIBUTES = {"a": {"href", "title"}}


def focus_text_clean(*, html: str) -> str:
    """Admin HTML reduced to a small safe subset: no script, no handlers, no javascript: URLs."""
    return nh3.clean(
        html, tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )


def focus_link(*, item: FocusItem) -> TrackedLink | None:
    if not item.button_url:
        return None
    link, _ = TrackedLink.objects.get_or_create(focus=item, url=item.button_url)
    return link


def focus_event_record(
    *, request: HttpRequest, decision: Decision, focus_id: int, kind: str
) -> str | None:
    """Count a view or conversion as the decision allows; returns the device to remember."""
    if not decision.count:
        return decision.device_id
    event, identity = counted_event(
        request=request, decision=decision, kind="focus", f=focus_id, a=kind
    )
    event_enqueue(event)
    return identity.device_id or decision.device_id


def focus_events_store(events: Sequence[dict[str, Any]]) -> int:
    good = [e for e in events_well_formed(events, f=int, a=FocusEventKind)]
    items = set(
        FocusItem.objects.filter(id__in={int(e["f"]) for e in good}).values_list("id", flat=True)
    )
    devices = devices_for(good)
    rows = []
    for event in good:
        if int(event["f"]) not in items:
            continue
        device = devices.get(str(event.get("d", "")))
        rows.append(
            FocusEvent(
                event_id=uuid.UUID(str(event["id"])),
                focus_id=int(event["f"]),
                kind=event["a"],
                device=device,
                contact_id=device.contact_id if device else None,
                machine=bool(event.get("m")),
                created_at=dt.datetime.fromtimestamp(float(event["ts"]), tz=dt.UTC),
            )
        )
    FocusEvent.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
