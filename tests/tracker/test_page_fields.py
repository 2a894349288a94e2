"""Contact fields a page sends with its pageview (Mautic's mt('send', 'pageview', {email,
firstname, tags}) and the pixel's email= / tags=): a contact only with PAGE_FIELDS_IDENTIFY on
and the gate's permit to identify; otherwise dropped, never stored."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent import registry
from consent.models import ConsentRecord
from contacts.models import Contact, Device
from contacts.selectors import contact_activity
from contacts.services import contact_upsert, dnc_add
from tests.support.browsers import consent_cookie
from tests.support.tracking import CHROME, send
from tracker.models import AnonymousHit, DeadLetter, PageHit

pytestmark = [pytest.mark.django_db]

FIELDS = {
    "email": "ada@example.com",
    "firstname": "Ada",
    "lastname": "Lovelace",
    "tags": "vip,news",
}


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def granted(client):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")


def nothing_kept_of():
    """No contact, no identified hit, and no trace of the fields in any stored row."""
    assert not Contact.objects.exists()
    assert not PageHit.objects.exists()
    for row in [*AnonymousHit.objects.all(), *DeadLetter.objects.all()]:
        text = str(vars(row))
        for value in ("ada@example.com", "Lovelace", "vip"):
            assert value not in text


@override_settings(PAGE_FIELDS_IDENTIFY=True)
def test_with_the_setting_on_and_a_grant_the_email_ties_the_hit_to_a_contact(client):
    granted(client)
    response = send(client, FIELDS)
    assert response.status_code == 200
    assert response.json()["counted"] is True
    contact = Contact.objects.get()
    assert (contact.email, contact.first_name, contact.last_name) == (
        "ada@example.com",
        "Ada",
        "Lovelace",
    )
    assert contact.fields["tags"] == ["vip", "news"]
    hit = PageHit.objects.get()
    assert hit.contact == contact
    assert Device.objects.get().contact == contact
    record = ConsentRecord.objects.get(contact=contact)
    assert (record.source, record.action) == ("page_fields", "grant")
    timeline = contact_activity(contact=contact)
    assert {"type": "consent", "source": "page_fields"} in [
        {"type": i["type"], "source": i["detail"].get("source")} for i in timeline
    ]
    assert "page_hit" in [i["type"] for i in timeline]

    # A second pageview from the same browser adds no second consent record.
    send(client, FIELDS)
    assert ConsentRecord.objects.filter(contact=contact).count() == 1
    assert PageHit.objects.filter(contact=contact).count() == 2


@override_settings(PAGE_FIELDS_IDENTIFY=False)
def test_with_the_setting_off_the_fields_are_dropped_even_with_a_grant(client):
    granted(client)
    response = send(client, FIELDS)
    assert response.status_code == 200
    assert not Contact.objects.exists()
    hit = PageHit.objects.get()
    assert hit.contact is None
    assert "ada@example.com" not in str(vars(hit))


@override_settings(PAGE_FIELDS_IDENTIFY=True)
def test_with_the_setting_on_but_no_permit_the_fields_are_dropped(client):
    response = send(client, FIELDS)
    assert response.status_code == 200
    assert response.json()["counted"] is True
    assert AnonymousHit.objects.count() == 1
    nothing_kept_of()


@override_settings(PAGE_FIELDS_IDENTIFY=True)
def test_a_contact_on_do_not_contact_named_by_the_page_is_not_identified(client):
    contact = contact_upsert(email="ada@example.com")
    dnc_add(contact=contact)
    granted(client)
    response = send(client, FIELDS)
    assert response.json()["reason"] == "do_not_contact"
    assert not Device.objects.exists()
    assert not PageHit.objects.filter(contact=contact).exists()
    assert not ConsentRecord.objects.filter(contact=contact).exists()


@override_settings(PAGE_FIELDS_IDENTIFY=True)
def test_a_malformed_email_drops_the_fields_but_never_the_hit(client):
    granted(client)
    response = send(client, {**FIELDS, "email": "not an email"})
    assert response.status_code == 200
    assert not Contact.objects.exists()
    assert PageHit.objects.get().contact is None


@override_settings(PAGE_FIELDS_IDENTIFY=True)
def test_the_pixel_email_identifies_only_with_a_permit(client):
    url = (
        "/mtracking.gif?page_url=http%3A%2F%2Ftestserver%2Fpricing&email=ada%40example.com&tags=vip"
    )
    response = client.get(url, headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert not Contact.objects.exists()

    granted(client)
    response = client.get(url, headers={"User-Agent": CHROME})
    assert response.status_code == 200
    contact = Contact.objects.get()
    assert contact.fields["tags"] == ["vip"]
    assert PageHit.objects.get().contact == contact
