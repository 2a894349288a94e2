"""The admin home in a real Chromium: a visitor reads pages of a host site, and the operator
logs in and reads the dashboard on a laptop and on a phone, the day's figures in view and
nothing wider than the screen; the health panel says what /healthz says when an event could
not be stored."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client
from playwright.sync_api import Browser, expect

from consent.services import consent_grant
from contacts.services import contact_upsert
from emails.services import email_send, recipients_deliver
from tests.consentry.test_browser_admin import Operator, Visitor, pageview_page, using
from tests.support.browser import OPERATOR_PASSWORD, OPERATOR_USERNAME, HostSite, fits
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.emailing import email_make
from tests.support.forming import form_make
from tests.support.tracking import CHROME
from tracker.enqueue import event_enqueue
from tracker.models import DeadLetter

pytestmark = [pytest.mark.browser]

WIDTHS = {"laptop": 1366, "phone": 390}


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with using(Operator.start(chromium, tracker=site.tracker)) as person:
        yield person


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    with using(Visitor.start(chromium, tracker=site.tracker, site=site)) as person:
        yield person


def test_the_home_shows_the_days_figures_and_a_dead_letter_at_laptop_and_phone_widths(
    operator, visitor, site
):
    # A visitor reads two pages of the host site, counted anonymously.
    for path in ("/", "/pricing"):
        assert visitor.open(pageview_page(site, path, "Shop"))["counted"] is True
    form = form_make()
    answer = Client().post(
        f"/form/submit?formId={form.pk}",
        {"email": "ada@example.com"},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )
    assert answer.status_code == 200
    # An event the database refuses: the write-through keeps it as a dead letter.
    event = {"id": str(uuid.uuid4()), "ts": "soon", "site": operator.tracker, "path": "/"}
    assert event_enqueue(event) == "database"
    assert DeadLetter.objects.count() == 1
    # A send with a long name: two recipients who opted in to email news, one who did not.
    contacts = [contact_upsert(email=f"reader{n}@example.com") for n in range(3)]
    for contact in contacts[:2]:
        consent_grant(contact=contact, purpose="email", source="form")
    title = "Autumn sale: every long-sleeved shirt and winter coat at half price until Sunday"
    send = email_send(email=email_make(name=title), contacts=contacts)
    recipients_deliver(recipient_ids=list(send.recipients.values_list("id", flat=True)))

    operator.log_in()
    page = operator.page
    for name, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.reload()
        figures = page.locator("#figures")
        expect(figures.locator("h2")).to_have_text("At a glance")
        submissions = figures.locator('tr[data-figure="form.submissions"]')
        expect(submissions.locator("td.today")).to_have_text("1")
        expect(submissions.locator("td.week")).to_have_text("1")
        hits = figures.locator('tr[data-figure="page.anonymous_hits"]')
        expect(hits.locator("td.today")).to_have_text("2")
        visitors = figures.locator('tr[data-figure="page.anonymous_visitors"]')
        expect(visitors.locator("td.week")).to_have_text("1")
        expect(figures.locator('tr[data-figure="focus.views"] td.today')).to_have_text("0")
        expect(figures.locator('tr[data-figure="consent.rate"] td.today')).to_have_text("—")
        expect(figures.locator('tr[data-figure="email.sent"] td.week')).to_have_text("2")
        for cell in (submissions.locator("td.today"), submissions.locator("td.week")):
            expect(cell).to_be_visible()
            box = cell.bounding_box()
            assert box is not None
            assert box["x"] >= 0, (name, box)
            assert box["x"] + box["width"] <= width, (name, box)

        health = page.locator("#health")
        expect(health.locator("#health-status")).to_contain_text("Degraded")
        expect(health.locator("#health-dead-letters")).to_have_text("1")
        expect(health.locator("#health-lag")).to_have_text("0 s")
        expect(page.locator("#quick-links").get_by_role("link", name="New form")).to_be_visible()
        sent = page.locator(f'#sends tr[data-send="{send.pk}"]')
        expect(sent.locator("td.email a")).to_have_text(title)
        expect(sent.locator(".count")).to_have_text("3 recipients")
        expect(sent.locator(".status")).to_have_text("2 sent, 1 skipped (no consent)")
        expect(sent.locator(".status")).to_be_visible()

        assert fits(page, name="admin-home", width=width).stat().st_size > 10_000

    # The dead-letter count leads to the list of them.
    operator.click_through(page.locator("#health-dead-letters a"))
    expect(page).to_have_url(f"{operator.tracker}/admin/tracker/deadletter/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
