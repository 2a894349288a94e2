"""The consent banner a site already runs, read by the tracker's bridges, in Chromium: a host
page of another origin with the real vanilla-cookieconsent and Klaro from npm (vendored in
tests/support/cmp/), Google Consent Mode through the dataLayer, and a TCF v2.2 CMP stub that
follows the spec's __tcfapi contract. For each, a visitor who has not chosen keeps nothing; an
accept gives the tracker's device cookie and identified hits; a reject or a withdrawal makes
them anonymous again; and the consent log grows by one record per change of choice, with its
source, never per page view."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, Request, Route

from consent.models import ConsentRecord
from tests.support.browser import (
    CONSENT,
    DEVICE,
    HostSite,
    Person,
    browsing,
    host_page,
    tracking_snippet,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CMP = Path(__file__).resolve().parents[1] / "support" / "cmp"
# The vendored files, served by the host site itself as a site serves its banner.
FILES = {
    "/cmp/cookieconsent.umd.js": CMP / "vanilla-cookieconsent-3.1.0" / "cookieconsent.umd.js",
    "/cmp/cookieconsent.css": CMP / "vanilla-cookieconsent-3.1.0" / "cookieconsent.css",
    "/cmp/klaro.js": CMP / "klaro-0.7.22" / "klaro.js",
    "/cmp/tcf_stub.js": CMP / "tcf_stub.js",
}
RELOADS = 3


@dataclass(kw_only=True)
class Visitor(Person):
    """A person on the host site, whose banner answers for them."""

    site: str
    # The bridge's consent commands that the tracker answered, in order.
    reports: list[dict[str, Any]] = field(default_factory=list)
    # The tracker's requests still under way.
    pending: set[Request] = field(default_factory=set)

    def watches(self, request: Request) -> bool:
        return request.url.startswith(self.tracker)

    def open(self, path: str) -> None:
        """Load the page and wait until the page, its banner and the tracker are quiet."""
        self.page.goto(self.site + path)
        self.settle()

    def reload(self) -> None:
        self.until(lambda: not self.pending, "the tracker answered")  # none is cut off
        self.page.reload()
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_function("() => window.mt && window.mt.consentry === true")
        self.page.wait_for_load_state("networkidle")
        self.until(lambda: not self.pending, "the tracker answered")

    def tracker_cookies(self) -> set[str]:
        """The tracker's own cookies (the banner keeps its own on the same site)."""
        return set(self.cookies()) & {CONSENT, DEVICE}

    def nothing_stored(self) -> None:
        assert self.cookies() == {}
        assert self.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    with browsing(Visitor.start(chromium, tracker=site.tracker, site=site.origin)) as person:

        def serve(route: Route) -> None:
            path = "/" + route.request.url.split("/", 3)[3]
            kind = "text/css" if path.endswith(".css") else "text/javascript"
            route.fulfill(status=200, body=FILES[path].read_bytes(), content_type=kind)

        person.context.route(f"{site.origin}/cmp/*", serve)

        def started(request: Request) -> None:
            if request.url.startswith(person.tracker):
                person.pending.add(request)

        def finished(request: Request) -> None:
            person.pending.discard(request)
            if request.url == f"{person.tracker}/mtc/event" and request.method == "POST":
                body = json.loads(request.post_data or "{}")
                if body.get("type") == "consent":
                    person.reports.append(body)

        person.page.on("request", started)
        person.page.on("requestfinished", finished)
        person.page.on("requestfailed", lambda request: person.pending.discard(request))
        yield person


@dataclass(frozen=True)
class Banner:
    """One banner on one page: how it is embedded, and how a visitor answers it."""

    name: str  # what the page names in mt('consentSource', name)
    source: str  # what the consent record says
    notice: str | None  # the notice version the banner gives (else the site's is recorded)
    head: str
    body: str
    accept: Callable[[Visitor], None]
    refuse: Callable[[Visitor], None]  # the first answer is no
    withdraw: Callable[[Visitor], None]  # no, after a yes


def click(selector: str) -> Callable[[Visitor], None]:
    return lambda visitor: visitor.page.locator(selector).first.click()


def then(*steps: Callable[[Visitor], None]) -> Callable[[Visitor], None]:
    def run(visitor: Visitor) -> None:
        for step in steps:
            step(visitor)

    return run


