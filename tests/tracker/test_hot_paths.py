"""The WSGI application gives the tracking hot paths a shorter middleware chain: the gate's
cookie guard and the security headers stay, sessions, users, CSRF and messages go. Requests go
through consentry.wsgi.application itself, as the WSGI server calls it."""

from __future__ import annotations

import io
import sys
from http.cookies import SimpleCookie

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from consent import registry
from consentry.handlers import HOT_PATH
from consentry.wsgi import application
from tests.support.tracking import CHROME


@pytest.fixture
def wsgi_db(db):
    """The database, kept open across requests: as Django's test client does, keep the
    handler from closing the test's connection (and its transaction) after each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _wsgi(path: str, query: str = "", **extra: str) -> tuple[str, dict[str, list[str]]]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "198.51.100.9",
        "HTTP_USER_AGENT": CHROME,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        **extra,
    }
    answer: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        answer["status"], answer["headers"] = status, headers

    body = application(environ, start_response)
    try:
        b"".join(body)
    finally:
        body.close()  # type: ignore[attr-defined]
    headers: dict[str, list[str]] = {}
    for name, value in answer["headers"]:  # type: ignore[attr-defined]
        headers.setdefault(name.lower(), []).append(value)
    return str(answer["status"]), headers


@pytest.mark.parametrize(
    ("path", "hot"),
    [
        ("/mtracking.gif", True),
        ("/mtc/event", True),
        ("/email/abcdefghijklmnopqrstuvwx.gif", True),
        ("/r/abcdefghijklmnop", True),
        ("/focus/12/viewpixel.gif", True),
        ("/mtc.js", False),
        ("/form/submit", False),
        ("/email/unsubscribe/abcdefghijklmnop", False),
        ("/focus/12.js", False),
        ("/admin/login/", False),
        ("/api/contacts/", False),
        ("/r/abc/def", False),
    ],
)
def test_only_the_tracking_hot_paths_take_the_short_chain(path, hot):
    assert bool(HOT_PATH.fullmatch(path)) is hot


def test_the_pixel_keeps_its_security_headers_and_sets_no_session(wsgi_db):
    status, headers = _wsgi("/mtracking.gif", "page_url=http://testserver/pricing")
    assert status.startswith("200")
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["referrer-policy"] == ["same-origin"]
    assert "set-cookie" not in headers
    # The short chain: no framing header on a GIF (the admin, below, has one).
    assert "x-frame-options" not in headers


def test_the_pixel_still_expires_mautics_cookies_through_the_guard(wsgi_db):
    status, headers = _wsgi(
        "/mtracking.gif",
        "page_url=http://testserver/pricing",
        HTTP_COOKIE="mtc_id=42; mautic_device_id=abc",
    )
    assert status.startswith("200")
    written = SimpleCookie()
    for line in headers["set-cookie"]:
        written.load(line)
    assert set(written) >= {"mtc_id", "mautic_device_id"} & set(registry.LEGACY_COOKIES)
    assert all(written[name]["max-age"] == "0" for name in written)


def test_the_admin_keeps_the_whole_chain(wsgi_db):
    status, headers = _wsgi("/admin/login/")
    assert status.startswith("200")
    assert headers["x-frame-options"] == ["DENY"]
    assert any(line.strip().startswith("csrftoken=") for line in headers["set-cookie"])


def test_a_link_answered_on_the_short_chain_keeps_the_content_security_policy(wsgi_db):
    # An unknown link is answered with an HTML page: the policy that stops a value slipped
    # through escaping from running is on the short chain too.
    status, headers = _wsgi("/r/abcdefghijklmnop")
    assert headers["content-type"][0].startswith("text/html"), status
    assert "script-src 'self'" in headers["content-security-policy"][0]
