"""The safety net: no public response carries a cookie the gate did not write.

It also expires Mautic's legacy cookies on every public response that finds them.

A bug anywhere else (a view, a library, a later middleware) can never leak a cookie to a
visitor: it is stripped here and logged as an error so that the bug gets fixed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

from consent import registry
from consent.cookies import legacy_expire, permitted_keys

logger = logging.getLogger("consent.guard")

# Operator surfaces: their session and CSRF cookies are strictly necessary for staff.
OPERATOR_PREFIXES = ("/admin/", "/api/")


def is_public(path: str) -> bool:
    return not path.startswith(OPERATOR_PREFIXES)


class CookieGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        public = is_public(request.path)
        if public:
            legacy_expire(response, set(request.COOKIES))
        permitted = permitted_keys(response)
        for key in list(response.cookies):
            if key in permitted:
                continue
            name = response.cookies[key].key
            tracked = registry.spec_for(name) is not None or name in registry.LEGACY_COOKIES
            if public or tracked:
                del response.cookies[key]
                logger.error(
                    "stripped cookie %r that the consent gate did not permit on %s",
                    name,
                    request.path,
                )
        if response.cookies and response.has_header("Cache-Control"):
            # A visitor's Set-Cookie must never be stored and replayed by a shared cache.
            patch_cache_control(response, private=True)
        return response
