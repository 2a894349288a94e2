"""Webhooks in the admin, through Django's real request cycle: adding an endpoint shows its
signing secret once, bad addresses and empty subscriptions are refused in words, a test event
reaches a real receiver on loopback, a switched-off endpoint says why, the delivery log is
read-only and redelivers, and a view-only user can send nothing."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from standardwebhooks import Webhook

from webhooks import signing
from webhooks.models import Delivery, DeliveryStatus, Endpoint
from webhooks.services import (
    deliveries_due_run,
    endpoint_create,
    endpoint_test_send,
    endpoint_update,
)

pytestmark = pytest.mark.django_db

GONE = "The receiver answered 410 Gone: it asked not to be sent more."


@pytest.fixture
def boss(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def viewer() -> Client:
    user = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="webhooks", codename__in=["view_endpoint", "view_delivery"]
        )
    )
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    """The page as read: tags dropped, entities decoded, spaces collapsed."""
    assert response.status_code == 200, response.status_code
    page = unescape(re.sub(r"<[^>]+>", " ", response.content.decode()))
    return re.sub(r"\s+", " ", page)


def add(client: Client, **fields: Any) -> Any:
    data = {
        "description": "CRM sync",
        "url": "https://crm.example.com/hooks/consentry",
        "events": ["consent.changed", "dnc.added"],
        "active": "on",
        "secret": "",
        **fields,
    }
    return client.post(reverse("admin:webhooks_endpoint_add"), data, follow=True)


def change_url(endpoint: Endpoint) -> str:
    return reverse("admin:webhooks_endpoint_change", args=[endpoint.pk])


def test_a_new_endpoint_shows_its_generated_secret_once_and_never_again(boss):
    response = add(boss)
    endpoint = Endpoint.objects.get()
    assert endpoint.events == ["consent.changed", "dnc.added"]
    assert signing.secret_problem(endpoint.secret) is None
    page = response.content.decode()
    assert page.count(endpoint.secret) == 1
    assert "shown this once" in text(response)
    # The page after, the list and the change page never show it again.
    again = boss.get(change_url(endpoint))
    assert endpoint.secret not in again.content.decode()
    assert "whsec_…(hidden)" in text(again)
    listing = boss.get(reverse("admin:webhooks_endpoint_changelist"))
    assert endpoint.secret not in listing.content.decode()
    assert "Delivering" in text(listing)


def test_a_secret_the_operator_gives_is_kept_and_a_malformed_one_refused(boss):
    secret = signing.secret_new()
    response = add(boss, secret=secret)
    assert Endpoint.objects.get().secret == secret
    assert "shown this once" not in text(response)  # the operator has it already
    refused = add(boss, description="Other", secret="not-a-secret")
    assert "A secret starts with whsec_" in text(refused)
    assert Endpoint.objects.count() == 1


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://crm.example.com/hooks", "only http and https URLs are accepted, not ftp"),
        ("https://user:pass@crm.example.com/hooks", "the URL carries a user name or password"),
    ],
)
def test_an_address_that_cannot_receive_webhooks_is_refused_in_words(boss, url, words):
    page = text(add(boss, url=url))
    assert f"This address cannot receive webhooks: {words}" in page
    assert not Endpoint.objects.exists()


def test_an_endpoint_that_subscribes_to_nothing_is_refused(boss):
    page = text(add(boss, events=[]))
    assert "Tick at least one event" in page
    assert not Endpoint.objects.exists()


def test_the_events_offered_are_the_catalogs_with_their_meaning(boss):
    page = text(boss.get(reverse("admin:webhooks_endpoint_add")))
    assert "consent.changed A contact granted, withdrew or objected" in page
    assert "webhook.test" not in page  # sent by the test button only


def test_the_test_button_queues_a_test_event_that_reaches_the_receiver_signed(boss, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["dnc.added"], description="Receiver")
    response = boss.post(
        reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]), follow=True
    )
    delivery = Delivery.objects.get()
    assert delivery.event.type == "webhook.test"
    assert "A test event was queued" in text(response)
    assert reverse("admin:webhooks_delivery_change", args=[delivery.pk]) in (
        response.content.decode()
    )
    assert deliveries_due_run() == 1
    (request,) = receiver.requests
    payload = Webhook(endpoint.secret).verify(request.body, request.headers)
    assert payload["type"] == "webhook.test"
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    # The log shows the event's id, the body as sent and the attempt.
    log = boss.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    page = text(log)
    assert delivery.event.msg_id in page
    assert unescape(request.body.decode()) in unescape(log.content.decode())
    assert "200" in page
    assert "Delivered" in page


def test_rotating_the_secret_shows_the_new_one_once_and_signs_with_it(boss, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["dnc.added"])
    old = endpoint.secret
    response = boss.post(
        reverse("admin:webhooks_endpoint_rotate_secret", args=[endpoint.pk]), follow=True
    )
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    assert response.content.decode().count(endpoint.secret) == 1
    assert endpoint.secret not in boss.get(change_url(endpoint)).content.decode()


def test_a_switched_off_endpoint_says_why_and_ticking_active_forgets_it(boss):
    endpoint = endpoint_create(url="https://crm.example.com/h", events=["dnc.added"])
    endpoint_update(endpoint=endpoint, active=False, disabled_reason=GONE)
    page = boss.get(change_url(endpoint)).content.decode()
    notice = re.search(r'id="switched-off">(.*?)</p>', page, re.S)
    assert notice
    assert GONE in unescape(notice.group(1))
    assert f"Switched off: {GONE}" in text(boss.get(reverse("admin:webhooks_endpoint_changelist")))
    # Nothing is tested against an endpoint that is off.
    refused = boss.post(
        reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]), follow=True
    )
    assert "No test was sent: this endpoint is switched off" in text(refused)
    assert not Delivery.objects.exists()
    data = {
        "description": "",
        "url": endpoint.url,
        "events": endpoint.events,
        "active": "on",
        "_save": "Save",
    }
    assert boss.post(change_url(endpoint), data).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.active, endpoint.disabled_reason, endpoint.disabled_at) == (True, "", None)
    assert 'id="switched-off"' not in boss.get(change_url(endpoint)).content.decode()


def test_the_home_names_a_switched_off_endpoint_with_a_link(boss):
    endpoint = endpoint_create(url="https://crm.example.com/h", events=["dnc.added"])
    endpoint_update(endpoint=endpoint, description="Slack", active=False, disabled_reason=GONE)
    page = boss.get(reverse("admin:index")).content.decode()
    assert "Webhooks : 1 endpoint switched off — Slack" in text(boss.get(reverse("admin:index")))
    assert f'<a href="{change_url(endpoint)}">Slack</a>' in page


def test_the_home_says_nothing_of_webhooks_that_deliver(boss):
    endpoint_create(url="https://crm.example.com/h", events=["dnc.added"])
    assert "webhooks-alert" not in boss.get(reverse("admin:index")).content.decode()


def redeliver(client: Client, *deliveries: Delivery) -> Any:
    return client.post(
        reverse("admin:webhooks_delivery_changelist"),
        {"action": "redeliver", "_selected_action": [d.pk for d in deliveries]},
        follow=True,
    )


def test_redeliver_sends_again_with_the_same_id_and_refuses_for_an_endpoint_off(boss, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["dnc.added"])
    boss.post(reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]))
    assert deliveries_due_run() == 1
    delivery = Delivery.objects.get()
    assert "1 delivery queued again" in text(redeliver(boss, delivery))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert deliveries_due_run() == 1
    assert len(set(receiver.ids())) == 1
    assert len(receiver.ids()) == 2
    # From the delivery's own page too.
    button = reverse("admin:webhooks_delivery_redeliver", args=[delivery.pk])
    boss.post(button)
    assert deliveries_due_run() == 1
    assert len(receiver.requests) == 3
    # Not to an endpoint that is off: the operator reads why.
    endpoint_update(endpoint=endpoint, active=False, disabled_reason=GONE)
    page = text(redeliver(boss, delivery))
    assert f"Not redelivered to “{endpoint}”: the endpoint is switched off ({GONE})" in page
    assert "Not redelivered" in text(boss.post(button, follow=True))
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert deliveries_due_run() == 0


def test_the_delivery_log_cannot_be_edited_added_to_or_deleted_from(boss):
    endpoint = endpoint_create(url="https://crm.example.com/h", events=["dnc.added"])
    boss.post(reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk]))
    delivery = Delivery.objects.get()
    assert boss.get(reverse("admin:webhooks_delivery_add")).status_code == 403
    assert (
        boss.get(reverse("admin:webhooks_delivery_delete", args=[delivery.pk])).status_code == 403
    )
    page = boss.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert 'name="_save"' not in page.content.decode()
    assert 'id="redeliver"' in page.content.decode()


def test_a_view_only_user_reads_but_cannot_send_a_test_or_redeliver(viewer, receiver):
    endpoint = endpoint_create(url=receiver.url, events=["dnc.added"])
    page = viewer.get(change_url(endpoint)).content.decode()
    assert "Send test event" not in page
    assert "Rotate secret" not in page
    assert endpoint.secret not in page
    send = reverse("admin:webhooks_endpoint_send_test", args=[endpoint.pk])
    assert viewer.post(send).status_code == 403
    rotate = reverse("admin:webhooks_endpoint_rotate_secret", args=[endpoint.pk])
    assert viewer.post(rotate).status_code == 403
    assert not Delivery.objects.exists()
    # A delivery the operator sent: the viewer reads it and cannot send it again.
    delivery = endpoint_test_send(endpoint=endpoint)
    assert deliveries_due_run() == 1
    detail = viewer.get(reverse("admin:webhooks_delivery_change", args=[delivery.pk]))
    assert delivery.event.msg_id in text(detail)
    assert 'id="redeliver"' not in detail.content.decode()
    button = reverse("admin:webhooks_delivery_redeliver", args=[delivery.pk])
    assert viewer.post(button).status_code == 403
    listing = viewer.get(reverse("admin:webhooks_delivery_changelist")).content.decode()
    assert 'value="redeliver"' not in listing
    redeliver(viewer, delivery)
    assert deliveries_due_run() == 0
    assert len(receiver.requests) == 1


def test_deleting_an_endpoint_forgets_the_events_that_were_for_it_alone(boss):
    from contacts.services import contact_upsert
    from webhooks.models import WebhookEvent

    alone = endpoint_create(url="https://crm.example.com/a", events=["contact.created"])
    shared = endpoint_create(url="https://crm.example.com/b", events=["contact.updated"])
    contact_upsert(email="ada@example.com")  # for `alone` only
    endpoint_update(endpoint=shared, events=["contact.created", "contact.updated"])
    contact_upsert(email="grace@example.com")  # for both
    page = reverse("admin:webhooks_endpoint_delete", args=[alone.pk])
    assert boss.post(page, {"post": "yes"}).status_code == 302
    assert not Endpoint.objects.filter(pk=alone.pk).exists()
    (kept,) = WebhookEvent.objects.all()
    assert kept.data["contact"]["email"] == "grace@example.com"


def test_the_secret_shown_once_never_travels_in_a_cookie(boss):
    data = {
        "description": "CRM sync",
        "url": "https://crm.example.com/hooks",
        "events": ["consent.changed"],
        "active": "on",
        "secret": "",
    }
    saved = boss.post(reverse("admin:webhooks_endpoint_add"), data)
    assert saved.status_code == 302
    secret = Endpoint.objects.get().secret
    # The message that shows it waits in the operator's session, on the server.
    written = " ".join(str(morsel.value) for morsel in saved.cookies.values())
    assert secret.removeprefix("whsec_")[:16] not in written
    assert "messages" not in saved.cookies
    assert secret in boss.get(saved["Location"]).content.decode()
