"""The landing page builder in a real Chromium, on a laptop and on a phone: the operator types
a title and the slug fills itself in, leaves the page unpublished, saves, and opens it from the
"View on site" link; a visitor gets the 'page not found' page until it is published, in the
public pages' look and no wider than a phone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from pages.models import LandingPage
from tests.consentry.test_browser_admin import Operator, Someone, using
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    HostSite,
    fits,
    within_width,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site

pytestmark = [pytest.mark.browser]

WIDTHS = {"laptop": 1366, "phone": 390}
ADD = "/admin/pages/landingpage/add/"


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with using(Operator.start(chromium, tracker=site.tracker)) as person:
        yield person


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Someone]:
    with using(Someone.start(chromium, tracker=site.tracker)) as person:
        yield person


def test_the_operator_builds_a_page_that_visitors_see_only_once_published(operator, visitor):
    operator.log_in()
    page = operator.page
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": 900})
        operator.visit(f"{operator.tracker}{ADD}")
        page.locator("#id_title").press_sequentially("Autumn offer: 20% off")
        # Django's prepopulate script fills the slug as the title is typed.
        expect(page.locator("#id_slug")).to_have_value("autumn-offer-20-off")
        published = page.locator("#id_published")
        expect(published).not_to_be_checked()
        expect(page.locator("#id_published_helptext")).to_contain_text(
            "Visitors can see the page only when this is ticked"
        )
        for field in ("title", "slug", "published", "body", "form", "focus"):
            expect(page.locator(f"#id_{field}_helptext")).to_be_visible()
            within_width(operator.page, f"#id_{field}_helptext", width)
        within_width(operator.page, "#id_title", width)
        within_width(operator.page, "#id_slug", width)
        assert fits(page, name="landing-builder", width=width).stat().st_size > 10_000

    page.locator("#id_body").fill("<p>Half the price, all of the warmth.</p>")
    operator.click_through(page.locator("input[name=_continue]"))
    saved = LandingPage.objects.get()
    assert (saved.slug, saved.published) == ("autumn-offer-20-off", False)

    # Not yet published: a visitor gets the 'page not found' page, fitting a phone.
    visitor.page.set_viewport_size({"width": WIDTHS["phone"], "height": 800})
    missing = visitor.page.goto(f"{visitor.tracker}/p/autumn-offer-20-off")
    assert missing is not None
    assert missing.status == 404
    expect(visitor.page.locator("h1")).to_have_text("Page not found")
    expect(visitor.page).to_have_title("Page not found")
    fits(visitor.page, name="404", width=WIDTHS["phone"])
    within_width(visitor.page, "main", WIDTHS["phone"])
    assert visitor.cookies() == {}
    assert visitor.page.evaluate("() => document.scripts.length") == 0

    # The operator previews it from the change page's link, then publishes it.
    change = page.url
    operator.click_through(page.get_by_role("link", name="View on site"))
    expect(page).to_have_url(f"{operator.tracker}/p/autumn-offer-20-off")
    expect(page.locator("h1")).to_have_text("Autumn offer: 20% off")
    operator.visit(change)
    page.locator("#id_published").check()
    operator.click_through(page.locator("input[name=_save]"))
    row = page.locator("#result_list tbody tr", has_text="Autumn offer")
    expect(row.get_by_role("link", name="View on site")).to_have_attribute(
        "href", "/p/autumn-offer-20-off"
    )
    shown = visitor.page.goto(f"{visitor.tracker}/p/autumn-offer-20-off")
    assert shown is not None
    assert shown.status == 200
    expect(visitor.page.locator("main")).to_contain_text("Half the price")
