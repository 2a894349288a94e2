"""An operator builds a focus item with a form in the admin, in a real Chromium: the live
preview follows the colours before anything is saved and counts nothing; on a host site of
another origin the saved modal dims the page behind it and the form it opens wears the item's
colours. The builder fits a desktop and a phone without sideways scrolling.

Nothing is mocked: the admin and the tracker are the live Django server, the host site is a
plain HTTP server of its own, and what each browser shows is read back from Chromium itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, FrameLocator, Locator, Request, expect

from focus.models import FocusEvent, FocusItem
from forms.models import Submission
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    TIMEOUT_MS,
    HostSite,
    Person,
    admin_log_in,
    browsing,
    eventually,
    fits,
    host_page,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make

pytestmark = [pytest.mark.browser]

SHOTS = Path("/tmp")
# Colours as Chromium reports them.
CREAM, INK, GREEN = "rgb(254, 243, 199)", "rgb(30, 41, 59)", "rgb(22, 101, 52)"
DEFAULT_BACKGROUND = "rgb(31, 41, 55)"


def css(target: Locator, prop: str) -> str:
    value: str = target.evaluate("(el, p) => getComputedStyle(el)[p]", prop)
    return value


@dataclass(kw_only=True)
class Operator(Person):
    """The operator, in the tracker's admin; every view pixel their browser asks for is noted."""

    pixels: list[str] = field(default_factory=list)

    def preview(self) -> FrameLocator:
        return self.page.frame_locator("iframe.focus-preview-frame")

    def previewed(self) -> Locator:
        """The item's box inside the preview frame (inside its shadow root)."""
        return self.preview().locator("[data-consentry-focus] .f")


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with browsing(Operator.start(chromium, tracker=site.tracker)) as person:

        def asked(request: Request) -> None:
            if "/viewpixel.gif" in request.url:
                person.pixels.append(request.url)

        person.page.on("request", asked)
        yield person


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Person]:
    with browsing(Person.start(chromium, tracker=site.tracker)) as person:
        yield person


