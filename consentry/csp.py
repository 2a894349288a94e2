"""A Content-Security-Policy on every response that has none of its own: no inline script,
anywhere, so a value that slipped through escaping still cannot run."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from tracker.minimise import page_parse


def _policy() -> str:
    public = page_parse(settings.PUBLIC_URL)
    form_targets = f"'self' {public.site}" if public else "'self'"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data: https:; font-src 'self' data:; connect-src 'self'; "
        f"object-src 'none'; base-uri 'self'; form-action {form_targets}; "
        "frame-ancestors 'self'"
    )


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.policy = _policy()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response and response.get(
            "Content-Type", ""
        ).startswith("text/html"):
            response["Content-Security-Policy"] = self.policy
        return response