def evaluate(script: str) -> Callable[[Visitor], None]:
    return lambda visitor: visitor.page.evaluate(script)


COOKIECONSENT = Banner(
    name="cookieconsent",
    source="cookieconsent",
    notice="2",
    head='<link rel="stylesheet" href="/cmp/cookieconsent.css">'
    '<script src="/cmp/cookieconsent.umd.js"></script>',
    # The site's configuration, as vanilla-cookieconsent's documentation shows it; bots are
    # shown the banner too (Chromium driven by Playwright says it is automated).
    body="""<script>
CookieConsent.run({
  hideFromBots: false,
  revision: 2,
  categories: { necessary: { enabled: true, readOnly: true }, analytics: {} },
  language: { default: 'en', translations: { en: {
    consentModal: { title: 'Cookies', description: 'We measure visits.',
      acceptAllBtn: 'Accept all', acceptNecessaryBtn: 'Reject all' },
    preferencesModal: { title: 'Preferences', acceptAllBtn: 'Accept all',
      acceptNecessaryBtn: 'Reject all', savePreferencesBtn: 'Save',
      sections: [{ title: 'Analytics', linkedCategory: 'analytics' }] } } } }
});
</script>""",
    accept=click('#cc-main .cm__btn[data-role="all"]'),
    refuse=click('#cc-main .cm__btn[data-role="necessary"]'),
    withdraw=then(
        evaluate("CookieConsent.showPreferences()"),
        click('#cc-main .pm__btn[data-role="necessary"]'),
    ),
)

KLARO = Banner(
    name="klaro",
    source="klaro",
    notice=None,
    # Klaro's documented setup: a klaroConfig, then its script. No `callback`: the bridge
    # reads the consent manager instead.
    head="""<script>
var klaroConfig = { storageMethod: 'cookie', storageName: 'klaro', acceptAll: true,
  groupByPurpose: false,
  services: [{ name: 'consentry', title: 'Consentry', purposes: ['analytics'] }] };
</script>
<script defer src="/cmp/klaro.js"></script>""",
    body="",
    accept=click(".klaro .cookie-notice .cm-btn-success"),
    refuse=click(".klaro .cookie-notice .cn-decline"),
    # Once answered, Klaro's modal has a switch per service and a save button.
    withdraw=then(
        evaluate("klaro.show()"),
        click('.klaro .cookie-modal label[for="service-item-consentry"]'),
        click(".klaro .cookie-modal .cm-btn-accept"),
    ),
)

GCM = Banner(
    name="gcm",
    source="gcm",
    notice=None,
    # Google's gtag snippet and Consent Mode calls, with a banner of the site's own that keeps
    # its answer in its own storage and passes it on with gtag('consent', 'update', ...).
    head="""<script>
window.dataLayer = window.dataLayer || [];
function gtag(){dataLayer.push(arguments);}
gtag('consent', 'default', { analytics_storage: 'denied', ad_storage: 'denied' });
var saved = localStorage.getItem('banner');
if (saved) gtag('consent', 'update', { analytics_storage: saved });
function choose(value) {
  localStorage.setItem('banner', value);
  gtag('consent', 'update', { analytics_storage: value });
}
</script>""",
    body="""<button id="accept" onclick="choose('granted')">Accept</button>
<button id="reject" onclick="choose('denied')">Reject</button>""",
    accept=click("#accept"),
    refuse=click("#reject"),
    withdraw=click("#reject"),
)

TCF = Banner(
    name="tcf",
    source="tcf:300",
    notice="4",
    head='<script src="/cmp/tcf_stub.js"></script>',
    body="""<div id="tcf-banner" hidden><button id="tcf-accept">Accept</button>
<button id="tcf-reject">Reject</button></div>""",
    accept=click("#tcf-accept"),
    refuse=click("#tcf-reject"),
    withdraw=then(evaluate("tcfStub.reopen()"), click("#tcf-reject")),
)

BANNERS = [COOKIECONSENT, KLARO, GCM, TCF]


def serve(site: HostSite, banner: Banner) -> str:
    """The banner's page on the host site, with the tracker's snippet naming the banner."""
    commands = f"mt('consentSource', '{banner.name}');\nmt('send', 'pageview');"
    head = banner.head + tracking_snippet(site.tracker, commands)
    return site.serve(f"/{banner.name}", host_page(banner.name, head=head, body=banner.body))


