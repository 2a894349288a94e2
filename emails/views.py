"""The email surface: open pixels, tracked links, unsubscribe / resubscribe, the web view and
the bounce webhook. Every response goes through the gate; none of them sets a cookie that the
gate did not permit for this very browser."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
import uuid

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from consent.cookies import apply
from consent.gate import Surface, decide, device_id_for
from consent.ip import masked_client_ip
from consent.optin import optin_confirm
from consent.views import same_origin
from contacts.models import Contact
from emails.machines import address_source
from emails.preferences import Preferences, preferences_change, preferences_get
from emails.rendering import ct_read, message_render
from emails.selectors import link_get, recipient_for_click, recipient_get
from emails.services import bounce_record, email_resubscribe, email_unsubscribe
from focus.models import FocusEventKind
from focus.services import focus_event_record
from tracker.enqueue import event_enqueue
from tracker.machines import machine_source
from tracker.views import PIXEL

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# True whether or not the token was valid: the answer must not tell the two apart.
ONE_CLICK_ANSWER = "Received: if this link belongs to a subscription, it is now unsubscribed.\n"


def _event(kind: str, **fields: object) -> dict[str, object]:
    return {"k": kind, "id": str(uuid.uuid4()), "ts": round(time.time(), 3), **fields}


@require_safe
def open_pixel(request: HttpRequest, token: str) -> HttpResponseBase:
    """Records the open and never sets a cookie (an email client is not a consenting browser)."""
    decision = decide(request, surface=Surface.EMAIL_OPEN)
    if decision.count and request.method == "GET" and _TOKEN.match(token):
        # The event carries why it is a machine's, never the address that told.
        source = machine_source(request, mail=True, by_address=address_source)
        fields: dict[str, object] = {"m": 1, "s": source} if source else {"m": 0}
        event_enqueue(_event("open", t=token, **fields))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    apply(response, decision)
    return response


@require_safe
def click(request: HttpRequest, redirect_id: str) -> HttpResponseBase:
    """Redirect to the stored URL only. A valid ct attributes the click to its recipient on
    the server; the browser gets a cookie only if the gate permits it for this browser."""
    target = link_get(redirect_id=redirect_id) if _TOKEN.match(redirect_id) else None
    if target is None:
        raise Http404
    if target.focus_id is not None:
        return _focus_click(request, target.url, target.focus_id)
    recipient_token = ct_read(request.GET.get("ct", ""), redirect_id=redirect_id)
    recipient = recipient_for_click(token=recipient_token) if recipient_token else None
    # The contact by its key alone: the gate reads nothing of it beyond the facts given.
    contact = Contact(pk=recipient.contact_id) if recipient and recipient.tracked else None
    decision = decide(
        request,
        surface=Surface.EMAIL_CLICK,
        contact=contact,
        contact_facts=recipient.facts if recipient else None,
    )
    machine = bool(machine_source(request, mail=True))
    if decision.count and request.method == "GET":
        attributed = decision.identify and recipient is not None and not machine
        event_enqueue(
            _event(
                "click",
                l=target.id,
                r=recipient.token if attributed and recipient else "",
                m=int(machine),
            )
        )
    response = HttpResponseRedirect(target.url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    apply(response, decision, device_id=device_id_for(decision, machine=machine))
    return response


def _focus_click(request: HttpRequest, url: str, focus_id: int) -> HttpResponseBase:
    """A focus item's button: a conversion, counted like its view."""
    decision = decide(request, surface=Surface.FOCUS)
    device_id = None
    if request.method == "GET":
        device_id = focus_event_record(
            request=request, decision=decision, focus_id=focus_id, kind=FocusEventKind.CONVERSION
        )
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    apply(response, decision, device_id=device_id)
    return response


def _confirm(
    request: HttpRequest, template: str, surface: Surface, done: bool, token: str
) -> HttpResponse:
    response = render(request, template, {"done": done, "token": token}, status=200)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    apply(response, decide(request, surface=surface))
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponseBase:
    """GET shows a button and changes nothing: mail scanners follow links. POST (the button,
    or an RFC 8058 one-click POST) unsubscribes. Valid and invalid tokens answer alike."""
    if request.method == "POST":
        recipient = recipient_get(token=token) if _TOKEN.match(token) else None
        if recipient is not None:
            email_unsubscribe(recipient=recipient)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            response = HttpResponse(ONE_CLICK_ANSWER, content_type="text/plain")
            apply(response, decide(request, surface=Surface.UNSUBSCRIBE))
            return response
    return _confirm(
        request, "emails/unsubscribe.html", Surface.UNSUBSCRIBE, request.method == "POST", token
    )


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def resubscribe(request: HttpRequest, token: str) -> HttpResponseBase:
    if request.method == "POST":
        recipient = recipient_get(token=token) if _TOKEN.match(token) else None
        if recipient is not None:
            email_resubscribe(recipient=recipient)
    return _confirm(
        request, "emails/resubscribe.html", Surface.RESUBSCRIBE, request.method == "POST", token
    )


