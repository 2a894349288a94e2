"""Focus items: safe content, their tracked button link, and their views and conversions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from django.http import HttpRequest

from consent.gate import Decision
from emails.models import TrackedLink
from focus.models import FocusEvent, FocusItem
from tracker.enqueue import event_enqueue
from tracker.services import counted_event
from tracker.store import counted_rows_store

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
    """Focus views and conversions from the pipeline (their fields checked by the registry);
    an item deleted since counts nothing."""
    items = set(
        FocusItem.objects.filter(id__in={int(e["f"]) for e in events}).values_list("id", flat=True)
    )

    def own(event: dict[str, Any]) -> dict[str, Any] | None:
        if int(event["f"]) not in items:
            return None
        return {"focus_id": int(event["f"]), "kind": event["a"]}

    return counted_rows_store(FocusEvent, events, own=own)
