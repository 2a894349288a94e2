"""The email surface in a real Chromium: the RFC's Problems 1 and 2, step by step.

Nothing is mocked: the links are the ones rendered into the email as it is sent (pointing at
the live Django server), Chromium follows them through the real request cycle and the real
consent gate, and what the browser ends up holding is read back from Chromium itself. The
shop the links lead to cannot be reached from here, so Chromium is answered a blank page for
it ("a link to a blank page, not including any of Mautic's JS"). Without a Redis URL every
click is written straight to the database, so rows can be asserted as soon as the redirect
has been answered.

Each browser keeps a journal of the cookies it holds after every step, printed when the test
ends and asserted whole: the RFC's "Mautic sets five first party cookies" becomes a column of
empty lists here.
"""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import APIResponse, Browser, Request, Response

from consent.gate import read_choice
from contacts.models import DoNotContact
from contacts.selectors import contact_is_dnc
from emails.models import EmailClick
from emails.views import ONE_CLICK_ANSWER
from tests.support.browser import BLANK, CONSENT, DEVICE, SHOP_PAGES, Person
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.emailing import Sent, sent_to
from tests.support.tracking import CHROME

pytestmark = [pytest.mark.browser]

SHOP = "https://shop.example.com/sale?x=1&y=2"
# Every path on the tracker that tracks: the script, its events, the page pixel, email pixels.
TRACKERS = re.compile(r"^/(mtc\.js|mtc/event|mtracking\.gif|email/[^/]+\.gif)$")


def set_cookies(response: Response | APIResponse) -> dict[str, str]:
    """What a response's Set-Cookie headers do, by cookie name: "set" or "expired"."""
    done = {}
    headers = (
        response.headers_array if isinstance(response, APIResponse) else response.headers_array()
    )
    for header in headers:
        if header["name"].lower() != "set-cookie":
            continue
        for line in header["value"].split("\n"):
            name = line.split("=", 1)[0].strip()
            done[name] = "expired" if "max-age=0" in line.lower() else "set"
    return done


@dataclass(frozen=True)
class Links:
    """The links in one rendered email, as a reader would copy them out of it."""

    tracked: str  # the regular link ("See the sale"), through /r/
    unsubscribe: str
    webview: str

    @classmethod
    def of(cls, sent: Sent, tracker: str) -> Links:
        def href(path: str) -> str:
            match = re.search(rf'href="({re.escape(tracker + path)}[^"]+)"', sent.html)
            assert match is not None, f"no {path} link in the email: {sent.html}"
            return html.unescape(match.group(1))

        return cls(
            tracked=href("/r/"),
            unsubscribe=href("/email/unsubscribe/"),
            webview=href("/email/view/"),
        )


@dataclass(kw_only=True)
class Tab(Person):
    """One person's browser (a fresh Chromium context: incognito) with one tab open."""

    who: str
    requests: list[Request] = field(default_factory=list)
    shop: list[str] = field(default_factory=list)  # URLs that reached the (blank) shop page
    # (step, names of the cookies this browser holds after it), in order.
    journal: list[tuple[str, list[str]]] = field(default_factory=list)

    def watches(self, request: Request) -> bool:
        return request.url.startswith(self.tracker) and not request.url.endswith("/favicon.ico")

    def note(self, step: str) -> list[str]:
        """Write down the cookies held after `step`; returns their names."""
        names = sorted(self.cookies())
        self.journal.append((step, names))
        return names

    def follow(self, link: str) -> Response:
        """Open an email's tracked link; returns the tracker's redirect, once the (blank)
        destination page has loaded."""
        response = self.page.goto(link)
        assert response is not None
        assert (response.status, response.url) == (200, SHOP)
        assert self.page.locator("p").inner_text() == "blank page"
        hop = response.request.redirected_from
        assert hop is not None
        assert hop.url == link
        redirect = hop.response()
        assert redirect is not None
        assert redirect.status == 302
        assert redirect.headers["location"] == SHOP
        assert redirect.headers["referrer-policy"] == "no-referrer"
        return redirect

    def open(self, url: str) -> Response:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == 200, response.text()
        return response

    def press(self, button: str) -> Response:
        """Press a button of the page's form; returns the response to the POST."""
        with self.page.expect_navigation() as navigation:
            self.page.get_by_role("button", name=button).click()
        response = navigation.value
        assert response is not None
        assert response.request.method == "POST"
        assert response.status == 200, response.text()
        return response


@pytest.fixture
def browsers(chromium: Browser, tracker: str) -> Iterator[Callable[[str], Tab]]:
    """Opens a fresh browser (Chromium context) per person."""
    opened: list[Tab] = []

    def open_browser(who: str) -> Tab:
        tab = Tab.start(chromium, tracker=tracker, who=who)
        opened.append(tab)
        tab.shop = tab.answer(SHOP_PAGES, BLANK)
        tab.page.on("request", lambda request: tab.requests.append(request))
        return tab

    try:
        yield open_browser
        for tab in opened:
            print(f"\ncookies held by {tab.who}'s browser, step by step:")
            for step, names in tab.journal:
                print(f"  {step:<44} {names}")
            assert tab.problems == [], tab.who
    finally:
        for tab in opened:
            tab.context.close()


