"""The WSGI application: Django's request cycle, with a shorter middleware chain for the
tracking hot paths.

A pixel, a beacon, an open pixel or a redirect is answered on every page view of every site the
tracker serves. None of those views reads a session, a logged-in user, a CSRF token or a flash
message, and none answers with a page that could be framed, so the middleware that provides
those (about a third of the tracker's own time per hit) is left out for them. The gate's own
safety net (the cookie guard), the security headers, the content security policy and the
text edge stay.
Every other path, the operator's admin and API included, gets the whole chain.

Whatever server runs it (granian, gunicorn), each process starts its own background work on
its first request (a forked worker inherits no thread): without Redis, the embedded scheduler.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# The hot paths: the tracking pixel and beacon, email opens and tracked links, focus views;
# and their /index.php/ twins (consentry/urls.py), which older Mautic embeds use.
HOT_PATH = re.compile(
    r"(?:/index\.php)?"
    r"/(?:mtracking\.gif|mtc/event|email/[^/]+\.gif|r/[^/]+|focus/[^/]+/viewpixel\.gif)"
)
# What the hot paths keep of MIDDLEWARE (in MIDDLEWARE's order).
HOT_PATH_MIDDLEWARE = frozenset(
    {
        "django.middleware.security.SecurityMiddleware",
        "consent.middleware.CookieGuardMiddleware",
        "consentry.csp.ContentSecurityPolicyMiddleware",
        "consentry.text.TextEdgeMiddleware",
        "django.middleware.common.CommonMiddleware",
    }
)

StartResponse = Callable[..., Any]


class HotPathHandler(WSGIHandler):
    """Django's WSGI handler with the hot paths' middleware only."""

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE and offers no other input: hand it
        # the shorter list for the length of the call. This runs once, while the application
        # is created, before any request is served.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [path for path in full if path in HOT_PATH_MIDDLEWARE]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class Application:
    """Sends each request through one of two Django handlers by its path."""

    def __init__(self) -> None:
        self.full = WSGIHandler()
        self.hot = HotPathHandler()
        self._started_in = 0  # the pid whose background work is running
        self._start_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self._started_in != os.getpid():
            self._process_start()
        path = environ.get("PATH_INFO", "")
        handler = self.hot if HOT_PATH.fullmatch(path) else self.full
        return handler(environ, start_response)

    def _process_start(self) -> None:
        from tracker.embedded import scheduler_start

        with self._start_lock:  # a server's threads may all take their first request at once
            if self._started_in != os.getpid():
                self._started_in = os.getpid()
                scheduler_start()
