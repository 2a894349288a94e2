"""Erasure reaches everything that was ever the person's: the consent records their browser
wrote before anyone knew who they were too. Afterwards no table and no Redis key or value
holds their email, device, masked address or browser key; and the rate limiter's keys cannot
be reversed to a masked address without SECRET_KEY."""

from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest
from django.core import signing

from consent import registry
from consent.models import ConsentRecord
from consent.services import browser_key_hash
from contacts.models import Contact, Device
from contacts.rights import contact_export
from tests.support.apiclients import api_client
from tests.support.forming import form_make
from tests.support.traces import (
    every_report,
    only_the_tombstone_is_left,
    redis_holding,
    rows_holding,
)
from tests.support.tracking import CHROME, send
from tracker.drain import events_drain
from tracker.models import DeadLetter
from tracker.rollups import rollup_recent

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
ADDRESS = "198.51.100.77"
MASKED = "198.51.0.0"


def _person_who_granted_then_gave_their_email(client, *, tick_tracking: bool):
    """The script records a grant before the visitor is known; the same browser then submits
    a form with its email. The grant's record names no contact, only the browser."""
    granted = send(client, {"type": "consent", "consent": "grant"}, REMOTE_ADDR=ADDRESS)
    assert granted.status_code == 200
    assert granted.json()["consent"] == "granted"
    assert ConsentRecord.objects.latest("id").contact is None
    send(client, REMOTE_ADDR=ADDRESS)
    events_drain()
    form = form_make(set_cookie_on_submission=True)
    fields = {"email": "ada@example.com", "first_name": "Ada"}
    if tick_tracking:
        fields["track"] = "1"
    response = client.post(
        f"/form/submit?formId={form.pk}",
        fields,
        headers={"Accept": "application/json", "User-Agent": CHROME},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 200
    contact = Contact.objects.get(email="ada@example.com")
    device = Device.objects.get(contact=contact)
    browser_key = signing.loads(
        client.cookies[registry.CONSENT.name].value, salt=registry.CONSENT.salt
    )["k"]
    return contact, device, browser_key


@pytest.mark.parametrize(
    "tick_tracking",
    [False, True],
    ids=["identified-through-the-grant", "tracking-box-ticked-on-the-form"],
)
def test_erasure_removes_the_consent_records_a_browser_wrote_before_it_was_identified(
    client, redis_client, tick_tracking
):
    contact, device, browser_key = _person_who_granted_then_gave_their_email(
        client, tick_tracking=tick_tracking
    )
    send(client, REMOTE_ADDR=ADDRESS)  # still queued in the stream when the erasure comes
    needles = {
        "email": "ada@example.com",
        "device": device.public_id,
        "masked address": MASKED,
        "browser key": browser_key,
        "stored browser key": browser_key_hash(browser_key),
    }
    # The search finds what there is to find before the erasure.
    assert "contacts_contact" in rows_holding("ada@example.com")
    assert "consent_consentrecord" in rows_holding(MASKED)
    assert "consent_consentrecord" in rows_holding(browser_key_hash(browser_key))
    assert redis_holding(redis_client, device.public_id) == ["consentry:events"]
    rollup_recent()
    figures = every_report()
    assert figures["form"][-2]["submissions"] == 1

    response = api_client("contacts.delete_contact").post(f"/api/v1/contacts/{contact.pk}/erase/")
    assert response.status_code == 200
    # Every report reads as before, the day rolled up again too: the person is gone, not
    # what they were counted in.
    rollup_recent()
    assert every_report() == figures

    left = {
        name: (rows_holding(needle), redis_holding(redis_client, needle))
        for name, needle in needles.items()
    }
    assert left == {name: ([], []) for name in needles}
    assert only_the_tombstone_is_left()


def test_another_browsers_anonymous_choice_outlives_the_erasure(client, redis_client):
    """Only the person's own browsers are reached: a stranger's grant from the same network
    is kept as the proof it is."""
    from django.test import Client

    stranger = Client()
    send(stranger, {"type": "consent", "consent": "grant"}, REMOTE_ADDR=ADDRESS)
    contact, _device, _key = _person_who_granted_then_gave_their_email(client, tick_tracking=False)
    api_client("contacts.delete_contact").post(f"/api/v1/contacts/{contact.pk}/erase/")
    kept = ConsentRecord.objects.exclude(action="erased").get()
    assert (kept.action, kept.source, str(kept.ip_masked)) == ("grant", "script", MASKED)


def test_the_export_holds_the_consent_records_written_before_identification(client, redis_client):
    contact, _device, browser_key = _person_who_granted_then_gave_their_email(
        client, tick_tracking=False
    )
    records = contact_export(contact=contact)["consent_records"]
    assert [(r["action"], r["source"], r["contact"]) for r in records] == [
        ("grant", "script", None)
    ]
    assert records[0]["browser_key"] == browser_key_hash(browser_key)


def test_a_rate_limit_key_cannot_be_traced_back_to_a_masked_address(client, redis_client):
    """Without SECRET_KEY, trying every /16 prefix against the limiter's keys finds nothing."""
    _person_who_granted_then_gave_their_email(client, tick_tracking=False)
    names = [k.decode() for k in redis_client.scan_iter(match="*rl:form:*")]
    assert len(names) == 1  # the form submission was counted, under one key
    unkeyed = {
        hashlib.blake2b(f"{a}.{b}.0.0".encode(), digest_size=12).hexdigest()
        for a in range(256)
        for b in range(256)
    }
    assert hashlib.blake2b(MASKED.encode(), digest_size=12).hexdigest() in unkeyed
    assert not [name for name in names if any(part in unkeyed for part in name.split(":"))]


def test_erasure_removes_the_dead_letters_that_name_the_person(client, redis_client):
    """Events the drain could not store are kept as text until re-driven: those naming the
    person's device or id go with the person, a stranger's stay."""
    contact, device, _key = _person_who_granted_then_gave_their_email(client, tick_tracking=False)
    poison = [
        {"k": "nonsense", "d": device.public_id},
        {"k": "nonsense", "c": contact.pk},
        {"k": "nonsense", "d": "a-strangers-device"},
    ]
    for fields in poison:
        event = {"id": str(uuid.uuid4()), "ts": time.time(), **fields}
        redis_client.xadd("consentry:events", {"e": json.dumps(event)})
    redis_client.xadd("consentry:events", {"e": b"\xff not json " + device.public_id.encode()})
    events_drain()
    assert DeadLetter.objects.count() == 4
    api_client("contacts.delete_contact").post(f"/api/v1/contacts/{contact.pk}/erase/")
    [kept] = DeadLetter.objects.all()
    assert json.loads(kept.payload)["d"] == "a-strangers-device"
    assert rows_holding(device.public_id) == []


def test_erasure_finds_a_non_ascii_email_in_a_dead_letter_kept_as_escaped_text():
    from contacts.rights import contact_erase
    from tracker.store import deadletter_add

    contact = Contact.objects.create(email="jöhn@exämple.com")
    deadletter_add(
        event={"k": "nonsense", "note": "from jöhn@exämple.com"}, error="x", source="drain"
    )
    assert "\\u00f6" in DeadLetter.objects.get().payload
    contact_erase(contact=contact)
    assert not DeadLetter.objects.exists()
