"""Outgoing webhooks end to end in one process: a change in the product, the event queued on
its commit, a signed POST to a real receiver on loopback, retries, the delivery log, erasure.
Signatures are checked with the Standard Webhooks reference library, not with our own code."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from consent.services import consent_grant, consent_record
from contacts.models import Channel
from contacts.rights import contact_erase
from contacts.services import contact_upsert, dnc_add, dnc_remove
from tests.support.receiver import Answer, Receiver
from webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, WebhookEvent
from webhooks.services import (
    deliveries_due_run,
    delivery_redeliver,
    endpoint_create,
    endpoint_test_send,
    webhooks_log_purge,
)

pytestmark = pytest.mark.django_db


def endpoint_for(receiver: Receiver, *events: str) -> Endpoint:
    return endpoint_create(url=receiver.url, events=list(events))


def deliver_until(predicate: Any, timeout: float = 15.0) -> None:
    """Send what is due, again and again, as the sweep does, until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "the deliveries did not settle in time"
        deliveries_due_run()
        time.sleep(0.05)


def verified(endpoint: Endpoint, request: Any) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(endpoint.secret).verify(request.body, request.headers)
    return payload


def test_a_consent_change_reaches_the_endpoint_signed_as_the_standard_says(receiver):
    endpoint = endpoint_for(receiver, "consent.changed")
    contact = contact_upsert(email="ada@example.com")
    consent_grant(contact=contact, source="api")
    assert deliveries_due_run() == 1
    (request,) = receiver.requests
    payload = verified(endpoint, request)
    assert payload["type"] == "consent.changed"
    assert payload["data"]["contact"] == {"id": contact.pk}
    assert (payload["data"]["purpose"], payload["data"]["action"]) == ("tracking", "grant")
    assert payload["data"]["consent"] == {
        "tracking": "granted",
        "email": "none",
        "do_not_contact": [],
    }
    event = WebhookEvent.objects.get()
    assert request.headers["webhook-id"] == event.msg_id
    assert request.headers["content-type"] == "application/json"
    # A forged body, or the right body under another secret, does not verify.
    other = endpoint_create(url=receiver.url, events=["consent.changed"])
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(other.secret).verify(request.body, request.headers)
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(endpoint.secret).verify(request.body.replace(b"grant", b"withd"), request.headers)


def test_only_subscribed_types_are_sent_and_a_browsers_own_choice_sends_nothing(receiver):
    endpoint_for(receiver, "dnc.added")
    contact = contact_upsert(email="ada@example.com")
    consent_grant(contact=contact, source="api")  # not subscribed
    consent_record(action="grant", source="banner", browser_key="k" * 32)  # names no one
    dnc_add(contact=contact, channel=Channel.EMAIL)
    dnc_add(contact=contact, channel=Channel.EMAIL)  # already on the list: no change
    deliveries_due_run()
    assert [json.loads(r.body)["type"] for r in receiver.requests] == ["dnc.added"]
    body = json.loads(receiver.requests[0].body)
    assert body["data"]["channel"] == "email"
    assert body["data"]["consent"]["do_not_contact"] == ["email"]


def test_every_contact_and_dnc_change_is_sent_once(receiver):
    endpoint_for(receiver, "contact.created", "contact.updated", "dnc.added", "dnc.removed")
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    contact_upsert(email="ADA@example.com", first_name="Ada")  # nothing changed
    contact_upsert(email="ada@example.com", fields={"company": "Analytical"})
    dnc_add(contact=contact, channel=Channel.SMS)
    dnc_remove(contact=contact, channel=Channel.SMS)
    dnc_remove(contact=contact, channel=Channel.SMS)  # not on it any more: no change
    deliveries_due_run()
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert [b["type"] for b in bodies] == [
        "contact.created",
        "contact.updated",
        "dnc.added",
        "dnc.removed",
    ]
    assert bodies[0]["data"]["contact"]["email"] == "ada@example.com"
    assert bodies[1]["data"]["contact"]["fields"] == {"company": "Analytical"}
    assert len(set(receiver.ids())) == 4


def test_an_event_is_queued_only_when_its_change_commits(
    receiver, django_capture_on_commit_callbacks
):
    endpoint_for(receiver, "contact.created")

    def rolled_back() -> None:
        with transaction.atomic():
            contact_upsert(email="ada@example.com")
            raise RuntimeError("the change is rolled back")

    with pytest.raises(RuntimeError):
        rolled_back()
    assert not WebhookEvent.objects.exists()
    with django_capture_on_commit_callbacks() as callbacks:
        contact_upsert(email="grace@example.com")
    assert len(callbacks) >= 1  # the delivery is nudged on commit, not before
    deliveries_due_run()
    assert len(receiver.requests) == 1