def test_an_operator_builds_a_modal_with_a_form_previews_its_colours_and_a_visitor_sees_it(
    operator: Operator, visitor: Person, site: HostSite
) -> None:
    form = form_make()
    admin_log_in(operator.page, operator.tracker)
    operator.page.goto(f"{operator.tracker}/admin/focus/focusitem/add/")
    page = operator.page
    page.locator("#id_name").fill("Newsletter modal")
    page.locator("#id_style").select_option("modal")
    page.locator("#id_headline").fill("Join our newsletter")
    page.locator("#id_button_label").fill("Write to us")
    page.locator("#id_form").select_option(str(form.pk))

    # The preview draws the unsaved item at once, in the default colours.
    box = operator.previewed()
    expect(box.locator("h2")).to_have_text("Join our newsletter", timeout=TIMEOUT_MS)
    assert css(box, "backgroundColor") == DEFAULT_BACKGROUND

    # New colours, one from the picker and two typed as codes: the preview follows.
    page.locator("input[type=color][data-colour-for=id_background]").fill("#fef3c7")
    expect(page.locator("#id_background")).to_have_value("#fef3c7")
    page.locator("#id_foreground").fill("#1e293b")
    page.locator("#id_button_colour").fill("#166534")
    expect(box).to_have_css("background-color", CREAM, timeout=TIMEOUT_MS)
    expect(box.locator("h2")).to_have_css("color", INK)
    expect(box.locator(".b")).to_have_css("background-color", GREEN)  # the last change drawn
    # The form the button opens, inside the preview, in the item's colours; sending it there
    # sends nothing.
    page.locator("iframe.focus-preview-frame").scroll_into_view_if_needed()
    box.get_by_role("button", name="Write to us").click()
    previewed_form = box.locator("form.consentry-form")
    expect(previewed_form).to_be_visible(timeout=TIMEOUT_MS)
    expect(previewed_form.locator("button[type=submit]")).to_have_css("background-color", GREEN)
    previewed_form.locator("[name=email]").fill("ada@example.com")
    previewed_form.locator("button[type=submit]").click()
    expect(previewed_form.locator(".consentry-message")).to_have_text("Preview: nothing was sent.")
    assert not FocusItem.objects.exists()  # all of this before saving

    for width in (1366, 390):
        assert fits(page, name="focus-builder", width=width).stat().st_size > 10_000
    page.set_viewport_size({"width": 1366, "height": 900})
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    item = FocusItem.objects.get()
    assert (item.background, item.foreground, item.button_colour, item.form) == (
        "#fef3c7",
        "#1e293b",
        "#166534",
        form,
    )

    # Three openings of its change page, each drawing the preview: no view is counted.
    for _ in range(3):
        page.goto(f"{operator.tracker}/admin/focus/focusitem/{item.pk}/change/")
        expect(operator.previewed()).to_have_css("background-color", CREAM, timeout=TIMEOUT_MS)
    page.wait_for_load_state("networkidle")
    assert operator.pixels == []
    assert FocusEvent.objects.count() == 0

    # A visitor on the host site: the modal over a dimmed page, its form in its colours.
    script = f'<script src="{site.tracker}/focus/{item.pk}.js" async></script>'
    site.serve("/news", host_page("News", body=f"{script}<p>The host page.</p>"))
    visitor.page.goto(site.origin + "/news")
    shown = visitor.page.locator(f'[data-consentry-focus="{item.pk}"] .f')
    expect(shown).to_be_visible(timeout=TIMEOUT_MS)
    assert shown.get_attribute("aria-modal") == "true"
    backdrop = visitor.page.locator(f'[data-consentry-focus="{item.pk}"] .bd')
    expect(backdrop).to_be_visible()
    assert css(backdrop, "backgroundColor") == "rgba(0, 0, 0, 0.55)"
    covered = backdrop.bounding_box()
    assert covered is not None
    viewport = visitor.page.viewport_size
    assert viewport is not None
    assert (covered["width"], covered["height"]) == (viewport["width"], viewport["height"])
    assert css(shown, "backgroundColor") == CREAM

    shown.get_by_role("button", name="Write to us").click()
    embedded = shown.locator("form.consentry-form")
    expect(embedded).to_be_visible(timeout=TIMEOUT_MS)
    assert css(embedded.locator("label[for$=-email]"), "color") == INK
    assert css(embedded.locator("[name=email]"), "borderTopColor") == INK
    assert css(embedded.locator("button[type=submit]"), "backgroundColor") == GREEN
    assert css(embedded.locator("button[type=submit]"), "color") == "rgb(255, 255, 255)"
    visitor.page.screenshot(path=SHOTS / "consentry-focus-modal-on-host.png")

    # Escape closes the modal and its backdrop.
    visitor.page.keyboard.press("Escape")
    expect(visitor.page.locator(f'[data-consentry-focus="{item.pk}"]')).to_have_count(0)
    eventually(lambda: FocusEvent.objects.count() == 1, "the visitor's view is counted")
    assert list(FocusEvent.objects.values_list("kind", flat=True)) == ["view"]
    assert Submission.objects.count() == 0


def test_a_refused_configuration_shows_its_message_in_the_builder(operator: Operator) -> None:
    form = form_make()
    admin_log_in(operator.page, operator.tracker)
    page = operator.page
    page.goto(f"{operator.tracker}/admin/focus/focusitem/add/")
    page.locator("#id_name").fill("Both")
    page.locator("#id_headline").fill("Sale")
    page.locator("#id_button_url").fill("https://shop.example.com/sale")
    page.locator("#id_form").select_option(str(form.pk))
    page.locator("#id_trigger").select_option("scroll")
    page.locator("#id_trigger_value").fill("0")
    # The preview already lists what saving would refuse.
    expect(operator.preview().locator("ul.problems")).to_contain_text(
        "from 1 to 100", timeout=TIMEOUT_MS
    )
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    expect(page.locator("#id_form_error")).to_contain_text("either a link or a form, not both")
    expect(page.locator("#id_trigger_value_error")).to_contain_text("from 1 to 100")
    assert not FocusItem.objects.exists()
    assert fits(page, name="focus-builder-errors", width=390).stat().st_size > 10_000
