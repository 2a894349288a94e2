"""The tracking script in a real Chromium, on a host page of another origin of the same site.

Nothing is mocked: the page loads the classic embed snippet from a plain HTTP server of its
own, the snippet loads /mtc.js from the live Django server (real request cycle, real database,
real consent gate), and what the browser ends up holding is read back from Chromium itself.
Without a Redis URL the tracker writes every hit straight to the database, so rows can be
asserted as soon as the script's request has been answered.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Request

from consent.models import ConsentRecord
from contacts.models import Device
from contacts.services import contact_upsert, device_link, dnc_add
from tests.support.browser import (
    CONSENT,
    DEVICE,
    TIMEOUT,
    HostSite,
    Person,
    browsing,
    eventually,
    host_page,
    tracking_snippet,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.browsers import consent_cookie
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]

# Thirteen months, as the registry counts them (CNIL / EDPB): the longest a cookie may live.
THIRTEEN_MONTHS = 395 * 86400

# The host site's pages: each carries the classic embed snippet, then the page's own calls.
PAGES = {
    "/pricing": ("Pricing", "mt('send', 'pageview');"),
    # A site whose own banner already has the visitor's answer when the page starts.
    "/welcome": ("Welcome", "mt('consent', 'grant');\nmt('send', 'pageview');"),
}


@dataclass(kw_only=True)
class Visitor(Person):
    """A person in Chromium on the host site, whose pages embed the tracker."""

    site: str  # the host page's origin, e.g. http://localhost:P2
    # Every request the script made to /mtc/event that got an answer, in order.
    events: list[Request] = field(default_factory=list)

    def watches(self, request: Request) -> bool:
        return request.url.startswith(self.tracker)

    def open(self, path: str = "/pricing", *, requests: int = 1) -> list[dict[str, Any]]:
        """Load a host page and wait until the script's `requests` calls were answered;
        returns the tracker's replies."""
        start = len(self.events)
        self.page.goto(self.site + path)
        self.page.wait_for_function("() => window.mt && window.mt.consentry === true")
        return self.replies(start, start + requests)

    def reload(self, *, requests: int = 1) -> list[dict[str, Any]]:
        start = len(self.events)
        self.page.reload()
        self.page.wait_for_function("() => window.mt && window.mt.consentry === true")
        return self.replies(start, start + requests)

    def replies(self, start: int, end: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + TIMEOUT
        while len(self.events) < end and not self.problems:
            if time.monotonic() > deadline:
                raise AssertionError(f"{end - start} tracker requests expected, saw {self.events}")
            self.page.wait_for_timeout(20)
        assert self.problems == []
        replies = []
        for request in self.events[start:end]:
            response = request.response()
            assert response is not None
            assert response.status == 200, response.text()
            replies.append(response.json())
        return replies

    def mt(self, *args: str) -> dict[str, Any]:
        """Call the page's `mt(...)` like a consent banner would; the script's own reply."""
        start = len(self.events)
        reply = self.page.evaluate("(args) => window.mt(...args)", list(args))
        # The script could read the answer: CORS with credentials works from the host origin.
        assert isinstance(reply, dict), f"mt{args} got no reply from the tracker"
        assert self.replies(start, start + 1) == [reply]
        return reply


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    for path, (title, commands) in PAGES.items():
        site.serve(path, host_page(title, head=tracking_snippet(site.tracker, commands)))
    with browsing(Visitor.start(chromium, tracker=site.tracker, site=site.origin)) as person:

        def finished(request: Request) -> None:
            if request.url.startswith(f"{person.tracker}/mtc/event") and request.method == "POST":
                person.events.append(request)

        person.page.on("requestfinished", finished)
        yield person


def test_a_pageview_in_consent_mode_is_counted_and_sets_no_cookie_on_either_origin(visitor):
    (reply,) = visitor.open()
    assert reply == {"consent": "none", "counted": True, "reason": "no_choice"}
    eventually(lambda: AnonymousHit.objects.count() == 1, "the pageview is counted")
    hit = AnonymousHit.objects.get()
    assert (hit.site, hit.path, hit.title) == (visitor.site, "/pricing", "Pricing")
    assert (hit.browser, hit.device_class, hit.machine) == ("Chrome 120", "desktop", False)
    assert PageHit.objects.count() == 0
    assert visitor.context.cookies() == []
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


def test_a_grant_sets_an_httponly_lax_device_cookie_and_identifies_the_next_pageview(visitor):
    visitor.open()
    before = time.time()
    reply = visitor.mt("consent", "grant")
    assert reply == {"consent": "granted", "counted": False, "reason": "granted"}

    cookies = visitor.cookies()
    assert set(cookies) == {CONSENT, DEVICE}
    device = cookies[DEVICE]
    assert device["domain"] == urlsplit(visitor.tracker).hostname
    assert device["path"] == "/"
    assert device["httpOnly"] is True
    assert device["sameSite"] == "Lax"
    assert device["secure"] is False  # COOKIE_SECURE is off for plain http
    assert before < device["expires"] <= before + THIRTEEN_MONTHS + 5
    assert cookies[CONSENT]["httpOnly"] is True
    assert cookies[CONSENT]["expires"] <= before + THIRTEEN_MONTHS + 5
    # HttpOnly: the host page cannot read the tracker's cookies, even on the same host.
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}

    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action, record.source) == ("tracking", "grant", "script")
    assert record.browser_key != ""

    assert visitor.mt("send", "pageview") == {
        "consent": "granted",
        "counted": True,
        "reason": "granted",
    }
    eventually(lambda: PageHit.objects.count() == 1, "the pageview is stored as identified")
    hit = PageHit.objects.select_related("device").get()
    assert hit.device is not None
    assert hit.device.public_id == visitor.device_id()
    assert hit.url == f"{visitor.site}/pricing"
    assert AnonymousHit.objects.count() == 1  # only the pageview before the grant
    # The visit before the grant and after it is one visitor, not two.
    assert hit.visitor == AnonymousHit.objects.get().visitor
    # Identified pageviews never renew the cookie.
    assert visitor.cookies()[DEVICE] == device


