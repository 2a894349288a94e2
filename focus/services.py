"""Focus items: safe content, their tracked button link, and their views and conversions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nh3
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from consent.gate import Decision
from consentry.redirects import url_read
from emails.models import TrackedLink
from focus.colours import colour_is_dark, colour_text_on
from focus.models import FocusEvent, FocusItem
from tracker.enqueue import event_enqueue
from tracker.services import counted_event
from tracker.store import counted_rows_store

# What the item's text may hold; the builder names whatever else it finds (focus.validation).
FOCUS_TAGS = {"p", "br", "strong", "em", "b", "i", "u", "a", "ul", "ol", "li", "span", "small"}
FOCUS_ATTRIBUTES = {"a": {"href", "title"}}


def focus_text_clean(*, html: str) -> str:
    """Admin HTML reduced to a small safe subset: no script, no handlers, no javascript: URLs."""
    return nh3.clean(
        html, tags=FOCUS_TAGS, attributes=FOCUS_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )


def focus_link(*, item: FocusItem) -> TrackedLink | None:
    if not item.button_url:
        return None
    link, _ = TrackedLink.objects.get_or_create(focus=item, url=item.button_url)
    return link


def focus_config(*, item: FocusItem, split: bool = False, preview: bool = False) -> dict[str, Any]:
    """What the focus script needs to show `item`. A preview (the builder's, from values not
    yet saved) counts nothing and stores nothing: no view pixel, no tracked link, and paths on
    this server rather than the public address."""
    base = "" if preview else settings.PUBLIC_URL
    link = None if preview else focus_link(item=item)
    href = ""
    if link is not None:
        href = f"{base}{reverse('email-click', args=[link.redirect_id])}"
    elif preview and item.button_url:
        read = url_read(item.button_url)
        href = read.href if read is not None else ""
    form = ""
    if item.form_id and not item.button_url:
        form = f"{base}{reverse('form-generate-js')}?id={item.form_id}&focus={item.pk or 0}"
    return {
        "id": item.pk or 0,
        "style": item.style,
        "headline": item.headline,
        "text": focus_text_clean(html=item.text),
        "bg": item.background,
        "fg": item.foreground,
        "button": item.button_colour,
        "buttonText": colour_text_on(item.button_colour),
        "scheme": "dark" if colour_is_dark(item.background) else "light",
        "label": item.button_label or "Open",
        "href": href,
        "form": form,
        "formId": item.form_id,
        "trigger": item.trigger,
        "value": item.trigger_value,
        # The display script counts nothing until its tracking layer arrives.
        "pixel": "" if split or preview else f"{base}{reverse('focus-viewpixel', args=[item.pk])}",
        "split": split,
        "tracking": f"{base}{reverse('focus-tracking-js', args=[item.pk])}" if split else "",
        "preview": preview,
    }


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