def records() -> list[tuple[str, str, str]]:
    return list(
        ConsentRecord.objects.order_by("pk").values_list("action", "source", "notice_version")
    )


@pytest.mark.parametrize("banner", BANNERS, ids=[b.name for b in BANNERS])
def test_a_banner_s_choice_is_followed_and_logged_once_per_change(visitor, site, banner):
    path = serve(site, banner)
    hits = AnonymousHit.objects.filter(path=path)
    identified = PageHit.objects.filter(path=path)

    # Before the choice: counted anonymously, and nothing kept, however often the page loads.
    visitor.open(path)
    visitor.reload()
    assert hits.count() == 2
    visitor.nothing_stored()
    assert not ConsentRecord.objects.exists()

    # Accept: the tracker's device cookie at once, one grant with its source.
    banner.accept(visitor)
    visitor.until(lambda: DEVICE in visitor.tracker_cookies(), "the device cookie")
    assert visitor.tracker_cookies() == {CONSENT, DEVICE}
    notice = banner.notice or settings.CONSENT_NOTICE_VERSION
    grant = ("grant", banner.source, notice)
    visitor.until(lambda: records() == [grant], "one grant recorded")
    device = visitor.device_id()

    # Every page view now is identified, and the banner's repeated state records nothing.
    reported = len(visitor.reports)
    for _ in range(RELOADS):
        visitor.reload()
    assert identified.filter(device__public_id=device).count() == RELOADS
    assert hits.count() == 2
    assert len(visitor.reports) > reported, "the bridge reported the banner's state on reload"
    assert records() == [grant]

    # Withdraw: the device cookie goes, one withdrawal is recorded, hits are anonymous again.
    banner.withdraw(visitor)
    withdraw = ("withdraw", banner.source, notice)
    visitor.until(lambda: records() == [grant, withdraw], "one withdrawal recorded")
    visitor.until(lambda: DEVICE not in visitor.tracker_cookies(), "the device cookie expired")
    for _ in range(RELOADS):
        visitor.reload()
    assert hits.count() == 2 + RELOADS
    assert identified.count() == RELOADS
    assert records() == [grant, withdraw]
    # Every report named where it came from, and what the CMP said of the visitor's act.
    assert {report["source"] for report in visitor.reports} == {banner.source}
    assert any(report["explicit"] is True for report in visitor.reports)


@pytest.mark.parametrize("banner", BANNERS, ids=[b.name for b in BANNERS])
def test_a_refusal_before_any_grant_is_remembered_once_and_nothing_identifies(
    visitor, site, banner
):
    path = serve(site, banner)
    visitor.open(path)
    banner.refuse(visitor)
    withdraw = ("withdraw", banner.source, banner.notice or settings.CONSENT_NOTICE_VERSION)
    visitor.until(lambda: records() == [withdraw], "one refusal recorded")
    for _ in range(RELOADS):
        visitor.reload()
    assert records() == [withdraw]
    assert DEVICE not in visitor.tracker_cookies()
    assert not PageHit.objects.exists()
    assert AnonymousHit.objects.filter(path=path).count() == 1 + RELOADS


def test_klaro_s_start_up_callback_false_is_no_refusal(visitor, site):
    """The issue's Klaro wiring: a service `callback` that calls mt('consent', ...) is called
    with false as Klaro starts; through the bridge, the start-up says nothing."""
    path = serve(site, KLARO)
    visitor.open(path)
    visitor.reload()
    assert visitor.page.evaluate("klaro.getManager(klaroConfig).confirmed") is False
    assert visitor.reports == []
    visitor.nothing_stored()
    assert not ConsentRecord.objects.exists()


def test_auto_finds_the_banner_on_the_page(visitor, site):
    """`auto` loads one detector; it picks vanilla-cookieconsent, which it found on the page."""
    auto = replace(COOKIECONSENT, name="auto")
    path = serve(site, auto)
    visitor.open(path)
    visitor.nothing_stored()
    auto.accept(visitor)
    grant = ("grant", "cookieconsent", COOKIECONSENT.notice)
    visitor.until(lambda: records() == [grant], "one grant recorded from the banner found")
    visitor.until(lambda: DEVICE in visitor.tracker_cookies(), "the device cookie")