def test_a_500_and_a_timeout_are_retried_with_the_same_id_until_they_succeed(receiver):
    receiver.script = [Answer(status=500, body=b"oops"), Answer(pause=3.0), Answer(status=204)]
    endpoint = endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    delivery = Delivery.objects.get()
    deliver_until(lambda: Delivery.objects.get().status == DeliveryStatus.SUCCEEDED)
    assert len(receiver.ids()) == 3
    assert len(set(receiver.ids())) == 1
    for request in receiver.requests:
        verified(endpoint, request)  # each retry is signed anew, with its own timestamp
    log = list(Attempt.objects.filter(delivery=delivery).order_by("at", "id"))
    assert [a.status_code for a in log] == [500, None, 204]
    assert log[0].response_head == "oops"
    assert "timed out" in log[1].error
    assert Delivery.objects.get().attempts == 3
    assert Endpoint.objects.get().failing_since is None


def test_retries_wait_longer_each_time_and_stop_when_the_window_closes(receiver, settings):
    receiver.default = Answer(status=503)
    endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    deliveries_due_run()
    first = Delivery.objects.get()
    assert first.status == DeliveryStatus.PENDING
    wait = (first.next_attempt_at - timezone.now()).total_seconds()
    assert 0.3 < wait <= 1.0  # the first wait: WEBHOOK_RETRY_FIRST_SECONDS, jittered
    Delivery.objects.update(next_attempt_at=timezone.now())
    deliveries_due_run()
    second = Delivery.objects.get()
    assert 1.5 < (second.next_attempt_at - timezone.now()).total_seconds() <= 4.0
    # Past the retry window (WEBHOOK_RETRY_HOURS), a failure is the last one.
    Delivery.objects.update(next_attempt_at=timezone.now(), retry_until=timezone.now())
    deliveries_due_run()
    last = Delivery.objects.get()
    assert (last.status, last.attempts, last.last_error) == (DeliveryStatus.FAILED, 3, "HTTP 503")


def test_a_410_switches_the_endpoint_off_and_its_waiting_deliveries_are_not_sent(receiver):
    receiver.default = Answer(status=410)
    endpoint = endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    contact_upsert(email="grace@example.com")
    deliveries_due_run()
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "410" in endpoint.disabled_reason
    assert len(receiver.requests) == 1
    assert sorted(Delivery.objects.values_list("status", flat=True)) == ["cancelled", "failed"]
    contact_upsert(email="linus@example.com")  # an inactive endpoint gets nothing new
    assert Delivery.objects.count() == 2


