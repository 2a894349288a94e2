"""The email API: render one recipient's message for your own sender, or send from here."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from consent.services import consent_grant
from contacts.services import contact_upsert
from emails.models import EmailSend, Recipient
from tests.support.apiclients import api_client
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader():
    return api_client("emails.view_email", "contacts.view_contact")


@pytest.fixture
def sender():
    return api_client("emails.add_emailsend", "emails.view_email", "contacts.view_contact")


def test_render_gives_the_message_a_site_sends_itself(sender):
    email = email_make()
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    consent_grant(contact=contact, source="form")
    response = sender.post(
        f"/api/v1/emails/{email.pk}/render/", {"contact": contact.pk}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    recipient = Recipient.objects.get(contact=contact)
    assert body["to"] == "ada@example.com"
    assert body["subject"] == "Our autumn sale, Ada"
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert f"/email/unsubscribe/{recipient.token}" in body["headers"]["List-Unsubscribe"]
    assert f"/email/{recipient.token}.gif" in body["html"]
    assert "?ct=" in body["html"]
    assert "See the sale" in body["text"]
    assert recipient.status == "external"
    # Rendering again is the same recipient, not a new one. A GET writes nothing (a page on
    # another site could make a signed-in sender's browser send one).
    assert (
        sender.get(f"/api/v1/emails/{email.pk}/render/", {"contact": contact.pk}).status_code == 405
    )
    again = sender.post(
        f"/api/v1/emails/{email.pk}/render/", {"contact": contact.pk}, format="json"
    )
    assert again.json()["headers"]["List-Unsubscribe"] == body["headers"]["List-Unsubscribe"]
    assert Recipient.objects.filter(contact=contact).count() == 1


def test_a_view_only_user_cannot_render_a_recipients_message(reader):
    """Rendering hands out the contact's one-click unsubscribe token: it needs the send
    permission, and a refused call leaves no recipient behind."""
    email = email_make()
    contact = contact_upsert(email="ada@example.com")
    url = f"/api/v1/emails/{email.pk}/render/"
    assert reader.post(url, {"contact": contact.pk}, format="json").status_code == 403
    assert not Recipient.objects.exists()
    assert not EmailSend.objects.exists()


def test_render_without_consent_uses_the_shared_pixel(sender):
    email = email_make()
    contact = contact_upsert(email="bob@example.com")
    body = sender.post(
        f"/api/v1/emails/{email.pk}/render/", {"contact": contact.pk}, format="json"
    ).json()
    assert f"/email/{email.pixel_token}.gif" in body["html"]
    assert "?ct=" not in body["html"]


def test_send_queues_one_recipient_per_contact(django_capture_on_commit_callbacks):
    client = api_client("emails.add_emailsend")
    email = email_make()
    contacts = [contact_upsert(email=f"p{i}@example.com").pk for i in range(3)]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            f"/api/v1/emails/{email.pk}/send/", {"contacts": contacts}, format="json"
        )
    assert response.status_code == 202
    assert response.json()["recipients"] == 3
    assert EmailSend.objects.get().recipients.count() == 3
    assert len(callbacks) == 1  # one delivery task per batch, dispatched after the commit


def test_errors_have_one_shape(sender):
    email = email_make()
    missing = sender.post(f"/api/v1/emails/{email.pk}/render/", {}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "invalid",
        "detail": "the request has invalid fields",
        "fields": {"contact": ["This field is required."]},
    }
    unknown = sender.post("/api/v1/emails/999999/render/", {"contact": 1}, format="json")
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "not_found"


def test_permissions_are_enforced(reader):
    email = email_make()
    anonymous = APIClient().post(f"/api/v1/emails/{email.pk}/render/", {"contact": 1})
    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "not_authenticated"
    denied = reader.post(f"/api/v1/emails/{email.pk}/send/", {"contacts": [1]}, format="json")
    assert denied.status_code == 403
    assert denied.json()["error"] == "permission_denied"
    assert (
        api_client().post(f"/api/v1/emails/{email.pk}/render/", {"contact": 1}).status_code == 403
    )


def test_the_openapi_schema_and_offline_docs_are_served(client):
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    document = schema.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/emails/{email_id}/render/" in document["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"drf_spectacular_sidecar/redoc" in docs.content
    assert b"cdn." not in docs.content
