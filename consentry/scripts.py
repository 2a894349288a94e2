"""The static scripts the tracker hands to other sites' pages (/mtc.js and its split, the banner
bridges, the dynamic-content filler, Mautic's form SDK, the video player): the same bytes for
everyone, cacheable by any site, revalidated by ETag."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.http import HttpRequest, HttpResponse


@cache
def _read(path: Path) -> tuple[bytes, str]:
    # Read once per process: a release replaces the files and restarts the workers.
    body = path.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def script_response(
    request: HttpRequest,
    path: Path,
    *,
    fresh_s: int = 86400,
    stale_s: int = 604800,
    content_type: str = "text/javascript; charset=utf-8",
) -> HttpResponse:
    """The script (or other static file) at `path`, or 304 when the browser holds it already.
    Fresh for `fresh_s`, then revalidated in the background for `stale_s`: a new release
    reaches pages within `fresh_s`."""
    body, etag = _read(path)
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = f"public, max-age={fresh_s}, stale-while-revalidate={stale_s}"
    response["Access-Control-Allow-Origin"] = "*"
    return response
