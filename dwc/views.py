"""/dwc/{slot} and /dwc: what Mautic's tracking script asks to fill a page's
`<div data-slot="dwc" data-param-slot-name="…">` slots, answered in Mautic's shape
(`{"content": html}`, or 204 No Content to keep the page's default).

Mautic also answered with the contact's id and device id, which its script then stored on the
page; here the answer never names anyone. The gate decides: without a permit every visitor
gets the slot's default item; with one, a known contact may get a variant."""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from consent.cookies import apply
from consent.gate import Decision, Surface, decide
from consent.ip import masked_client_ip
from consentry.ratelimit import event_limiter
from consentry.scripts import script_response
from dwc.models import SLOT_NAME_RE
from dwc.services import Filled, slots_fill
from tracker.services import site_allowed
from tracker.views import DIST

_SLOT_NAME = re.compile(SLOT_NAME_RE)
MAX_SLOTS = 20


def _cors(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    # Mautic's script asks with credentials from the tracked site: only those may read it.
    origin = request.META.get("HTTP_ORIGIN")
    response["Vary"] = "Origin, Cookie"
    if origin and site_allowed(origin.lower(), request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    return response


def _error(request: HttpRequest, status: int, code: str, detail: str) -> HttpResponseBase:
    return _cors(request, JsonResponse({"error": code, "detail": detail}, status=status))


def _fill(request: HttpRequest, names: list[str]) -> HttpResponseBase | tuple[Decision, Filled]:
    """Read, ask the gate and fill: the common part of both endpoints. An answer already made
    (a refusal, a preflight) comes back as a response."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin and not site_allowed(origin.lower(), request):
        return _error(request, 403, "origin_not_allowed", "this site is not tracked")
    if request.method == "OPTIONS":
        preflight = HttpResponse(status=204)
        preflight["Access-Control-Allow-Methods"] = "GET"
        preflight["Access-Control-Allow-Headers"] = "Content-Type"
        preflight["Access-Control-Max-Age"] = "86400"
        return _cors(request, preflight)
    if [n for n in names if not _SLOT_NAME.match(n)]:
        return _error(
            request, 400, "invalid_slot", "a slot name is 1-100 letters, digits, '_', '-' or '.'"
        )
    if len(names) > MAX_SLOTS:
        return _error(request, 400, "too_many_slots", f"at most {MAX_SLOTS} slots at once")
    retry = event_limiter.hit(
        key=f"dwc:{masked_client_ip(request)}", limit=settings.EVENT_RATE_LIMIT, window=60
    )
    if retry is not None:
        limited = _error(request, 429, "rate_limited", "too many requests; slow down")
        limited["Retry-After"] = str(retry)
        return limited
    decision = decide(
        request, surface=Surface.PAGE, page_gpc=request.GET.get("gpc") in ("1", "true")
    )
    return decision, slots_fill(request=request, decision=decision, names=names)


def _respond(
    request: HttpRequest, decision: Decision, filled: Filled, body: object | None
) -> HttpResponseBase:
    response: HttpResponseBase = HttpResponse(status=204) if body is None else JsonResponse(body)
    # The answer depends on this browser's consent and device cookies.
    response["Cache-Control"] = "private, no-store"
    apply(response, decision, device_id=filled.device_id)
    return _cors(request, response)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def slot(request: HttpRequest, slot_name: str) -> HttpResponseBase:
    """One slot, as Mautic's script asks for it: {"content": html}, or 204 No Content to keep
    the page's own default."""
    outcome = _fill(request, [slot_name])
    if isinstance(outcome, HttpResponseBase):
        return outcome
    decision, filled = outcome
    content = filled.contents.get(slot_name)
    return _respond(request, decision, filled, {"content": content} if content else None)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def batch(request: HttpRequest) -> HttpResponseBase:
    """Several slots in one request (`/dwc?slot=a&slot=b`): {"slots": {name: html or null}}
    (null: keep the page's default). Without a slot, 204 No Content, as Mautic answers."""
    names = list(dict.fromkeys(request.GET.getlist("slot")))
    outcome = _fill(request, names)
    if isinstance(outcome, HttpResponseBase):
        return outcome
    decision, filled = outcome
    return _respond(request, decision, filled, {"slots": filled.contents} if names else None)


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    """/mtc-dwc.js: the slot filler, which the tracking script loads only on a page with slots
    (clients/js/src/dwc-entry.ts); served like /mtc.js."""
    return script_response(request, DIST / "dwc.min.js")