def _private_page(request: HttpRequest, response: HttpResponse, surface: Surface) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    # The token in the URL reaches no other site; "no-referrer" would also make the browser
    # send "Origin: null" with the page's own form, which the same-origin check refuses.
    response["Referrer-Policy"] = "same-origin"
    apply(response, decide(request, surface=surface))
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponseBase:
    """A double opt-in's link. GET shows a button and changes nothing (mail scanners follow
    links); the button's POST confirms. Valid, invalid, expired and used links answer alike.
    Cross-site forgery is refused by origin, as on the privacy-choices page."""
    status, done = 200, False
    if request.method == "POST":
        if same_origin(request):
            optin_confirm(token=token, ip_masked=masked_client_ip(request))
            done = True
        else:
            status = 403
    page = render(request, "emails/confirm.html", {"done": done, "status": status}, status=status)
    return _private_page(request, page, Surface.EMAIL_CONFIRM)


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponseBase:
    """A recipient's preference page, from the link in every email: GET shows their email
    news, tracking and Do-Not-Contact; POST (same origin only) changes them."""
    recipient = recipient_get(token=token) if _TOKEN.match(token) else None
    status, changed = 200, False
    if recipient is None:
        status = 404
    elif request.method == "POST":
        if not same_origin(request):
            status = 403
        else:
            changed = True
            preferences_change(
                contact=recipient.addressee,
                wanted=Preferences(
                    email_news=bool(request.POST.get("email_news")),
                    tracking=bool(request.POST.get("tracking")),
                    dnc=bool(request.POST.get("dnc")),
                ),
                ip_masked=masked_client_ip(request),
            )
    prefs = preferences_get(contact=recipient.addressee) if recipient else None
    page = render(
        request,
        "emails/preferences.html",
        {"prefs": prefs, "changed": changed, "status": status},
        status=status,
    )
    return _private_page(request, page, Surface.PREFERENCES)


@require_safe
def webview(request: HttpRequest, token: str) -> HttpResponseBase:
    """The email in a browser: no tracker, no cookies."""
    recipient = recipient_get(token=token) if _TOKEN.match(token) else None
    if recipient is None:
        raise Http404
    rendered = message_render(recipient=recipient, webview=True)
    response = HttpResponse(rendered.html, content_type="text/html; charset=utf-8")
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    # The email's own markup may not run script or load a tracker in our origin.
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src https: data:; style-src 'unsafe-inline' https:; "
        "font-src https: data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    apply(response, decide(request, surface=Surface.EMAIL_VIEW))
    return response


@csrf_exempt
@require_POST
def bounce_webhook(request: HttpRequest) -> HttpResponseBase:
    """Bounces and complaints from the mail provider, signed with HMAC-SHA256 over
    "<timestamp>.<body>" (X-Consentry-Timestamp, X-Consentry-Signature: sha256=<hex>)."""
    secret = settings.BOUNCE_WEBHOOK_SECRET
    if not secret:
        raise Http404
    timestamp = request.headers.get("X-Consentry-Timestamp", "")
    signature = request.headers.get("X-Consentry-Signature", "").removeprefix("sha256=")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256
    ).hexdigest()
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= 300
    if not fresh or not hmac.compare_digest(expected, signature):
        return JsonResponse({"error": "bad_signature", "detail": "unsigned or stale"}, status=401)
    try:
        data = json.loads(request.body)
        email, kind = str(data["email"]), str(data.get("type", "bounce"))
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"error": "bad_json", "detail": "expected {email, type}"}, status=400)
    if kind not in ("bounce", "complaint"):
        return JsonResponse({"error": "bad_type", "detail": "bounce or complaint"}, status=400)
    bounce_record(email=email, kind=kind, comment=str(data.get("comment", "")))
    # The same answer whether or not the address is known.
    return JsonResponse({"ok": True})