def clicks() -> list[tuple[int, int | None]]:
    """Every recorded click, in order: (link id, recipient id or None if anonymous)."""
    return list(EmailClick.objects.order_by("pk").values_list("link_id", "recipient_id"))


def test_problem_1_a_fresh_browser_clicks_unsubscribes_and_clicks_again_and_never_gets_a_cookie(
    browsers, tracker
):
    # Create a new contact (who consented to tracking by email) and send them an email with a
    # link to a blank page and an unsubscribe link.
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    assert "?ct=" in links.tracked  # attributed to the recipient
    ada = browsers("Ada")

    # Open the regular link in an incognito browser tab.
    redirect = ada.follow(links.tracked)
    assert set_cookies(redirect) == {}
    assert ada.note("regular link opened") == []
    assert clicks() == [(sent.link.pk, sent.recipient.pk)]
    assert ada.shop == [SHOP]  # the stored URL only: the ct stays on the tracker

    # Now open the unsubscribe link: the page asks, and changes nothing yet.
    page = ada.open(links.unsubscribe)
    assert ada.page.get_by_role("heading").inner_text() == "Unsubscribe?"
    assert set_cookies(page) == {}
    assert ada.note("unsubscribe link opened (GET)") == []
    assert not contact_is_dnc(contact=sent.contact)

    # Press the button.
    done = ada.press("Unsubscribe")
    assert ada.page.get_by_role("heading").inner_text() == "Unsubscribe request received"
    assert set_cookies(done) == {}
    assert ada.note("unsubscribe button pressed (POST)") == []
    entry = DoNotContact.objects.get(contact=sent.contact)
    assert (entry.channel, entry.reason) == ("email", "unsubscribed")

    # Open the regular link once again: it still leads to the page, tracks no one.
    redirect = ada.follow(links.tracked)
    assert set_cookies(redirect) == {}
    assert ada.note("regular link opened again") == []
    assert clicks() == [(sent.link.pk, sent.recipient.pk), (sent.link.pk, None)]

    assert ada.journal == [
        ("regular link opened", []),
        ("unsubscribe link opened (GET)", []),
        ("unsubscribe button pressed (POST)", []),
        ("regular link opened again", []),
    ]


def test_problem_1_a_browser_that_granted_tracking_loses_its_device_cookie_on_the_unsubscribe_page(
    browsers, tracker
):
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    ada = browsers("Ada")
    ada.carry(**{CONSENT: consent_cookie("g")})  # she granted tracking on the website earlier
    assert ada.note("tracking granted on the website") == [CONSENT]

    # Her own grant permits the device cookie.
    redirect = ada.follow(links.tracked)
    assert set_cookies(redirect) == {DEVICE: "set"}
    assert ada.note("regular link opened") == [CONSENT, DEVICE]
    assert clicks() == [(sent.link.pk, sent.recipient.pk)]

    # The unsubscribe page expires it at once, before anything is confirmed; her choice stays.
    page = ada.open(links.unsubscribe)
    assert set_cookies(page) == {DEVICE: "expired"}
    assert ada.note("unsubscribe link opened (GET)") == [CONSENT]
    assert not contact_is_dnc(contact=sent.contact)

    done = ada.press("Unsubscribe")
    assert set_cookies(done) == {}
    assert ada.note("unsubscribe button pressed (POST)") == [CONSENT]
    assert contact_is_dnc(contact=sent.contact, channel="email")

    # Her grant is still on the browser, but Do-Not-Contact is stronger: no tracking cookie
    # comes back, and her grant is turned into a refusal (no later request can use it).
    redirect = ada.follow(links.tracked)
    assert set_cookies(redirect) == {CONSENT: "set"}
    assert read_choice(ada.cookies()[CONSENT]["value"], int(time.time())).choice == "r"
    assert ada.note("regular link opened again") == [CONSENT]
    assert clicks() == [(sent.link.pk, sent.recipient.pk), (sent.link.pk, None)]

    assert ada.journal == [
        ("tracking granted on the website", [CONSENT]),
        ("regular link opened", [CONSENT, DEVICE]),
        ("unsubscribe link opened (GET)", [CONSENT]),
        ("unsubscribe button pressed (POST)", [CONSENT]),
        ("regular link opened again", [CONSENT]),
    ]


