"""One view on both benchmarked paths: the tracker's 43-byte GIF, never cached."""

from __future__ import annotations

import base64

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

# The same bytes as tracker.views.PIXEL (a transparent 1x1 GIF).
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


@csrf_exempt
def pixel(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("mtracking.gif", pixel),
    path("mtc/event", pixel),
]