def test_a_revoke_removes_the_device_cookie_and_the_hits_that_follow_are_anonymous(visitor):
    visitor.open()
    visitor.mt("consent", "grant")
    visitor.mt("send", "pageview")
    eventually(lambda: PageHit.objects.count() == 1, "the granted pageview is identified")

    reply = visitor.mt("consent", "revoke")
    assert reply == {"consent": "refused", "counted": False, "reason": "refused"}
    assert set(visitor.cookies()) == {CONSENT}  # the choice is remembered, the device is gone
    assert list(ConsentRecord.objects.order_by("pk").values_list("action", flat=True)) == [
        "grant",
        "withdraw",
    ]

    visitor.mt("send", "pageview")
    (reply,) = visitor.reload()
    assert reply == {"consent": "refused", "counted": True, "reason": "refused"}
    eventually(lambda: AnonymousHit.objects.count() == 3, "the hits after the revoke are counted")
    assert PageHit.objects.count() == 1
    assert set(visitor.cookies()) == {CONSENT}


def test_a_forged_device_cookie_identifies_no_one_and_is_expired(visitor):
    victim = Device.objects.create(public_id="someone-else")
    device_link(device=victim, contact=contact_upsert(email="someone@example.com"))
    visitor.context.add_cookies(
        [{"name": DEVICE, "value": "someone-else.1700000000:forged", "url": visitor.tracker}]
    )

    (reply,) = visitor.open()
    assert reply == {"consent": "none", "counted": True, "reason": "no_choice"}
    eventually(lambda: AnonymousHit.objects.count() == 1, "the hit is counted anonymously")
    assert PageHit.objects.count() == 0
    assert visitor.cookies() == {}


def test_a_forged_device_cookie_next_to_a_real_grant_is_replaced_by_a_device_of_its_own(
    visitor,
):
    victim = Device.objects.create(public_id="someone-else")
    device_link(device=victim, contact=contact_upsert(email="someone@example.com"))
    visitor.context.add_cookies(
        [
            {"name": CONSENT, "value": consent_cookie("g"), "url": visitor.tracker},
            {"name": DEVICE, "value": "someone-else.1700000000:forged", "url": visitor.tracker},
        ]
    )

    (reply,) = visitor.open()
    assert reply == {"consent": "granted", "counted": True, "reason": "granted"}
    eventually(lambda: PageHit.objects.count() == 1, "the hit is identified")
    own = visitor.device_id()
    assert own != "someone-else"
    assert PageHit.objects.get().device == Device.objects.get(public_id=own)
    assert victim.hits.count() == 0


