"""/focus/{id}.js and /focus/{id}/viewpixel.gif: every visitor sees the item; it is counted
anonymously, and tied to a person only with a permit.

Mautic 7's split: /focus/{id}/display.js shows the item and counts nothing (no view pixel);
/focus/{id}/tracking.js, loaded by `window.MauticFocus.enableTracking(id)` after consent, adds
the view pixel, which the gate decides on exactly as for /focus/{id}.js."""

from __future__ import annotations

import json
import time

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_safe

from consent.cookies import apply, focus_seen_write
from consent.gate import Surface, decide
from focus.models import FocusEventKind, FocusItem, Frequency
from focus.selectors import focus_published_frequency
from focus.services import focus_config, focus_event_record
from tracker.views import PIXEL


def _item(focus_id: str, *, preview: bool = False) -> FocusItem:
    if not focus_id.isdigit() or len(focus_id) > 12:
        raise Http404
    items = FocusItem.objects.all() if preview else FocusItem.objects.filter(published=True)
    item = items.filter(pk=int(focus_id)).first()
    if item is None:
        raise Http404
    return item


def json_for_script(value: object) -> str:
    """JSON that cannot close the <script> element it stands in."""
    return json.dumps(value).replace("<", "\\u003c")


def focus_script(*, item_id: int, config_json: str) -> str:
    """The focus script, its config given as a JavaScript expression."""
    return render_to_string("focus/focus.js", {"item_id": item_id, "config_json": config_json})


@require_safe
def script(request: HttpRequest, focus_id: str) -> HttpResponseBase:
    return _script(request, focus_id, split=False)


@require_safe
def display(request: HttpRequest, focus_id: str) -> HttpResponseBase:
    """/focus/{id}/display.js: the item without its view pixel."""
    return _script(request, focus_id, split=True)


@require_safe
def tracking(request: HttpRequest, focus_id: str) -> HttpResponseBase:
    """/focus/{id}/tracking.js: hands the displayed item its view pixel. It writes nothing
    itself; the pixel's request meets the gate."""
    if not focus_id.isdigit() or len(focus_id) > 12:
        raise Http404
    item_id = int(focus_id)
    if focus_published_frequency(focus_id=item_id) is None:
        raise Http404
    pixel = json.dumps(f"{settings.PUBLIC_URL}{reverse('focus-viewpixel', args=[item_id])}")
    body = (
        f"/* Consentry focus item {item_id}: tracking layer */\n"
        f"(function(){{var i=window.MauticFocusItems&&window.MauticFocusItems[{item_id}];"
        f"if(i&&i.track){{i.track({pixel});}}}})();\n"
    )
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "private, no-store"
    return response


def _script(request: HttpRequest, focus_id: str, *, split: bool) -> HttpResponseBase:
    # Staff preview drafts from the admin, whatever the frequency says.
    preview = request.GET.get("preview") == "1" and request.user.is_staff
    item = _item(focus_id, preview=preview)
    decision = decide(request, surface=Surface.FOCUS)
    seen = decision.browser.focus.seen if decision.browser.focus else {}
    body: str
    if preview or item.due(last_shown=seen.get(str(item.pk)), now=int(time.time())):
        config = focus_config(item=item, split=split, preview=preview)
        body = focus_script(item_id=item.pk, config_json=json_for_script(config))
    else:
        body = f"/* focus item {item.pk} is not due for this browser */\n"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    # The answer depends on this browser's frequency cookie.
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Cookie"
    apply(response, decision)
    return response


@require_safe
def viewpixel(request: HttpRequest, focus_id: str) -> HttpResponseBase:
    if not focus_id.isdigit() or len(focus_id) > 12:
        raise Http404
    item_id = int(focus_id)
    frequency = focus_published_frequency(focus_id=item_id)
    if frequency is None:
        raise Http404
    decision = decide(request, surface=Surface.FOCUS)
    device_id = None
    if request.method == "GET":
        device_id = focus_event_record(
            request=request, decision=decision, focus_id=item_id, kind=FocusEventKind.VIEW
        )
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    if frequency != Frequency.EVERY_PAGE:
        focus_seen_write(response, decision.browser, item_id=item_id)
    apply(response, decision, device_id=device_id)
    return response


@xframe_options_sameorigin
@require_safe
def preview(request: HttpRequest, focus_id: str) -> HttpResponseBase:
    """A blank page showing one focus item, for the admin's live preview (staff only)."""
    if not request.user.is_staff:
        raise Http404
    item = _item(focus_id, preview=True)
    src = f"{reverse('focus-js', args=[item.pk])}?preview=1"
    response = HttpResponse(
        f'<!doctype html><meta charset="utf-8"><title>Preview</title>'
        f'<p style="font:14px system-ui;color:#666;padding:1rem">Page content</p>'
        f'<script src="{escape(src)}"></script>',
        content_type="text/html; charset=utf-8",
    )
    apply(response, decide(request, surface=Surface.FOCUS))
    return response
