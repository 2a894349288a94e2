"""The harness the browser tests share: one real Chromium per test module (Debian's, driven by
Playwright), the live Django server as the tracker, a host site of another origin on the same
host, and what a person's browser holds, read back from Chromium itself. Nothing is mocked.

Test modules import the fixtures they use by name, with a redundant alias so that linters
see the re-export: `from tests.support.browser import chromium as chromium`.
"""

from __future__ import annotations

import base64
import html
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from string import Template
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Cookie, Page, Request, expect

from audit.browser import CHROMIUM, chromium_open
from consent import registry
from consent.gate import read_device
from tests.conftest import _missing
from tests.support.tracking import CHROME

CONSENT = registry.CONSENT.name
DEVICE = registry.DEVICE.name
FOCUS = registry.FOCUS.name
TIMEOUT = 10.0
TIMEOUT_MS = 10_000
# The superuser the admin's browser tests sign in as.
OPERATOR_USERNAME = "operator"
OPERATOR_PASSWORD = "a long operator password"
# The shop that emails and focus items link to cannot be reached from here: Chromium answers
# a blank page for it ("a link to a blank page, not including any of Mautic's JS").
SHOP_PAGES = "https://shop.example.com/*"
BLANK = b"<!doctype html><title>Sale</title><p>blank page</p>"

# A page of the host site; `head` and `body` are what the test's page embeds.
HOST_PAGE = Template(
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>$title</title>
$head
</head>
<body>
<h1>$title</h1>
$body
</body>
</html>
"""
)
# The classic Mautic-style embed snippet, as site owners paste it, then the page's own calls.
TRACKING_SNIPPET = Template(
    """<script>
(function(w,d,t,u,n,a,m){w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){(w[n].q=w[n].q||[]).push(arguments)},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
})(window,document,'script','$script','mt');
$commands
</script>"""
)


def host_page(title: str, *, head: str = "", body: str = "") -> str:
    return HOST_PAGE.substitute(title=html.escape(title), head=head, body=body)


def tracking_snippet(tracker: str, commands: str = "") -> str:
    """The tracker's classic embed snippet, loading `tracker`/mtc.js, then `commands`."""
    return TRACKING_SNIPPET.substitute(script=f"{tracker}/mtc.js", commands=commands)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """One Chromium for the module; every browser in a test is a fresh context (incognito)."""
    if not CHROMIUM.exists():
        # The autouse service check runs after module fixtures: ask the same question first.
        _missing("this test needs Chromium at /usr/bin/chromium (apt-get install chromium)")
    # Playwright's sync API keeps an event loop running in this thread, which makes Django
    # refuse ORM calls here (including the database flush between tests). Nothing here is
    # actually async: allow it for this module only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        # The audit's own launch: the same Chromium, with the same flags, for both.
        with chromium_open() as browser:
            yield browser
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def live_tracker(live_server: Any, settings: Any) -> str:
    """Point the settings at the live server as the tracker; returns its origin."""
    settings.PUBLIC_URL = live_server.url  # before anything is rendered: the links point here
    settings.TRACKING_MODE = "consent"
    settings.REDIS_URL = None  # every hit is written straight to the database
    settings.COOKIE_SECURE = False  # plain http here
    settings.COOKIE_DOMAIN = None
    settings.COOKIE_SAMESITE = "Lax"
    settings.HONOR_GPC = True
    settings.HONOR_DNT = True
    settings.DNC_REVOKES_TRACKING = True
    settings.FORM_SUBMIT_LIMIT = 1000
    settings.FOCUS_FREQUENCY_COOKIE = True
    url: str = live_server.url
    return url


@pytest.fixture
def tracker(live_server: Any, settings: Any) -> str:
    """The live server's origin: the tracker that emails, scripts and embeds point at."""
    return live_tracker(live_server, settings)


