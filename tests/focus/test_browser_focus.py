"""Focus items in a real Chromium, on a host page of another origin of the same site.

Nothing is mocked: the host page carries the snippet the admin hands out
(`<script src=".../focus/N.js" async>`), the script renders the item in a shadow root and loads
its view pixel from the live Django server (real request cycle, real database, real consent
gate), and what the browser ends up holding is read back from Chromium itself. Without a Redis
URL every view and conversion is written straight to the database, so rows can be asserted as
soon as the tracker has answered. Playwright's locators pierce the item's open shadow root.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core import signing
from playwright.sync_api import Browser, Dialog, Locator, Request, Response, expect

from consent import registry
from focus.models import FocusEvent, FocusItem
from forms.models import Submission
from tests.support.browser import (
    BLANK,
    CONSENT,
    DEVICE,
    SHOP_PAGES,
    TIMEOUT_MS,
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
from tests.support.forming import form_make

pytestmark = [pytest.mark.browser]

SHOP = "https://shop.example.com/sale"
SUCCESS = "Thank you, we received your message."
PIXEL = re.compile(r"^/focus/(\d+)/viewpixel\.gif$")


def item_make(**fields: Any) -> FocusItem:
    """A published top bar, shown at once on every page, as the admin would make it."""
    return FocusItem.objects.create(
        **{
            "name": "Sale bar",
            "style": "bar_top",
            "headline": "Autumn sale",
            "text": "<p>20% off <strong>everything</strong></p>",
            "foreground": "#fefefe",
            "button_label": "Shop now",
            "trigger": "immediately",
            "frequency": "every_page",
            **fields,
        }
    )


def views() -> list[tuple[int, str, int | None]]:
    """Every recorded focus event, in order: (item id, kind, device id or None)."""
    return list(FocusEvent.objects.order_by("pk").values_list("focus_id", "kind", "device_id"))


@dataclass(kw_only=True)
class Visitor(Person):
    """A person in Chromium on the host site, whose pages embed focus items."""

    site: HostSite
    # Every view pixel the tracker answered, in order: (item id, response).
    pixels: list[tuple[int, Response]] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def embed(self, *items: FocusItem, css: str = "", tracking: str | None = None) -> str:
        """A page of the host site embedding `items` (and the tracking script with the page's
        `tracking` commands, if given); returns its path."""
        head = f"<style>{css}</style>" if css else ""
        if tracking is not None:
            head += tracking_snippet(self.tracker, tracking)
        scripts = "".join(
            f'<script src="{self.tracker}/focus/{item.pk}.js" async></script>\n' for item in items
        )
        path = "/page-" + "-".join(str(item.pk) for item in items)
        body = f"{scripts}<p>The host page's own content.</p>"
        return self.site.serve(path, host_page("Autumn", head=head, body=body))

    def open(self, path: str, *shown: FocusItem) -> None:
        """Load a host page and wait until the tracker answered the view pixel of each item
        in `shown`."""
        start = len(self.pixels)
        self.page.goto(self.site.origin + path)
        expected = sorted(item.pk for item in shown)
        self.until(
            lambda: sorted(pk for pk, _ in self.pixels[start:]) == expected,
            f"the views of items {expected} on {path}",
        )
        for _, pixel in self.pixels[start:]:
            assert pixel.status == 200, pixel.url
            assert pixel.headers["content-type"] == "image/gif"

    def item(self, focus: FocusItem) -> Locator:
        """The item's box, inside the shadow root of its host element."""
        return self.page.locator(f'[data-consentry-focus="{focus.pk}"] .f')

    def absent(self, focus: FocusItem) -> bool:
        """Whether `focus` stays away from the loaded page, once the page has loaded (every
        async script has run) and made no request for half a second."""
        self.page.wait_for_load_state("networkidle")
        return self.page.locator(f'[data-consentry-focus="{focus.pk}"]').count() == 0

    def pwned(self) -> Any:
        return self.page.evaluate("() => window.pwned")


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    with browsing(Visitor.start(chromium, tracker=site.tracker, site=site)) as person:

        def finished(request: Request) -> None:
            pixel = PIXEL.match(request.url.removeprefix(person.tracker))
            if pixel:
                response = request.response()
                assert response is not None
                person.pixels.append((int(pixel.group(1)), response))

        def dialog(dialog: Dialog) -> None:
            person.dialogs.append(dialog.message)
            dialog.dismiss()

        person.page.on("requestfinished", finished)
        person.page.on("dialog", dialog)
        yield person
        assert person.dialogs == []


