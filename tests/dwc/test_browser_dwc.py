"""Dynamic web content in a real Chromium: Mautic's slot markup, pasted verbatim on a host
page of another origin of the same site beside the tracking snippet. Before consent the page's
own default stays and nothing asks /dwc; after a grant through the script, the slot is filled
from the live tracker (real request cycle, database and gate) with the variant for the known
contact behind the browser's device.

The fill is the tracking script's own: once the server says the browser may be tracked, /mtc.js
loads the slot filler (/mtc-dwc.js, clients/js/src/dwc.ts) on a page that has slots."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Request

from contacts.models import Contact, Device
from contacts.services import device_link
from dwc.models import DwcView, Item, Slot, Variant
from tests.support.browser import (
    CONSENT,
    DEVICE,
    HostSite,
    Person,
    browsing,
    eventually,
    host_page,
    tracking_snippet,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site

pytestmark = [pytest.mark.browser]

HERE = Path(__file__).resolve().parent
SLOT_MARKUP = (HERE / "mautic_dwc_slot.html").read_text()
DEFAULT = "Dynamic web content for myslot"


@dataclass(kw_only=True)
class Visitor(Person):
    site: HostSite
    asked: list[str] = field(default_factory=list)  # every /dwc request, in order

    def open(self) -> None:
        body = SLOT_MARKUP + "<p>The host page's own content.</p>"
        head = tracking_snippet(self.tracker, "mt('send', 'pageview');")
        path = self.site.serve("/dwc-page", host_page("Welcome", head=head, body=body))
        with self.page.expect_response(lambda r: r.url.endswith("/mtc/event")):
            self.page.goto(self.site.origin + path)
        self.page.wait_for_load_state("networkidle")

    def slot_text(self) -> str:
        return self.page.locator('[data-slot="dwc"]').inner_text().strip()


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    with browsing(Visitor.start(chromium, tracker=site.tracker, site=site)) as person:

        def sent(request: Request) -> None:
            if request.url.startswith(person.tracker + "/dwc"):
                person.asked.append(request.url)

        person.page.on("request", sent)
        yield person


@pytest.fixture
def myslot() -> Slot:
    slot = Slot.objects.create(name="myslot")
    item = Item.objects.create(
        slot=slot, name="Everyone", is_default=True, content="<p>Welcome, visitor</p>"
    )
    Variant.objects.create(
        item=item,
        name="Customers",
        content='<p class="hello">Welcome back, <strong>Ada</strong></p>',
        filters=[{"field": "plan", "op": "eq", "value": "pro", "glue": "and"}],
    )
    return slot


def test_the_default_stays_before_consent_and_a_granted_known_contact_gets_the_variant(
    visitor, myslot
):
    ada = Contact.objects.create(email="ada@example.com", fields={"plan": "pro"})

    # Before consent: the page's own default, no request for content, nothing on the device.
    visitor.open()
    assert visitor.slot_text() == DEFAULT
    assert visitor.asked == []
    assert visitor.cookies() == {}
    assert not DwcView.objects.exists()

    # The visitor grants through the script; the browser's device is Ada's (as a form she
    # submitted, or a link she followed, would have tied it).
    visitor.page.wait_for_function("() => window.mt && window.mt.consentry === true")
    reply = visitor.page.evaluate("() => window.mt('consent', 'grant')")
    assert reply["consent"] == "granted"
    # Granted: the script fills the slot at once, with the item for everyone (no one known yet).
    eventually(lambda: visitor.slot_text() == "Welcome, visitor", "the grant fills the slot")
    device, _ = Device.objects.get_or_create(public_id=visitor.device_id())
    device_link(device=device, contact=ada)

    visitor.open()
    eventually(lambda: "Ada" in visitor.slot_text(), "the slot shows the variant")
    assert visitor.slot_text() == "Welcome back, Ada"
    assert visitor.page.locator('[data-slot="dwc"] p.hello strong').inner_text() == "Ada"
    assert len(visitor.asked) >= 1
    assert all("/dwc/myslot" in url for url in visitor.asked)
    # The grant's own page already asked once (Ada was not behind the device yet: the default
    # item); this page's view is Ada's variant.
    view = DwcView.objects.select_related("variant").latest("id")
    assert (view.contact, view.variant.name) == (ada, "Customers")
    assert set(visitor.cookies()) == {CONSENT, DEVICE}
    # The host page itself can read nothing of it.
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


def test_a_granted_browser_no_contact_is_behind_gets_the_default_item(visitor, myslot):
    visitor.open()
    visitor.page.wait_for_function("() => window.mt && window.mt.consentry === true")
    visitor.page.evaluate("() => window.mt('consent', 'grant')")
    eventually(lambda: visitor.slot_text() == "Welcome, visitor", "the grant fills the slot")
    visitor.open()
    eventually(lambda: visitor.slot_text() == "Welcome, visitor", "the default item again")
    assert DwcView.objects.count() >= 1
    assert not DwcView.objects.filter(variant__isnull=False).exists()
    assert not DwcView.objects.filter(contact__isnull=False).exists()
