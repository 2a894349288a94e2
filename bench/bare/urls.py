"""The benchmarked paths, each answering the bytes the tracker answers and doing nothing else.

Status, body and Location match the tracker's (bench/run.py checks it once before the loads).
Redirect targets and the form's success body come from the fixtures the benchmark made in the
tracker's database (BENCH_FIXTURES, a JSON file): this project has no database to read them.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

# The same bytes as tracker.views.PIXEL (a transparent 1x1 GIF).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def _fixtures() -> dict[str, Any]:
    # Read once, at start-up: nothing on the request path touches a file.
    name = os.environ.get("BENCH_FIXTURES")
    if not name:
        return {}
    data: dict[str, Any] = json.loads(Path(name).read_text())
    return data


_FIXTURES = _fixtures()
LINKS: dict[str, str] = _FIXTURES.get("links", {})
FORM_SUCCESS: bytes = str(_FIXTURES.get("form_success", "")).encode()


def _gif(cache_control: str) -> HttpResponse:
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = cache_control
    return response


@csrf_exempt
def pixel(request: HttpRequest) -> HttpResponse:
    return _gif("no-store")


def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    return _gif("no-store, private")


def focus_view(request: HttpRequest, focus_id: str) -> HttpResponse:
    return _gif("no-store")


def click(request: HttpRequest, redirect_id: str) -> HttpResponseRedirect:
    target = LINKS.get(redirect_id)
    if target is None:
        raise Http404
    response = HttpResponseRedirect(target)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


@csrf_exempt
@require_POST
def form_submit(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FORM_SUCCESS, content_type="application/json")


urlpatterns = [
    path("mtracking.gif", pixel),
    path("mtc/event", pixel),
    path("email/<str:token>.gif", open_pixel),
    path("r/<str:redirect_id>", click),
    path("focus/<str:focus_id>/viewpixel.gif", focus_view),
    path("form/submit", form_submit),
]
