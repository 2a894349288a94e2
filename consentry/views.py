from __future__ import annotations

from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from consent.cookies import apply
from consent.gate import Surface, decide
from consentry.health import health_check
from consentry.scripts import script_response

FAVICON = Path(__file__).resolve().parent / "static" / "consentry" / "favicon.svg"


@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    healthy, report = health_check()
    return JsonResponse(report, status=200 if healthy else 503)


@require_safe
def demo(request: HttpRequest) -> HttpResponse:
    """A page that embeds the tracker, as a site owner's page would."""
    response = render(request, "demo.html")
    apply(response, decide(request, surface=Surface.LANDING))
    return response


@require_safe
def favicon(request: HttpRequest) -> HttpResponse:
    """/favicon.ico, which browsers ask for on every origin: the admin's icon (an SVG, which
    browsers take at this path too) rather than a 404 in every log."""
    return script_response(request, FAVICON, content_type="image/svg+xml")