def test_problem_1_after_a_one_click_unsubscribe_from_the_mail_client_the_next_click_expires_the_device_cookie(  # noqa: E501
    browsers, chromium, tracker
):
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    ada = browsers("Ada")
    ada.carry(**{CONSENT: consent_cookie("g")})
    ada.note("tracking granted on the website")
    ada.follow(links.tracked)
    device = ada.cookies()[DEVICE]
    assert ada.note("regular link opened") == [CONSENT, DEVICE]

    # Her mail client's "Unsubscribe" button: an RFC 8058 POST that never touches her browser.
    mail_client = chromium.new_context(user_agent=CHROME)
    try:
        reply = mail_client.request.post(links.unsubscribe, form={"List-Unsubscribe": "One-Click"})
        assert reply.status == 200, reply.text()
        assert mail_client.cookies() == []
    finally:
        mail_client.close()
    assert contact_is_dnc(contact=sent.contact, channel="email")
    assert ada.cookies()[DEVICE] == device
    assert ada.note("unsubscribed from the mail client") == [CONSENT, DEVICE]

    # The next click expires the device cookie, writes none, and turns the grant into a refusal.
    redirect = ada.follow(links.tracked)
    assert set_cookies(redirect) == {DEVICE: "expired", CONSENT: "set"}
    assert read_choice(ada.cookies()[CONSENT]["value"], int(time.time())).choice == "r"
    assert ada.note("regular link opened again") == [CONSENT]
    assert clicks() == [(sent.link.pk, sent.recipient.pk), (sent.link.pk, None)]

    assert ada.journal == [
        ("tracking granted on the website", [CONSENT]),
        ("regular link opened", [CONSENT, DEVICE]),
        ("unsubscribed from the mail client", [CONSENT, DEVICE]),
        ("regular link opened again", [CONSENT]),
    ]


def test_problem_2_a_forwarded_email_is_attributed_to_the_recipient_and_sets_no_cookie_for_the_forwardee(  # noqa: E501
    browsers, tracker
):
    # Ada consented and received the email; she forwards it to Bob, who never consented.
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    bob = browsers("Bob")

    redirect = bob.follow(links.tracked)
    assert set_cookies(redirect) == {}
    assert bob.note("forwarded link opened") == []
    # Tracked on the server and attributed to Ada, who consented: Bob's data is not processed.
    assert clicks() == [(sent.link.pk, sent.recipient.pk)]
    assert EmailClick.objects.get().machine is False

    bob.follow(links.tracked)
    assert bob.note("forwarded link opened again") == []
    assert bob.journal == [("forwarded link opened", []), ("forwarded link opened again", [])]


def test_an_rfc_8058_one_click_post_from_the_browser_unsubscribes_and_sets_no_cookie(
    browsers, tracker
):
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    ada = browsers("Ada")

    reply = ada.context.request.post(links.unsubscribe, form={"List-Unsubscribe": "One-Click"})
    assert reply.status == 200, reply.text()
    assert reply.text() == ONE_CLICK_ANSWER
    assert set_cookies(reply) == {}
    assert ada.note("one-click unsubscribe posted") == []
    entry = DoNotContact.objects.get(contact=sent.contact)
    assert (entry.channel, entry.reason) == ("email", "unsubscribed")
    assert ada.journal == [("one-click unsubscribe posted", [])]


@pytest.mark.parametrize(
    ("carried", "kept"),
    [
        pytest.param({}, [], id="fresh-browser"),
        pytest.param(
            {CONSENT: consent_cookie("g"), DEVICE: device_cookie("dev-1")},
            [CONSENT],
            id="browser-that-granted-tracking",
        ),
    ],
)
def test_the_web_view_sets_no_cookie_and_loads_no_tracker(browsers, tracker, carried, kept):
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    # The email as sent has a per-recipient open pixel; the web view must not load it.
    assert f'src="{tracker}/email/{sent.recipient.token}.gif"' in sent.html
    ada = browsers("Ada")
    ada.carry(**carried)

    start = len(ada.requests)
    response = ada.page.goto(links.webview, wait_until="networkidle")
    assert response is not None
    assert response.status == 200
    assert ada.page.get_by_role("heading").inner_text() == "Hello Ada"
    # The original link, not the tracked one.
    assert ada.page.get_by_role("link", name="See the sale").get_attribute("href") == SHOP
    # Nothing in the page could load one later either.
    sources = ada.page.eval_on_selector_all("[src], link[href]", "els => els.map(e => e.outerHTML)")
    assert sources == []
    loaded = [urlsplit(request.url) for request in ada.requests[start:]]
    assert [part.path for part in loaded if TRACKERS.match(part.path)] == []
    assert {part.path for part in loaded} <= {urlsplit(links.webview).path, "/favicon.ico"}
    assert set_cookies(response) == ({DEVICE: "expired"} if carried else {})
    assert ada.note("web view opened") == kept


def test_mautics_legacy_cookies_are_expired_by_the_unsubscribe_page(browsers, tracker):
    sent = sent_to("ada@example.com", consented=True)
    links = Links.of(sent, tracker)
    ada = browsers("Ada")
    ada.carry(mtc_id="42", mautic_device_id="abcdef0123456789")
    assert ada.note("Mautic's cookies still on the browser") == ["mautic_device_id", "mtc_id"]

    page = ada.open(links.unsubscribe)
    assert set_cookies(page) == {"mautic_device_id": "expired", "mtc_id": "expired"}
    assert ada.note("unsubscribe link opened (GET)") == []
    assert not contact_is_dnc(contact=sent.contact)
    assert ada.journal == [
        ("Mautic's cookies still on the browser", ["mautic_device_id", "mtc_id"]),
        ("unsubscribe link opened (GET)", []),
    ]
