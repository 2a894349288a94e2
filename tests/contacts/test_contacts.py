from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from contacts.models import Contact, DoNotContact
from contacts.selectors import contact_is_dnc
from contacts.services import contact_upsert, device_create, device_link, dnc_add, dnc_remove

pytestmark = pytest.mark.django_db


def test_an_email_is_one_contact_whatever_its_case():
    first = contact_upsert(email="Ada@Example.com", first_name="Ada")
    second = contact_upsert(
        email="ada@example.COM ", last_name="Lovelace", fields={"city": "London"}
    )
    assert first.pk == second.pk
    assert Contact.objects.count() == 1
    second.refresh_from_db()
    assert (second.first_name, second.last_name, second.fields) == (
        "Ada",
        "Lovelace",
        {"city": "London"},
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Contact.objects.create(email="ADA@example.com")


def test_do_not_contact_is_per_channel_and_idempotent():
    contact = contact_upsert(email="grace@example.com")
    first = dnc_add(contact=contact, channel="email", reason="unsubscribed")
    again = dnc_add(contact=contact, channel="email", reason="bounced")
    assert first.pk == again.pk
    assert again.reason == "unsubscribed"
    assert contact_is_dnc(contact=contact)
    assert contact_is_dnc(contact=contact, channel="email")
    assert not contact_is_dnc(contact=contact, channel="sms")
    assert dnc_remove(contact=contact, channel="email")
    assert not contact_is_dnc(contact=contact)
    assert DoNotContact.objects.count() == 0


def test_a_device_id_is_random_and_not_the_primary_key():
    device = device_create()
    other = device_create()
    assert len(device.public_id) >= 32
    assert device.public_id != other.public_id
    assert device.public_id != str(device.pk)


def test_linking_a_device_brings_its_earlier_identified_hits_to_the_contact():
    import datetime as dt
    import uuid

    from tracker.models import PageHit

    device = device_create()
    now = dt.datetime.now(tz=dt.UTC)
    PageHit.objects.create(
        event_id=uuid.uuid4(),
        day=now.date(),
        created_at=now,
        site="https://a.example",
        path="/",
        device=device,
    )
    contact = contact_upsert(email="late@example.com")
    device_link(device=device, contact=contact)
    assert PageHit.objects.get().contact == contact