def test_a_focus_bar_on_another_origin_is_shown_counted_and_leaves_only_the_frequency_cookie(
    visitor,
):
    item = item_make(frequency="once")
    visitor.open(visitor.embed(item), item)

    bar = visitor.item(item)
    expect(bar).to_be_visible()
    expect(bar.locator("h2")).to_have_text("Autumn sale")
    expect(bar.locator("h2")).to_be_visible()
    assert bar.get_attribute("role") == "region"
    # The view is counted, anonymously: no choice was made on this browser.
    eventually(lambda: len(views()) == 1, "the view is counted")
    assert views() == [(item.pk, "view", None)]
    event = FocusEvent.objects.get()
    assert (event.contact, event.machine) == (None, False)

    # No tracking cookie on either origin (they share the host name): only the functional
    # frequency cookie of this item, on the tracker's host, holding a time and nothing else.
    name = registry.FOCUS.named(item.pk)
    cookies = visitor.cookies()
    assert set(cookies) == {name}
    frequency = cookies[name]
    assert frequency["domain"] == urlsplit(visitor.tracker).hostname
    assert (frequency["sameSite"], frequency["secure"], frequency["httpOnly"]) == (
        "Lax",
        False,
        True,
    )
    data = signing.loads(frequency["value"], salt=f"{registry.FOCUS.salt}.{item.pk}")
    assert set(data) == {"t", "i"}
    # The host page stored nothing, and cannot read the HttpOnly frequency cookie.
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


def test_after_a_grant_through_the_tracking_script_the_next_view_is_identified(visitor):
    item = item_make()
    # The tracking script as well, with no call of the page's own: its consent banner decides.
    page = visitor.embed(item, tracking="")
    visitor.open(page, item)
    visitor.page.wait_for_function("() => window.mt && window.mt.consentry === true")
    reply = visitor.page.evaluate("() => window.mt('consent', 'grant')")
    assert reply == {"consent": "granted", "counted": False, "reason": "granted"}
    assert set(visitor.cookies()) == {CONSENT, DEVICE}

    visitor.open(page, item)
    expect(visitor.item(item).locator("h2")).to_have_text("Autumn sale")
    eventually(lambda: len(views()) == 2, "both views are counted")
    first, second = FocusEvent.objects.select_related("device").order_by("pk")
    assert first.device is None  # before the grant
    assert second.device is not None
    assert second.device.public_id == visitor.device_id()
    assert set(visitor.cookies()) == {CONSENT, DEVICE}


def test_with_a_granted_consent_cookie_the_view_is_identified_at_once(visitor):
    item = item_make()
    visitor.carry(**{CONSENT: consent_cookie("g")})
    visitor.open(visitor.embed(item), item)
    expect(visitor.item(item)).to_be_visible()
    eventually(lambda: len(views()) == 1, "the view is counted")
    event = FocusEvent.objects.select_related("device").get()
    assert event.device is not None
    assert event.device.public_id == visitor.device_id()
    assert set(visitor.cookies()) == {CONSENT, DEVICE}


@pytest.mark.parametrize("frequency", ["once", "minutes"])
def test_an_item_shown_once_stays_away_on_the_next_page_load_while_an_every_page_item_comes_back(
    visitor, frequency
):
    rare = item_make(name="Rare", headline="Only once", frequency=frequency, frequency_minutes=30)
    # Shown a second after the page loads, so that the two views do not write at once (the
    # live server's threads share one SQLite connection).
    always = item_make(name="Always", headline="Every page", trigger="delay", trigger_value=1)
    page = visitor.embed(rare, always)

    visitor.open(page, rare, always)
    expect(visitor.item(rare).locator("h2")).to_have_text("Only once")
    expect(visitor.item(always).locator("h2")).to_have_text("Every page")
    eventually(lambda: len(views()) == 2, "both views are counted")

    with visitor.page.expect_response(f"{visitor.tracker}/focus/{rare.pk}.js") as script:
        visitor.open(page, always)
    assert script.value.text() == f"/* focus item {rare.pk} is not due for this browser */\n"
    expect(visitor.item(always).locator("h2")).to_have_text("Every page")
    assert visitor.absent(rare)
    eventually(lambda: len(views()) == 3, "the every-page item's second view is counted")
    assert [(focus, kind) for focus, kind, _ in views()] == [
        (rare.pk, "view"),
        (always.pk, "view"),
        (always.pk, "view"),
    ]
    # Only the item that keeps a frequency needs to remember it.
    assert set(visitor.cookies()) == {registry.FOCUS.named(rare.pk)}


