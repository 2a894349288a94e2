"""Webhooks in a real Chromium: an operator adds an endpoint for a receiver on loopback,
copies its signing secret from the page, sends a test event, and the receiver gets it signed
with that very secret; then the operator reads the delivery in the log. The list and the
delivery fit a laptop and a phone.

In tests the product's deliveries wait for the sweep, which the test runs itself (the live
server runs in this process)."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect
from standardwebhooks import Webhook

from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    TIMEOUT_MS,
    Person,
    admin_log_in,
    browsing,
    fits,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tests.support.receiver import Receiver
from webhooks.models import Delivery, DeliveryStatus
from webhooks.services import deliveries_due_run

pytestmark = [pytest.mark.browser]

WIDTHS = {"laptop": 1366, "phone": 390}


def delivered(receiver: Receiver, count: int) -> None:
    """Run the sweep until the receiver has `count` requests."""
    deadline = time.monotonic() + 10
    while len(receiver.requests) < count:
        assert time.monotonic() < deadline, f"{len(receiver.requests)} requests, not {count}"
        deliveries_due_run()
        time.sleep(0.05)


def test_an_operator_adds_an_endpoint_and_its_test_event_arrives_signed_with_the_shown_secret(
    chromium: Browser, tracker: str, receiver: Receiver
) -> None:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with browsing(Person.start(chromium, tracker=tracker)) as operator:
        page = operator.page
        admin_log_in(page, tracker, next="/admin/webhooks/endpoint/add/")
        page.locator("#id_description").fill("CRM on loopback")
        page.locator("#id_url").fill(receiver.url)
        page.locator('input[name="events"][value="consent.changed"]').check()
        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.locator('input[name="_save"]').click()
        secret = page.locator("#webhook-secret").inner_text().strip()
        assert secret.startswith("whsec_")
        expect(page.locator(".field-signing_secret .readonly")).to_have_text("whsec_…(hidden)")

        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.locator("#send-test").click()
        expect(page.locator(".messagelist")).to_contain_text("A test event was queued")
        delivered(receiver, 1)
        (request,) = receiver.requests
        payload = Webhook(secret).verify(request.body, request.headers)
        assert payload["type"] == "webhook.test"
        assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED

        with page.expect_navigation(timeout=TIMEOUT_MS):
            page.locator("#test-delivery").click()
        expect(page.locator(".field-msg_id .readonly")).to_have_text(request.headers["webhook-id"])
        expect(page.locator(".field-status .readonly")).to_have_text("Delivered")
        expect(page.locator(".field-body pre")).to_have_text(request.body.decode())
        expect(page.locator(".field-status_code").first).to_have_text("200")
        for name, width in WIDTHS.items():
            fits(page, name=f"webhook-delivery-{name}", width=width)

        page.set_viewport_size({"width": 1366, "height": 900})
        page.goto(f"{tracker}/admin/webhooks/endpoint/")
        row = page.locator("#result_list tbody tr").first
        expect(row).to_contain_text("CRM on loopback")
        expect(row).to_contain_text("Delivering")
        assert secret not in page.content()
        for name, width in WIDTHS.items():
            fits(page, name=f"webhook-endpoints-{name}", width=width)