class HostSite:
    """A tiny website of its own origin, like a customer's, whose pages embed the tracker."""

    def __init__(self, host: str, tracker: str) -> None:
        self.tracker = tracker
        self.pages: dict[str, bytes] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(urlsplit(self.path).path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def serve(self, path: str, page: str) -> str:
        """Serve `page` (HTML) at `path` from now on; returns the path."""
        self.pages[path] = page.encode()
        return path

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(live_server: Any, settings: Any) -> Iterator[HostSite]:
    """The host site, on the tracker's host name and another port; the tracker counts it."""
    tracker = live_tracker(live_server, settings)
    host = urlsplit(tracker).hostname
    assert host is not None
    # Same host name, another port: another origin of the same site, so the tracker's
    # SameSite=Lax cookies travel with the script's requests, as on t.example.com.
    server = HostSite(host, tracker)
    assert server.origin != tracker
    settings.TRACKED_SITES = [server.origin]
    try:
        yield server
    finally:
        server.close()


def eventually(
    check: Callable[[], bool],
    what: str,
    timeout: float = TIMEOUT,
    pause: Callable[[], object] = lambda: time.sleep(0.02),
) -> None:
    """Wait until `check()` holds (what another thread writes, such as the live server's
    rows); fail saying `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout}s: {what}")
        pause()


def _left_behind(request: Request) -> bool:
    if request.failure != "net::ERR_ABORTED":
        return False
    if "/preview/" in request.url:
        return True
    try:
        return request.resource_type == "document" and request.frame.parent_frame is not None
    except Exception:  # the frame is gone with its page
        return True


@dataclass(kw_only=True)
class Person:
    """One person's browser (a fresh Chromium context: incognito) with one tab open.

    Test modules subclass it with what their people do."""

    tracker: str  # the tracker's origin, e.g. http://localhost:P1
    context: BrowserContext
    page: Page
    # Failed requests and page errors; a test ends with none.
    problems: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, chromium: Browser, *, javascript: bool = True, **fields: Any) -> Self:
        """A fresh browser whose failed requests and page errors are written down."""
        context = chromium.new_context(user_agent=CHROME, java_script_enabled=javascript)
        try:
            person = cls(context=context, page=context.new_page(), **fields)
        except BaseException:
            context.close()
            raise

        def failed(request: Request) -> None:
            if person.watches(request):
                person.problems.append(f"{request.url}: {request.failure}")

        person.page.on("requestfailed", failed)
        person.page.on("pageerror", lambda error: person.problems.append(f"page error: {error}"))
        return person

    def watches(self, request: Request) -> bool:
        """Whether this failed request is a problem: any, unless a subclass says otherwise,
        but a frame's page or a live preview that Chromium cut short because the person left
        the page around it (they save a builder while its preview still loads)."""
        return not _left_behind(request)

    def until(self, check: Callable[[], bool], what: str, timeout: float = TIMEOUT) -> None:
        """`eventually`, for what Chromium reports: Playwright hands its events over only
        while it is called, so this waits in the page rather than in a sleep."""
        eventually(check, what, timeout, pause=lambda: self.page.wait_for_timeout(20))

    def cookies(self) -> dict[str, Cookie]:
        """Every cookie Chromium holds for this browser, on any origin."""
        return {cookie["name"]: cookie for cookie in self.context.cookies()}

    def carry(self, **cookies: str) -> None:
        """Cookies this browser already holds for the tracker's host."""
        self.context.add_cookies(
            [{"name": name, "value": value, "url": self.tracker} for name, value in cookies.items()]
        )

    def storage(self) -> dict[str, Any]:
        """What the current page itself can see or has stored."""
        result: dict[str, Any] = self.page.evaluate(
            """async () => ({
                cookie: document.cookie,
                local: localStorage.length,
                session: sessionStorage.length,
                indexed: indexedDB.databases ? (await indexedDB.databases()).length : 0,
            })"""
        )
        return result

    def device_id(self) -> str:
        """The device id inside the tracker's cookie, checked the way the gate checks it."""
        stored = read_device(self.cookies()[DEVICE]["value"], int(time.time()))
        assert stored is not None, "the device cookie does not verify"
        return stored.device_id

    def answer(self, pattern: str, body: bytes) -> list[str]:
        """Answer every request to `pattern` with the HTML `body`, from Chromium itself;
        returns the list of page URLs answered so far, kept up to date."""
        # Chromium's own request interception: Playwright's context.route() is not called for
        # the hops of a redirect, so it cannot answer the request a tracker's redirect leads to.
        answered: list[str] = []
        devtools = self.context.new_cdp_session(self.page)

        def fulfil(event: dict[str, Any]) -> None:
            if event.get("resourceType") == "Document":  # not the favicon
                answered.append(event["request"]["url"])
            devtools.send(
                "Fetch.fulfillRequest",
                {
                    "requestId": event["requestId"],
                    "responseCode": 200,
                    "responseHeaders": [{"name": "Content-Type", "value": "text/html"}],
                    "body": base64.b64encode(body).decode(),
                },
            )

        devtools.on("Fetch.requestPaused", fulfil)
        devtools.send(
            "Fetch.enable", {"patterns": [{"urlPattern": pattern, "requestStage": "Request"}]}
        )
        return answered


P = TypeVar("P", bound=Person)


@contextmanager
def browsing(person: P) -> Iterator[P]:
    """Hand `person` to a test, then close their browser; the test must have caused no
    problem in it."""
    try:
        yield person
        assert person.problems == [], person.problems
    finally:
        person.context.close()


def overflow(page: Page) -> int:
    """How many pixels the page is wider than the window (0 or less: it fits)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return width


def within_width(page: Page, selector: str, width: int) -> None:
    """The element is on screen from left to right, in a window `width` pixels wide."""
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    assert box["x"] >= 0, (selector, box)
    assert box["x"] + box["width"] <= width, (selector, box)


def admin_log_in(
    page: Page,
    tracker: str,
    *,
    username: str = OPERATOR_USERNAME,
    password: str = OPERATOR_PASSWORD,
    next: str = "/admin/",
) -> None:
    """Sign in through the admin's login form, as a person would, and land on `next`."""
    login = f"{tracker}/admin/login/?next={next}"
    if page.url != login:  # not already sent there by the admin
        page.goto(login)
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation(timeout=TIMEOUT_MS):
        page.locator("#login-form [type=submit]").click()
    expect(page).to_have_url(f"{tracker}{next}")
    expect(page.locator("#user-tools strong")).to_have_text(username)


def fits(page: Page, *, name: str, width: int) -> Path:
    """The page scrolls only down in a window `width` px wide; returns a full-page screenshot."""
    page.set_viewport_size({"width": width, "height": 900})
    page.wait_for_timeout(100)
    wider = overflow(page)
    assert wider <= 0, f"{name} is {wider} px wider than a {width} px window"
    shot = Path(f"/tmp/consentry-{name}-{width}.png")
    page.screenshot(path=shot, full_page=True)
    return shot
