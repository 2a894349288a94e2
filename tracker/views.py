"""The web-tracking surface: /mtc.js, POST /mtc/event and the /mtracking.gif fallback.

Each view reads, asks the gate, records, answers. The gate writes every cookie.
"""

from __future__ import annotations

import base64
import contextlib
import json
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.log import log_response
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from consent.cookies import apply
from consent.gate import Choice, Decision, Surface, decide, device_id_for
from consent.ip import masked_client_ip
from consent.services import choice_report
from consentry.ratelimit import event_limiter
from consentry.scripts import script_response
from consentry.sites import HINT, site_refusal_note
from contacts.models import Contact
from contacts.selectors import device_owner
from tracker.inputs import (
    BadInput,
    ConsentReport,
    consent_report_read,
    payload_read,
    query_read,
)
from tracker.minimise import UTM_KEYS, Page, page_parse
from tracker.page_fields import (
    PageFields,
    page_fields_contact,
    page_fields_identify,
    page_fields_read,
)
from tracker.services import HitResult, hit_record, site_allowed
from tracker.wordpress import wordpress_pixel_read

DIST = Path(settings.BASE_DIR) / "clients" / "js" / "dist"
SCRIPT = DIST / "mtc.min.js"
# Mautic 7's split: the runtime alone before consent; the tracking add-on is the same build as
# /mtc.js (it completes the runtime the essential script installed).
ESSENTIAL_SCRIPT = DIST / "mautic-essential.min.js"
# A transparent 1x1 GIF, 43 bytes.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
_CONSENT_COMMANDS = {"grant": Choice.GRANTED, "revoke": Choice.REFUSED, "object": Choice.OBJECTED}
_CHOICE_NAMES = {Choice.GRANTED: "granted", Choice.REFUSED: "refused", Choice.OBJECTED: "objected"}


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    """/mtc.js, and Mautic 7's /mautic-tracking.js: the runtime and the tracker."""
    return script_response(request, SCRIPT)


@require_safe
def essential_script(request: HttpRequest) -> HttpResponse:
    """/mautic-essential.js: the MauticJS runtime for before consent; it sends nothing."""
    return script_response(request, ESSENTIAL_SCRIPT)


