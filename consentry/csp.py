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

# The response attributes the middleware reads: the origins that may frame this response, and
# those its forms may be sent to besides this server.
FRAME_ANCESTORS = "consentry_frame_ancestors"
FORM_ACTION = "consentry_form_action"


def _policy(ancestors: str = "'self'", form_action: Iterable[str] = ()) -> str:
    public = page_parse(settings.PUBLIC_URL)
    form_targets = " ".join(["'self'", *([public.site] if public else []), *form_action])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; "
        f"object-src 'none'; base-uri 'self'; form-action {form_targets}; "
        f"frame-ancestors {ancestors}"
    )


def frame_ancestors_allow(
    response: HttpResponseBase, *, origins: Iterable[str], form_action: Iterable[str] = ()
) -> None:
    """Let `origins` (and this server) frame `response`, keeping every other directive; its
    forms may also be sent to `form_action` (browsers hold a form's redirect to form-action
    too: a form that sends its visitor on to the site needs the site's origin there).

    Each origin is read as a browser serialises it (consentry.redirects), so an operator's
    typo or a `;` cannot add a directive to the header. Django's X-Frame-Options would refuse
    every framing page, whatever the policy says: this response is exempt from it."""
    setattr(response, FRAME_ANCESTORS, sorted(origins_read(origins)))
    setattr(response, FORM_ACTION, sorted(origins_read(form_action)))
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
            targets: list[str] = getattr(response, FORM_ACTION, [])
            response["Content-Security-Policy"] = _policy(" ".join(["'self'", *ancestors]), targets)
        elif response.get("Content-Type", "").startswith("text/html"):
            response["Content-Security-Policy"] = self.policy
        return response
