"""/video/hit (Mautic's gated-video hits), /video/gate (a video's gate, for the player script)
and /video/gate.js (the player script). Each view reads, asks the gate, records, answers; the
gate writes every cookie."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from consent.cookies import apply
from consent.gate import Surface, decide
from consent.ip import masked_client_ip
from consentry.ratelimit import event_limiter
from consentry.scripts import script_response
from tracker.inputs import BadInput, payload_read, query_read
from tracker.minimise import page_parse
from tracker.services import site_allowed
from video.inputs import hit_read
from video.selectors import video_gate_get
from video.services import video_hit_record

SCRIPT = Path(__file__).resolve().parent / "templates" / "video" / "gate.js"


def _site_of(request: HttpRequest) -> str:
    """The page's site: its Origin, or for a same-origin GET (no Origin) its Referer."""
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return origin.lower()
    page = page_parse(request.headers.get("Referer", ""))
    return page.site if page else ""


def _cors(request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
    origin = request.headers.get("Origin", "").lower()
    response["Vary"] = "Origin, Cookie"
    if origin and site_allowed(origin, request):
        response["Access-Control-Allow-Origin"] = origin
        # Mautic's player sends its requests with credentials: the gate reads the cookies.
        response["Access-Control-Allow-Credentials"] = "true"
    return response


def _error(request: HttpRequest, exc: BadInput) -> HttpResponseBase:
    response = JsonResponse(
        {"success": False, "error": exc.code, "detail": exc.detail}, status=exc.status
    )
    return _cors(request, response)


@csrf_exempt
@require_http_methods(["GET", "POST", "OPTIONS"])
def hit(request: HttpRequest) -> HttpResponseBase:
    """A play's report, as Mautic's player posts it every few seconds; counted anonymously
    without a permit, tied to a person only with one."""
    if request.method == "OPTIONS":
        # Mautic's XMLHttpRequest adds X-Requested-With, which needs a preflight.
        preflight = HttpResponse(status=204)
        preflight["Access-Control-Allow-Methods"] = "GET, POST"
        preflight["Access-Control-Allow-Headers"] = "Content-Type, X-Requested-With"
        preflight["Access-Control-Max-Age"] = "86400"
        return _cors(request, preflight)
    site = _site_of(request)
    if not site or not site_allowed(site, request):
        return _error(request, BadInput(403, "site_not_allowed", "this site is not tracked"))
    retry = event_limiter.hit(
        key=f"video:{masked_client_ip(request)}", limit=settings.EVENT_RATE_LIMIT, window=60
    )
    if retry is not None:
        limited = _error(request, BadInput(429, "rate_limited", "too many hits; slow down"))
        limited["Retry-After"] = str(retry)
        return limited
    try:
        data = payload_read(request) if request.method == "POST" else query_read(request)
        report = hit_read(data)
    except BadInput as exc:
        return _error(request, exc)
    decision = decide(request, surface=Surface.VIDEO)
    device_id = video_hit_record(request=request, decision=decision, report=report)
    response = JsonResponse({"success": True, "counted": decision.count})
    response["Cache-Control"] = "no-store"
    apply(response, decision, device_id=device_id)
    return _cors(request, response)


@require_safe
def gate(request: HttpRequest) -> HttpResponseBase:
    """The gate of the video at ?url=: the form to show and the second to show it at. It is
    the same for everyone and reads no cookie, so any page may ask."""
    try:
        url = query_read(request).get("url", "")
    except BadInput as exc:
        return _error(request, exc)
    found = video_gate_get(url=url) if url else None
    body: dict[str, object] = {"gate": None}
    if found is not None:
        script = f"{settings.PUBLIC_URL}{reverse('form-generate-js')}?id={found.form_id}"
        body["gate"] = {"form": found.form_id, "seconds": found.seconds, "script": script}
    response = JsonResponse(body)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "public, max-age=60"
    apply(response, decide(request, surface=Surface.VIDEO))
    return response


@require_safe
def script(request: HttpRequest) -> HttpResponse:
    """The player script: a static file, the same for every page and every visitor."""
    return script_response(request, SCRIPT)