def _cors(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    origin = request.META.get("HTTP_ORIGIN")
    response["Vary"] = "Origin, Cookie"
    if origin and site_allowed(origin.lower(), request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    return response


def _error(request: HttpRequest, exc: BadInput) -> HttpResponseBase:
    response = JsonResponse({"error": exc.code, "detail": exc.detail}, status=exc.status)
    return _cors(request, response)


def _not_tracked(request: HttpRequest, site: str) -> HttpResponseBase:
    """A site that is not tracked: still a 403 that stores and sets nothing, but one its page
    may read (CORS), saying why, so that the script can tell its owner in the console (a
    refusal without CORS headers shows only as a generic CORS error there). The script hands
    the consent part to onConsent, so a banner waiting for a reply is not left hanging."""
    site_refusal_note(origin=site)
    hint = f"{site} is not tracked by this Consentry server: {HINT}"
    response = JsonResponse(
        {
            "error": "site_not_tracked",
            "origin": site,
            "hint": hint,
            "consent": "none",
            "counted": False,
            "reason": "site_not_tracked",
        },
        status=403,
    )
    response["Vary"] = "Origin, Cookie"
    origin = request.META.get("HTTP_ORIGIN")
    if origin:
        # Only this refusal is shared with an untracked origin; it holds nothing but its name.
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    # Django would log "Forbidden: /mtc/event"; this line says which site and why.
    log_response(
        "Site not tracked: %s refused at %s (%s)",
        site,
        request.path,
        HINT,
        response=response,
        request=request,
    )
    return response


def _state(decision: Decision, counted: bool) -> dict[str, object]:
    choice = decision.choice
    return {
        "consent": _CHOICE_NAMES[choice] if choice else "none",
        "counted": counted,
        "reason": decision.reason.value,
    }


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def event(request: HttpRequest) -> HttpResponseBase:
    """A pageview or a consent command from the script. Identity fields sent by the client
    (mtc_id, mautic_device_id, contact ids, emails) are ignored: only the gate identifies."""
    origin = request.META.get("HTTP_ORIGIN")
    if origin and not site_allowed(origin.lower(), request):
        return _not_tracked(request, origin.lower())
    if request.method == "OPTIONS":
        preflight = HttpResponse(status=204)
        preflight["Access-Control-Allow-Methods"] = "POST"
        preflight["Access-Control-Allow-Headers"] = "Content-Type"
        preflight["Access-Control-Max-Age"] = "86400"
        return _cors(request, preflight)
    retry = event_limiter.hit(
        key=masked_client_ip(request), limit=settings.EVENT_RATE_LIMIT, window=60
    )
    if retry is not None:
        limited = _error(request, BadInput(429, "rate_limited", "too many events; slow down"))
        limited["Retry-After"] = str(retry)
        return limited
    try:
        data = payload_read(request)
    except BadInput as exc:
        return _error(request, exc)
    page_url = data.get("page_url", "")
    page = page_parse(page_url)
    if page is None:
        return _error(request, BadInput(400, "invalid_page_url", "page_url must be an http(s) URL"))
    if not site_allowed(page.site, request):
        return _not_tracked(request, page.site)
    page_gpc = data.get("gpc") in ("1", "true")
    response = JsonResponse({})
    kind = data.get("type", "pageview")
    if kind == "consent":
        command = _CONSENT_COMMANDS.get(data.get("consent", ""))
        if command is None:
            return _error(
                request, BadInput(400, "invalid_consent", "consent: grant, revoke or object")
            )
        try:
            report = consent_report_read(data=data)
        except BadInput as exc:
            return _error(request, exc)
        try:
            decision = _choose(request, response, command, report, page_gpc=page_gpc)
        except DatabaseError:
            # A choice must be recorded to count: the script retries later.
            return _error(request, BadInput(503, "unavailable", "try again shortly"))
        counted = False
    elif kind == "pageview":
        fields = page_fields_read(data=data)
        decision = decide(request, surface=Surface.PAGE, page_gpc=page_gpc, contact=_named(fields))
        result = _record(request, decision, page, data, fields)
        counted = result.counted
        apply(response, decision, device_id=result.device_id)
    else:
        return _error(request, BadInput(400, "invalid_type", "type: pageview or consent"))
    response.content = json.dumps(_state(decision, counted)).encode()
    return _cors(request, response)


def _named(fields: PageFields | None) -> Contact | None:
    """The contact a page's fields name, for the gate to read its Do-Not-Contact; if the
    database cannot say, the fields are dropped and the hit still counts."""
    try:
        return page_fields_contact(fields=fields)
    except DatabaseError:
        return None


def _record(
    request: HttpRequest,
    decision: Decision,
    page: Page,
    data: dict[str, str],
    fields: PageFields | None = None,
) -> HitResult:
    """A hit from the fields Mautic's script and pixel send (the same names in both), tied
    to the contact the page names when the setting and the gate allow it."""
    result = hit_record(
        request=request,
        decision=decision,
        page=page,
        title=data.get("page_title", ""),
        referrer=data.get("page_referrer", ""),
        language=data.get("page_language", ""),
        resolution=data.get("resolution", ""),
        utm={k: data[k] for k in UTM_KEYS if k in data},
        event_id=data.get("id"),
    )
    if fields is not None and result.identified:
        # The hit is recorded either way; with the database away, identifying it waits for
        # the next pageview.
        with contextlib.suppress(DatabaseError):
            page_fields_identify(
                fields=fields,
                decision=decision,
                device_id=result.device_id,
                ip_masked=masked_client_ip(request),
            )
    return result


def _choose(
    request: HttpRequest,
    response: HttpResponse,
    choice: Choice,
    report: ConsentReport,
    *,
    page_gpc: bool,
) -> Decision:
    """Record the visitor's choice when it changes what the browser holds, then let the gate
    decide again under it. A grant hands the browser a device at once, so the visit goes on
    identified without a second visitor (the visitor hash of this day and browser is the same
    before and after)."""
    before = decide(request, surface=Surface.PAGE, page_gpc=page_gpc)
    current = before.browser.device
    browser, record = choice_report(
        request=request,
        response=response,
        decision=before,
        choice=choice,
        source=report.source,
        explicit=report.explicit,
        notice_version=report.notice,
        contact=device_owner(public_id=current.device_id if current else None),
    )
    decision = before
    if record is not None:
        decision = decide(request, surface=Surface.PAGE, page_gpc=page_gpc, browser=browser)
    apply(response, decision, device_id=device_id_for(decision))
    return decision


@csrf_exempt
@require_safe
def pixel(request: HttpRequest) -> HttpResponseBase:
    """The no-script fallback: counts like a pageview, answers a 43-byte GIF never cached."""
    status, error = 200, ""
    try:
        data = query_read(request)
        if "d" in data:
            data = wordpress_pixel_read(d=data["d"])
    except BadInput as exc:
        data, status = {}, exc.status
        error = f"{exc.code}: {exc.detail}"
    page_url = data.get("page_url") or data.get("url") or request.META.get("HTTP_REFERER", "")
    page = page_parse(page_url)
    fields = page_fields_read(data=data)
    decision = decide(request, surface=Surface.PIXEL, contact=_named(fields))
    device_id = None
    if status == 200 and page is not None and site_allowed(page.site, request):
        device_id = _record(request, decision, page, data, fields).device_id
    elif status == 200:
        status = 400
        if page is not None:
            site_refusal_note(origin=page.site)
            error = f"site_not_tracked: {page.site} is not tracked; {HINT}"
    response = HttpResponse(PIXEL, content_type="image/gif", status=status)
    response["Cache-Control"] = "no-store"
    if error:
        # An image cannot say what was wrong; the header does, for whoever debugs the embed.
        response["X-Consentry-Error"] = error
    apply(response, decision, device_id=device_id)
    return response
