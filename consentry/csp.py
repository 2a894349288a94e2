"""A Content-Security-Policy on every response that has none of its own: no inline script,
anywhere, so a value that slipped through escaping still cannot run.

Pages are framed only by this server (`frame-ancestors 'self'`), except a response a view marks
with `frame_ancestors_allow`: a form that sites embed in an iframe, and every answer to its
submission, may be framed by the origins named there and by no other."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from consentry.redirects import origins_read
from tracker.minimise import page_parse

# The response attribute the middleware reads: the origins that may frame this response.
FRAME_ANCESTORS = "consentry_frame_ancestors"


def _policy(ancestors: str = "'self'") -> str:
    public = page_parse(settings.PUBLIC_URL)
    form_targets = f"'self' {public.site}" if public else "'self'"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; "
        f"object-src 'none'; base-uri 'self'; form-action {form_targets}; "
        f"frame-ancestors {ancestors}"
    )


def frame_ancestors_allow(response: HttpResponseBase, *, origins: Iterable[str]) -> None:
    """Let `origins` (and this server) frame `response`, keeping every other directive.

    Each origin is read as a browser serialises it (consentry.redirects), so an operator's
    typo or a `;` cannot add a directive to the header. Django's X-Frame-Options would refuse
    every framing page, whatever the policy says: this response is exempt from it."""
    setattr(response, FRAME_ANCESTORS, sorted(origins_read(origins)))
    response.xframe_options_exempt = True  # type: ignore[attr-defined]


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy = _policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" in response:
            return response
        ancestors: list[str] | None = getattr(response, FRAME_ANCESTORS, None)
        if ancestors is not None:
            # Whatever the answer's type (a page, a redirect, JSON): it is framed only there.
            response["Content-Security-Policy"] = _policy(" ".join(["'self'", *ancestors]))
        elif response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = self.policy
        return response
