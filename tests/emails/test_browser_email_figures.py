"""An email's figures in a real Chromium, as the operator reads them after a send: a reader
opens the message and follows its link in their browser; the operator, signed in to the admin,
previews the email, opens the demo page and follows the same link, and none of it counts. The
email's and the send's pages fit a 1366 px and a 390 px window, their figures on screen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, Request, Response, expect

from emails.models import EmailClick, EmailOpen, Recipient
from emails.rendering import message_render
from emails.selectors import email_stats
from tests.support.browser import (
    BLANK,
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    SHOP_PAGES,
    TIMEOUT_MS,
    HostSite,
    Person,
    admin_log_in,
    browsing,
    fits,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.emailing import sent_to
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]


@dataclass(kw_only=True)
class Browsing(Person):
    def watches(self, request: Request) -> bool:
        # The admin's icon is fetched after each page, and left behind when the next one opens.
        return not request.url.endswith("/favicon.svg")

    def visit(self, url: str) -> Response:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == 200, f"{url}: {response.status}"
        return response


@dataclass(kw_only=True)
class Operator(Browsing):
    def fits(self, name: str) -> None:
        """The page fits a desktop's and a phone's window; a screenshot of each."""
        for width in (1366, 390):
            fits(self.page, name=f"email-figures-{name}", width=width)
        self.page.set_viewport_size({"width": 1366, "height": 900})


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with browsing(Operator.start(chromium, tracker=site.tracker)) as person:
        person.answer(SHOP_PAGES, BLANK)
        yield person


@pytest.fixture
def reader(chromium: Browser, site: HostSite) -> Iterator[Browsing]:
    with browsing(Browsing.start(chromium, tracker=site.tracker)) as person:
        person.answer(SHOP_PAGES, BLANK)
        yield person


def _pixel_and_link(recipient: Recipient) -> tuple[str, str]:
    html = message_render(recipient=recipient).html
    (pixel,) = re.findall(r'src="([^"]+/email/[^"]+\.gif)"', html)
    (link,) = set(re.findall(r'href="([^"]+/r/[^"]+)"', html))
    return pixel, link.replace("&amp;", "&")


def test_the_operator_reads_the_figures_and_their_own_visits_count_nothing(
    operator: Operator, reader: Browsing, site: HostSite
) -> None:
    ann = sent_to("ann@example.com", consented=True)
    sent_to("bob@example.com", consented=True, email=ann.email)
    pixel, link = _pixel_and_link(ann.recipient)
    reader.visit(pixel)
    reader.visit(link)
    reader.until(lambda: EmailClick.objects.exists(), "the reader's click")
    figures = email_stats(email=ann.email)
    assert (figures.sent, figures.unique_opens, figures.unique_clicks) == (2, 1, 1)

    admin_log_in(operator.page, operator.tracker)
    page = f"{site.tracker}/admin/emails/email/{ann.email.pk}/change/"
    operator.visit(page)
    reach = operator.page.locator("table.email-figures-reach tbody td")
    expect(reach).to_have_text(["2", "0", "0", "2", "1", "50.0 %", "1", "50.0 %", "100.0 %"])
    operator.fits("email")

    # The operator's preview, the demo page and the reader's link in the operator's browser.
    operator.visit(f"{site.tracker}/admin/emails/email/{ann.email.pk}/preview/")
    with operator.page.expect_response(
        lambda r: r.url.endswith("/mtc/event") and r.request.method == "POST",
        timeout=TIMEOUT_MS,
    ) as answer:
        operator.visit(f"{site.tracker}/demo/")
    assert answer.value.json()["reason"] == "staff"
    operator.visit(pixel)
    operator.visit(link)
    assert not AnonymousHit.objects.exists()
    assert not PageHit.objects.exists()
    assert EmailOpen.objects.count() == 1
    assert EmailClick.objects.count() == 1
    assert email_stats(email=ann.email) == figures

    operator.visit(page)
    expect(reach).to_have_text(["2", "0", "0", "2", "1", "50.0 %", "1", "50.0 %", "100.0 %"])
    operator.visit(f"{site.tracker}/admin/emails/emailsend/{ann.recipient.send_id}/change/")
    expect(operator.page.locator("table.email-figures-reach")).to_be_visible()
    operator.fits("send")
