"""A sent email is archived, not deleted: out of the lists unless asked for, its sends and
figures kept. An email never sent may be deleted."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from contacts.services import contact_upsert
from emails.models import Email, EmailSend, Recipient
from emails.selectors import email_stats
from emails.services import EmailInUse, email_archive, email_delete
from tests.support.apiclients import api_client, model_perms
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db


def _sent_email() -> Email:
    email = email_make(name="Spring sale")
    send = EmailSend.objects.create(email=email)
    contact = contact_upsert(email="ada@example.com")
    Recipient.objects.create(send=send, contact=contact, status="sent")
    return email


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("operator", "op@example.com", "pw"))
    return client


def test_an_archived_email_leaves_the_admin_list_but_keeps_its_figures(operator):
    sent, current = _sent_email(), email_make(name="Summer sale")
    operator.post(
        reverse("admin:emails_email_changelist"),
        {"action": "archive", "_selected_action": [sent.pk]},
    )
    sent.refresh_from_db()
    assert sent.archived_at is not None
    listing = operator.get(reverse("admin:emails_email_changelist")).content.decode()
    assert "Summer sale" in listing
    assert "Spring sale" not in listing
    archived = operator.get(reverse("admin:emails_email_changelist"), {"archived": "yes"})
    assert "Spring sale" in archived.content.decode()
    assert "Summer sale" not in archived.content.decode()
    assert email_stats(email=sent).sent == 1
    assert current.archived_at is None


def test_an_archived_email_comes_back(operator):
    sent = email_archive(email=_sent_email())
    operator.post(
        reverse("admin:emails_email_changelist") + "?archived=yes",
        {"action": "unarchive", "_selected_action": [sent.pk]},
    )
    sent.refresh_from_db()
    assert sent.archived_at is None


def test_a_sent_email_cannot_be_deleted_from_the_admin(operator):
    sent = _sent_email()
    page = operator.get(reverse("admin:emails_email_delete", args=[sent.pk]))
    assert page.status_code == 403
    operator.post(
        reverse("admin:emails_email_changelist"),
        {"action": "delete_selected", "_selected_action": [sent.pk], "post": "yes"},
    )
    assert Email.objects.filter(pk=sent.pk).exists()
    assert Recipient.objects.filter(send__email=sent).count() == 1


def test_an_unsent_email_can_be_deleted(operator):
    draft = email_make(name="Draft")
    operator.post(reverse("admin:emails_email_delete", args=[draft.pk]), {"post": "yes"})
    assert not Email.objects.filter(pk=draft.pk).exists()


def test_the_delete_service_refuses_a_sent_email():
    sent = _sent_email()
    with pytest.raises(EmailInUse):
        email_delete(email=sent)
    assert Email.objects.filter(pk=sent.pk).exists()


def test_the_api_lists_archived_emails_only_when_asked():
    sent, current = email_archive(email=_sent_email()), email_make(name="Summer sale")
    api = api_client(*model_perms("emails", "email", "view"))
    names = lambda answer: [e["name"] for e in answer.json()["results"]]  # noqa: E731
    assert names(api.get("/api/v1/emails/")) == ["Summer sale"]
    assert names(api.get("/api/v1/emails/", {"archived": "true"})) == ["Spring sale"]
    assert sorted(names(api.get("/api/v1/emails/", {"archived": "all"}))) == [
        "Spring sale",
        "Summer sale",
    ]
    detail = api.get(f"/api/v1/emails/{sent.pk}/").json()
    assert detail["archived_at"] is not None
    bad = api.get("/api/v1/emails/", {"archived": "maybe"})
    assert bad.status_code == 400
    assert "archived" in bad.json()["fields"]
    assert current.pk != sent.pk


def test_the_api_refuses_to_delete_a_sent_email_and_may_delete_a_draft():
    sent, draft = _sent_email(), email_make(name="Draft")
    api = api_client(*model_perms("emails", "email", "view", "delete"))
    refused = api.delete(f"/api/v1/emails/{sent.pk}/")
    assert refused.status_code == 409
    assert Email.objects.filter(pk=sent.pk).exists()
    assert api.delete(f"/api/v1/emails/{draft.pk}/").status_code == 204
    assert not Email.objects.filter(pk=draft.pk).exists()
