"""The contacts API: CRUD with filters, Do-Not-Contact, append-only consent, activity,
export and erasure, each with its permission denials."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from consent.models import ConsentRecord
from consent.services import consent_grant, consent_withdraw
from contacts.models import Contact, DataSubjectRequest, DoNotContact
from contacts.services import contact_upsert, dnc_add
from tests.support.apiclients import ALL, api_client, model_perms

pytestmark = pytest.mark.django_db
BASE = "/api/v1/contacts/"


@pytest.fixture
def admin_api():
    return api_client(
        *model_perms("contacts", "contact", *ALL),
        *model_perms("contacts", "donotcontact", *ALL),
        *model_perms("consent", "consentrecord", "view", "add"),
    )


@pytest.fixture
def reader():
    return api_client("contacts.view_contact", "consent.view_consentrecord")


def test_contacts_can_be_created_listed_read_updated_and_deleted(admin_api):
    created = admin_api.post(
        BASE,
        {"email": "ada@example.com", "first_name": "Ada", "fields": {"city": "London"}},
        format="json",
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert created.json()["fields"] == {"city": "London"}
    listing = admin_api.get(BASE)
    assert listing.json()["count"] == 1
    assert listing.json()["results"][0]["email"] == "ada@example.com"
    patched = admin_api.patch(f"{BASE}{contact_id}/", {"last_name": "Lovelace"}, format="json")
    assert patched.json()["last_name"] == "Lovelace"
    assert admin_api.get(f"{BASE}{contact_id}/").json()["first_name"] == "Ada"
    assert admin_api.delete(f"{BASE}{contact_id}/").status_code == 204
    assert not Contact.objects.exists()
    assert DataSubjectRequest.objects.get().kind == "erase"


def test_an_update_may_change_the_email_but_never_to_another_contacts(admin_api):
    ada = contact_upsert(email="ada@example.com", first_name="Ada")
    contact_upsert(email="bob@example.com")
    moved = admin_api.patch(f"{BASE}{ada.pk}/", {"email": "ada@lovelace.org"}, format="json")
    assert (moved.status_code, moved.json()["email"]) == (200, "ada@lovelace.org")
    taken = admin_api.patch(
        f"{BASE}{ada.pk}/", {"email": "BOB@example.com", "first_name": "Eve"}, format="json"
    )
    assert taken.status_code == 400
    assert taken.json()["fields"] == {"email": ["A contact with this email already exists."]}
    ada.refresh_from_db()
    assert (ada.email, ada.first_name) == ("ada@lovelace.org", "Ada")


def test_contacts_are_filtered_by_email_dnc_consent_and_update_time(reader):
    ada = contact_upsert(email="ada@example.com")
    bob = contact_upsert(email="bob@example.com")
    eve = contact_upsert(email="eve@example.com")
    consent_grant(contact=ada, source="form")
    consent_withdraw(contact=bob, source="form")
    dnc_add(contact=eve)

    def emails(**params):
        return [c["email"] for c in reader.get(BASE, params).json()["results"]]

    assert emails(email="ADA@example.com") == ["ada@example.com"]
    assert emails(dnc="true") == ["eve@example.com"]
    assert emails(consent="grant") == ["ada@example.com"]
    assert emails(consent="withdraw") == ["bob@example.com"]
    assert emails(consent="none") == ["eve@example.com"]
    assert emails(updated_since="2999-01-01T00:00:00Z") == []
    assert reader.get(BASE, {"consent": "maybe"}).json()["error"] == "invalid"


def test_a_read_only_user_gets_403_on_every_write(reader):
    contact = contact_upsert(email="ada@example.com")
    assert reader.get(f"{BASE}{contact.pk}/").status_code == 200
    writes = [
        reader.post(BASE, {"email": "x@example.com"}, format="json"),
        reader.patch(f"{BASE}{contact.pk}/", {"first_name": "X"}, format="json"),
        reader.delete(f"{BASE}{contact.pk}/"),
        reader.post(f"{BASE}{contact.pk}/dnc/", {"channel": "email"}, format="json"),
        reader.delete(f"{BASE}{contact.pk}/dnc/email/"),
        reader.post(
            f"{BASE}{contact.pk}/consents/", {"purpose": "email", "action": "grant"}, format="json"
        ),
        reader.post(f"{BASE}{contact.pk}/erase/"),
    ]
    assert [r.status_code for r in writes] == [403] * len(writes)
    assert all(r.json()["error"] == "permission_denied" for r in writes)
    assert Contact.objects.count() == 1


def test_without_a_token_everything_is_401():
    for url in (
        BASE,
        f"{BASE}1/",
        f"{BASE}1/export/",
        "/api/v1/consent/records/",
        "/api/v1/stats/",
        "/api/v1/forms/",
    ):
        assert APIClient().get(url).status_code == 401


def test_do_not_contact_entries_are_listed_added_and_removed(admin_api):
    contact = contact_upsert(email="ada@example.com")
    added = admin_api.post(
        f"{BASE}{contact.pk}/dnc/",
        {"channel": "email", "reason": "manual", "comment": "asked by phone"},
        format="json",
    )
    assert added.status_code == 201
    assert admin_api.get(f"{BASE}{contact.pk}/").json()["do_not_contact"] is True
    assert [e["channel"] for e in admin_api.get(f"{BASE}{contact.pk}/dnc/").json()] == ["email"]
    assert admin_api.delete(f"{BASE}{contact.pk}/dnc/email/").status_code == 204
    assert admin_api.delete(f"{BASE}{contact.pk}/dnc/email/").status_code == 404
    assert not DoNotContact.objects.exists()


def test_consent_records_are_appended_and_never_altered_through_the_api(admin_api):
    contact = contact_upsert(email="ada@example.com")
    consent_grant(contact=contact, source="form")
    added = admin_api.post(
        f"{BASE}{contact.pk}/consents/",
        {"purpose": "tracking", "action": "withdraw", "source": "phone"},
        format="json",
    )
    assert added.status_code == 201
    records = admin_api.get(f"{BASE}{contact.pk}/consents/").json()
    assert [r["action"] for r in records] == ["grant", "withdraw"]  # oldest first
    record_url = f"{BASE}{contact.pk}/consents/"
    for response in (
        admin_api.put(record_url, {}, format="json"),
        admin_api.patch(record_url, {}, format="json"),
        admin_api.delete(record_url),
    ):
        assert response.status_code == 405
    tombstone = admin_api.post(
        record_url, {"purpose": "tracking", "action": "erased"}, format="json"
    )
    assert tombstone.status_code == 400
    assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["grant", "withdraw"]


def test_the_consent_log_is_filterable(reader):
    ada = contact_upsert(email="ada@example.com")
    consent_grant(contact=ada, source="form")
    consent_withdraw(contact=ada, source="unsubscribe", purpose="email")
    url = "/api/v1/consent/records/"
    assert reader.get(url).json()["count"] == 2
    assert [r["source"] for r in reader.get(url, {"purpose": "email"}).json()["results"]] == [
        "unsubscribe"
    ]
    assert reader.get(url, {"action": "grant", "source": "form"}).json()["count"] == 1
    assert reader.get(url, {"since": "2999-01-01T00:00:00Z"}).json()["count"] == 0


def test_the_activity_timeline_shows_consent_changes_and_more(reader):
    contact = contact_upsert(email="ada@example.com")
    consent_grant(contact=contact, source="form")
    timeline = reader.get(f"{BASE}{contact.pk}/activity/").json()
    assert timeline[0]["type"] == "consent"
    assert timeline[0]["detail"]["source"] == "form"


def test_an_unknown_contact_is_404_in_one_shape(reader):
    response = reader.get(f"{BASE}999999/")
    assert response.status_code == 404
    assert set(response.json()) == {"error", "detail", "fields"}
