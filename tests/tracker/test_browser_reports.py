"""The reports page in a real Chromium, on a desktop and on a phone: nothing overflows the
page sideways (a wide table or chart scrolls inside its own box), and the figures, tables and
CSV links an operator needs are on screen."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import expect

from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    admin_log_in,
    fits,
    within_width,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tests.support.tracking import CHROME, send

pytestmark = [pytest.mark.browser]
LONG = "/guides/" + "-".join(["a-very-long-slug-that-does-not-break"] * 4)


@pytest.mark.parametrize("width", [1366, 390])
def test_the_reports_page_fits_the_screen_with_its_figures_visible(chromium, tracker, width):
    User.objects.create_superuser(OPERATOR_USERNAME, "op@example.com", OPERATOR_PASSWORD)
    visitor = Client()
    send(visitor, page_url=f"http://testserver{LONG}?utm_source=newsletter-with-a-long-name")
    send(visitor, {"type": "consent", "consent": "grant"})
    send(visitor, page_url="http://testserver/pricing", headers={"User-Agent": CHROME})

    context = chromium.new_context(viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        admin_log_in(page, tracker, next="/admin/reports/")
        for query in ("", "?preset=last_12_months"):
            page.goto(f"{tracker}/admin/reports/{query}")
            expect(page.locator("#total-hits")).to_have_text("2")
            expect(page.locator("#consent-rate")).to_have_text("100.0 %")
            for box in ("#series-page svg", "#table-utm_source", "#table-path", "#table-device"):
                expect(page.locator(box)).to_be_visible()
            expect(page.locator("#table-path")).to_contain_text(LONG)
            expect(page.locator("#table-utm_source a.csv")).to_be_visible()
            shot = fits(page, name=f"reports{query and '-year'}", width=width)
            assert shot.stat().st_size > 10_000
            for figure in ("#total-hits", "#consent-rate", "#table-utm_source a.csv"):
                within_width(page, figure, width)
            # Today's bar is on screen: a chart wider than a phone opens on its latest days.
            within_width(page, "#page-chart svg rect:has(title)", width)
        # A year is drawn by month: at most a dozen labels, whole and large enough to read.
        chart = page.locator("#series-page svg").bounding_box()
        labels = page.locator("#series-page svg text[text-anchor=middle]")
        assert 6 <= labels.count() <= 13
        for n in range(labels.count()):
            box = labels.nth(n).bounding_box()
            assert chart
            assert box
            assert box["x"] >= chart["x"]
            assert box["x"] + box["width"] <= chart["x"] + chart["width"]
            assert box["height"] >= 9, f"a label {box['height']} px high"
    finally:
        context.close()