def test_an_endpoint_failing_for_too_long_is_switched_off_with_the_reason(receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_HOURS = 2
    receiver.default = Answer(status=500)
    endpoint = endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    deliveries_due_run()
    endpoint.refresh_from_db()
    assert endpoint.active
    assert endpoint.failing_since is not None
    Endpoint.objects.update(failing_since=timezone.now() - dt.timedelta(hours=3))
    Delivery.objects.update(next_attempt_at=timezone.now())
    deliveries_due_run()
    endpoint.refresh_from_db()
    assert not endpoint.active
    assert "failed for 2 hours" in endpoint.disabled_reason
    assert "HTTP 500" in endpoint.disabled_reason


def test_a_redelivery_sends_the_same_event_again_and_a_test_event_reaches_one_endpoint(receiver):
    endpoint = endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    deliveries_due_run()
    delivery_redeliver(delivery=Delivery.objects.get())
    deliveries_due_run()
    assert len(receiver.ids()) == 2
    assert len(set(receiver.ids())) == 1
    endpoint_for(receiver, "contact.erased")  # another endpoint: not tested
    endpoint_test_send(endpoint=endpoint)
    deliveries_due_run()
    assert json.loads(receiver.requests[-1].body)["type"] == "webhook.test"
    assert len(receiver.requests) == 3


def test_a_refused_address_is_never_connected_to_and_the_log_says_why(receiver, settings):
    settings.WEBHOOK_ALLOWED_NETWORKS = []  # the receiver's loopback is private again
    loopback = endpoint_for(receiver, "contact.created")
    metadata = endpoint_create(
        url="http://169.254.169.254/latest/meta-data/", events=["contact.created"]
    )
    contact_upsert(email="ada@example.com")
    deliveries_due_run()
    assert receiver.requests == []
    errors = dict(Delivery.objects.values_list("endpoint_id", "last_error"))
    assert "loopback" in errors[loopback.pk]
    assert "metadata" in errors[metadata.pk]
    assert Attempt.objects.filter(status_code__isnull=True).count() == 2


def test_after_an_erasure_no_payload_holds_the_contact_and_endpoints_learn_the_id_only(receiver):
    receiver.default = Answer(status=500, body=None)  # down, and echoing what it got
    endpoint = endpoint_for(receiver, "contact.created", "consent.changed", "contact.erased")
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    consent_grant(contact=contact, source="form")
    deliveries_due_run()
    assert Attempt.objects.filter(response_head__contains="ada@example.com").exists()
    contact_id = contact.pk
    contact_erase(contact=contact)
    assert not Delivery.objects.filter(
        status=DeliveryStatus.PENDING, event__type__in=["contact.created", "consent.changed"]
    ).exists()
    stored = json.dumps(list(WebhookEvent.objects.values("data", "contact_id")))
    logged = json.dumps(list(Attempt.objects.values("response_head", "error")))
    assert "ada@example.com" not in stored + logged
    assert "Ada" not in stored + logged
    receiver.default = Answer(status=200)
    deliveries_due_run()
    erased = json.loads(receiver.requests[-1].body)
    verified(endpoint, receiver.requests[-1])
    assert erased["type"] == "contact.erased"
    assert erased["data"] == {"contact": {"id": contact_id}}


def test_the_log_is_kept_for_its_days_and_never_drops_what_still_waits(receiver, settings):
    settings.WEBHOOK_LOG_DAYS = 7
    receiver.script = [Answer(status=200)]
    receiver.default = Answer(status=500)
    endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    deliveries_due_run()  # delivered
    contact_upsert(email="grace@example.com")
    deliveries_due_run()  # failing, still retried
    WebhookEvent.objects.update(created_at=timezone.now() - dt.timedelta(days=8))
    assert webhooks_log_purge() >= 1
    (left,) = Delivery.objects.all()
    assert left.status == DeliveryStatus.PENDING


def test_a_changed_email_is_one_contact_updated_even_with_unchanged_names(receiver):
    from contacts.services import contact_update

    endpoint_for(receiver, "contact.updated")
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    contact_update(contact=contact, email="ada@lovelace.example", first_name="Ada")
    contact_update(contact=contact, email="ADA@lovelace.example", first_name="Ada")  # same
    (event,) = WebhookEvent.objects.filter(type="contact.updated")
    assert event.data["contact"]["email"] == "ada@lovelace.example"


def test_a_worker_whose_lease_ran_out_records_its_attempt_and_changes_nothing_else(receiver):
    from webhooks.services import Outcome, _claim, _record

    receiver.default = Answer(status=500)
    endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    slow = _claim(Delivery.objects.get().pk)
    assert slow is not None
    # Its lease runs out (a resolver that hung), and another worker sends and succeeds.
    Delivery.objects.update(leased_until=timezone.now())
    receiver.default = Answer(status=200)
    deliveries_due_run()
    assert Delivery.objects.get().status == DeliveryStatus.SUCCEEDED
    _record(slow, Outcome(status_code=None, milliseconds=30_000, head="", error="timed out"))
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SUCCEEDED, 1)
    assert Endpoint.objects.get().failing_since is None
    assert Attempt.objects.count() == 2  # both tries happened, and both are in the log


def test_a_redelivery_leaves_a_delivery_being_sent_to_its_worker(receiver):
    from webhooks.services import _claim

    endpoint_for(receiver, "contact.created")
    contact_upsert(email="ada@example.com")
    held = _claim(Delivery.objects.get().pk)
    assert held is not None
    delivery_redeliver(delivery=Delivery.objects.get())
    assert _claim(held.pk) is None  # no second worker takes it while the first holds it


def test_an_event_about_someone_erased_after_it_was_emitted_is_never_sent(receiver):
    endpoint_for(receiver, "contact.created")
    contact = contact_upsert(email="ada@example.com")
    # As if emitted by a drain that read the contact just before the erasure committed.
    event, contact_id = WebhookEvent.objects.get(), contact.pk
    contact_erase(contact=contact)
    WebhookEvent.objects.filter(pk=event.pk).update(
        data={"contact": {"email": "ada@example.com"}}, contact_id=contact_id
    )
    Delivery.objects.create(
        event=event,
        endpoint=Endpoint.objects.get(),
        next_attempt_at=timezone.now(),
        retry_until=timezone.now() + dt.timedelta(hours=1),
        created_at=timezone.now(),
    )
    deliveries_due_run()
    assert receiver.requests == []
    event.refresh_from_db()
    assert event.data == {}
    assert Delivery.objects.get(event=event).status == DeliveryStatus.CANCELLED