def test_two_once_items_shown_together_both_stay_away_on_the_next_page_load(visitor, settings):
    # Nothing is counted, so the two views answered at once write nothing but the frequency
    # cookie (the live server's threads share one SQLite connection, which two writes at once
    # would find locked).
    settings.TRACKING_MODE = "off"
    first = item_make(name="First", headline="First", frequency="once")
    second = item_make(name="Second", headline="Second", frequency="once")
    page = visitor.embed(first, second)
    visitor.open(page, first, second)
    expect(visitor.item(first)).to_be_visible()
    expect(visitor.item(second)).to_be_visible()

    visitor.page.goto(visitor.site.origin + page)
    assert visitor.absent(first)
    assert visitor.absent(second)


def test_the_button_leads_to_its_link_and_counts_a_conversion_without_a_tracking_cookie(visitor):
    item = item_make(button_url=SHOP)
    shop = visitor.answer(SHOP_PAGES, BLANK)
    visitor.open(visitor.embed(item), item)

    button = visitor.item(item).get_by_role("link", name="Shop now")
    assert button.get_attribute("href").startswith(f"{visitor.tracker}/r/")
    with visitor.page.expect_navigation(url=SHOP):
        button.click()
    assert visitor.page.locator("p").inner_text() == "blank page"
    assert shop == [SHOP]
    eventually(lambda: len(views()) == 2, "the conversion is counted")
    assert views() == [(item.pk, "view", None), (item.pk, "conversion", None)]
    assert set(visitor.cookies()) == set()


def test_a_button_that_opens_a_form_shows_it_and_the_submission_counts_as_a_conversion(visitor):
    form = form_make()
    item = item_make(form=form, button_url="", button_label="Write to us")
    visitor.open(visitor.embed(item), item)

    visitor.item(item).get_by_role("button", name="Write to us").click()
    # The form carries the item it was opened from.
    embedded = visitor.page.locator("form.consentry-form")
    expect(embedded).to_be_visible(timeout=TIMEOUT_MS)
    assert embedded.locator("input[name=cs_focus]").get_attribute("value") == str(item.pk)

    embedded.locator("[name=email]").fill("ada@example.com")
    with visitor.page.expect_response(
        lambda response: response.url.startswith(f"{visitor.tracker}/form/submit?")
    ) as answer:
        embedded.locator("button[type=submit]").click()
    assert answer.value.status == 200
    expect(embedded.locator(".consentry-message")).to_have_text(SUCCESS)
    submission = Submission.objects.get()
    assert (submission.data["email"], submission.identified) == ("ada@example.com", False)
    assert views() == [(item.pk, "view", None), (item.pk, "conversion", None)]
    assert set(visitor.cookies()) == set()


def test_the_form_a_button_opens_is_shown_inside_the_item(visitor):
    item = item_make(form=form_make(), button_url="", button_label="Write to us", style="full_page")
    visitor.open(visitor.embed(item), item)

    visitor.item(item).get_by_role("button", name="Write to us").click()
    expect(visitor.page.locator("form.consentry-form")).to_have_count(1, timeout=TIMEOUT_MS)
    assert visitor.item(item).locator("form.consentry-form").count() == 1


def test_the_host_pages_aggressive_css_does_not_reach_into_the_item(visitor):
    item = item_make(foreground="#123456")
    css = "* { color: red !important; font-size: 40px !important }"
    visitor.open(visitor.embed(item, css=css), item)

    headline = visitor.item(item).locator("h2")
    expect(headline).to_be_visible()
    style = headline.evaluate(
        "(el) => { const s = getComputedStyle(el); return [s.color, s.fontSize]; }"
    )
    assert style[0] == "rgb(18, 52, 86)"  # the item's foreground, not red
    assert style[1] != "40px"
    # The control: the host page's own heading is red.
    own = visitor.page.locator("h1").evaluate("(el) => getComputedStyle(el).color")
    assert own == "rgb(255, 0, 0)"


def test_hostile_headline_and_text_are_shown_as_text_and_run_nothing(visitor):
    item = item_make(
        headline="<b onmouseover=alert(1)>",
        text='<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>',
    )
    visitor.open(visitor.embed(item), item)

    box = visitor.item(item)
    expect(box.locator("h2")).to_have_text("<b onmouseover=alert(1)>")
    box.locator("h2").hover()
    assert box.locator("b, img, script").count() == 0
    visitor.page.wait_for_load_state("networkidle")  # time for a broken image's onerror
    assert visitor.pwned() is None
    assert visitor.dialogs == []
