"""The visitor's privacy pages in a real Chromium, on a desktop (1366 px) and on phones (390 and
320 px): the cookie declaration reads whole on each, and the choices page shows the choice the
gate reads, the controller and the privacy policy. Screenshots are kept for a person to look at."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, expect

from consent import registry
from tests.support.browser import CONSENT, TIMEOUT_MS, Person, browsing
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker

pytestmark = [pytest.mark.browser]

WIDTHS = (1366, 390, 320)
SCREENSHOTS = Path("/tmp/consentry-privacy")


class Reader(Person):
    def at(self, width: int) -> None:
        self.page.set_viewport_size({"width": width, "height": 900})

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response is not None, url
        assert response.status == 200, url

    def overflow(self) -> int:
        """How far the page reaches past the right edge of the window (0: it fits)."""
        return int(
            self.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        )

    def on_screen(self, element: Locator) -> bool:
        """Shown, inside the window's width, and with none of its text cut off."""
        box = element.bounding_box()
        width = self.page.viewport_size["width"]  # type: ignore[index]
        return (
            element.is_visible()
            and box is not None
            and box["x"] >= 0
            and box["x"] + box["width"] <= width
            and element.evaluate("e => e.scrollWidth <= e.clientWidth")
        )

    def shoot(self, tmp_path: Path, name: str) -> None:
        path = tmp_path / f"{name}.png"
        self.page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 5_000  # a picture of the page, not a blank one
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / path.name)


@pytest.fixture
def reader(chromium: Browser, tracker: str) -> Iterator[Reader]:
    with browsing(Reader.start(chromium, tracker=tracker)) as person:
        yield person


@pytest.mark.parametrize("width", WIDTHS)
def test_the_cookie_declaration_shows_every_column_of_every_cookie(reader, tmp_path, width):
    reader.at(width)
    reader.visit(f"{reader.tracker}/privacy/cookies")
    reader.shoot(tmp_path, f"cookies-{width}")
    assert reader.overflow() == 0

    rows = reader.page.locator("tbody tr")
    expect(rows).to_have_count(len(registry.REGISTRY))
    for row, spec in zip(rows.all(), registry.REGISTRY, strict=True):
        expect(row.locator("th")).to_have_text(spec.name)
        expect(row.locator(".when")).to_contain_text(spec.when)
        expect(row.locator(".lifetime")).to_contain_text(f"{spec.lifetime_days} days")
        for cell in (row.locator("th"), *row.locator("td").all()):
            assert reader.on_screen(cell), f"{spec.name}: {cell.inner_text()}"
    if width < 768:
        # Stacked: each value is labelled, since the column headings are out of sight.
        assert (
            rows.first.locator(".when").evaluate("e => getComputedStyle(e, '::before').content")
            == '"When"'
        )
    else:
        # Not squeezed into a column of text: the table has the width a desktop gives it.
        box = reader.page.locator("table").bounding_box()
        assert box is not None
        assert box["width"] >= 900
    assert reader.context.cookies() == []


@pytest.fixture
def operator_named(settings: Any) -> dict[str, str]:
    named = {
        "CONTROLLER_NAME": "Example Shop Ltd",
        "CONTROLLER_CONTACT": "privacy@shop.example",
        "PRIVACY_POLICY_URL": "https://shop.example/privacy",
    }
    for name, value in named.items():
        setattr(settings, name, value)
    return named


def choose(reader: Reader, button: str) -> None:
    with reader.page.expect_navigation(timeout=TIMEOUT_MS):
        reader.page.get_by_role("button", name=button, exact=True).click()
    expect(reader.page.locator("p[role=status]")).to_have_text("Your choice is saved.")


@pytest.mark.parametrize("width", WIDTHS)
def test_the_choices_page_shows_the_choice_the_controller_and_the_policy(
    reader, operator_named, tmp_path, width
):
    reader.at(width)
    url = f"{reader.tracker}/privacy/choices"
    reader.visit(url)
    current = reader.page.locator("#current")
    expect(current).to_contain_text("You have not chosen")
    expect(reader.page.locator("#controller")).to_contain_text("Example Shop Ltd decides")
    contact = reader.page.get_by_role("link", name="privacy@shop.example")
    expect(contact).to_have_attribute("href", "mailto:privacy@shop.example")
    policy = reader.page.get_by_role("link", name="Read the privacy policy")
    expect(policy).to_have_attribute("href", "https://shop.example/privacy")
    assert reader.overflow() == 0
    for shown in (
        current,
        reader.page.locator("#controller"),
        policy,
        *reader.page.locator("button").all(),
    ):
        assert reader.on_screen(shown), shown.inner_text()
    reader.shoot(tmp_path, f"choices-{width}")
    assert reader.context.cookies() == []  # looking sets nothing

    choose(reader, "Allow tracking")
    expect(current).to_contain_text("You allowed tracking")
    reader.shoot(tmp_path, f"choices-granted-{width}")
    assert reader.overflow() == 0
    reader.visit(url)  # and read again from the cookie alone, on a later visit
    expect(current).to_contain_text("You allowed tracking")

    choose(reader, "Refuse tracking")
    expect(current).to_contain_text("You refused tracking")
    reader.visit(url)
    expect(current).to_contain_text("You refused tracking")
    assert set(reader.cookies()) == {CONSENT}