@pytest.mark.parametrize("mode", ["consent", "always"])
@pytest.mark.parametrize(("header", "reason"), [("Sec-GPC", "gpc"), ("DNT", "dnt")])
def test_gpc_and_dnt_headers_leave_no_cookie_after_the_page_loads(
    visitor, settings, mode, header, reason
):
    settings.TRACKING_MODE = mode  # "always" would otherwise set a cookie at once
    visitor.context.set_extra_http_headers({header: "1"})

    (reply,) = visitor.open()
    assert reply == {"consent": "none", "counted": True, "reason": reason}
    visitor.mt("send", "pageview")
    eventually(lambda: AnonymousHit.objects.count() == 2, "the hits are counted anonymously")
    assert PageHit.objects.count() == 0
    assert visitor.context.cookies() == []


def test_in_mode_always_the_page_load_alone_sets_the_device_cookie_and_identifies(
    visitor, settings
):
    # The control for the test above: without a signal, mode "always" stores and identifies.
    settings.TRACKING_MODE = "always"
    (reply,) = visitor.open()
    assert reply == {"consent": "none", "counted": True, "reason": "mode_always"}
    assert set(visitor.cookies()) == {DEVICE}
    eventually(lambda: PageHit.objects.count() == 1, "the hit is identified")
    assert PageHit.objects.get().device.public_id == visitor.device_id()


def test_a_contact_on_do_not_contact_loses_the_device_cookie_on_the_next_page_load(visitor):
    visitor.open()
    visitor.mt("consent", "grant")
    visitor.mt("send", "pageview")
    eventually(lambda: PageHit.objects.count() == 1, "the granted pageview is identified")
    device = Device.objects.get(public_id=visitor.device_id())
    contact = contact_upsert(email="dnc@example.com")
    device_link(device=device, contact=contact)
    dnc_add(contact=contact, reason="unsubscribed")

    (reply,) = visitor.reload()
    assert reply == {"consent": "granted", "counted": True, "reason": "do_not_contact"}
    assert DEVICE not in visitor.cookies()
    eventually(lambda: AnonymousHit.objects.count() == 2, "the hit after the DNC is anonymous")
    assert PageHit.objects.count() == 1  # the hit before the DNC, none after


def test_mautics_legacy_cookies_are_expired_once_the_page_has_loaded_the_script(visitor):
    visitor.context.add_cookies(
        [
            {"name": "mtc_id", "value": "42", "url": visitor.tracker},
            {"name": "mautic_device_id", "value": "abcdef0123456789", "url": visitor.tracker},
        ]
    )
    assert set(visitor.cookies()) == {"mtc_id", "mautic_device_id"}

    (reply,) = visitor.open()
    assert reply["counted"] is True
    assert visitor.cookies() == {}
    eventually(lambda: AnonymousHit.objects.count() == 1, "the pageview is counted")
    assert PageHit.objects.count() == 0


def test_commands_queued_before_the_script_loads_run_in_order_so_the_pageview_is_identified(
    visitor,
):
    grant, pageview = visitor.open("/welcome", requests=2)
    sent = [request.post_data_json for request in visitor.events]
    assert [(body["type"], body.get("consent")) for body in sent] == [
        ("consent", "grant"),
        ("pageview", None),
    ]
    assert grant == {"consent": "granted", "counted": False, "reason": "granted"}
    assert pageview == {"consent": "granted", "counted": True, "reason": "granted"}
    eventually(lambda: PageHit.objects.count() == 1, "the queued pageview is identified")
    hit = PageHit.objects.get()
    assert hit.device.public_id == visitor.device_id()
    assert (hit.path, hit.title) == ("/welcome", "Welcome")
    assert AnonymousHit.objects.count() == 0
    assert ConsentRecord.objects.get().source == "script"
