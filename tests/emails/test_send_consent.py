"""Sends honour the email opt-in they collect: by default only contacts whose email consent
is granted (and who are not on Do-Not-Contact) are mailed, through a real SMTP server on
loopback. An operator may name another lawful basis on the email; each recipient row records
the basis it was sent under, and the admin shows what each basis covers before the send."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from consent.services import consent_grant, consent_withdraw
from contacts.services import contact_upsert, dnc_add
from emails.models import EmailSend, Recipient, SendBasis
from emails.services import email_send, recipients_deliver
from tests.emails import test_email_sending as sending
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db

# The real SMTP server on loopback and eager tasks, as the sending tests use them.
inbox = sending.inbox
eager = sending.eager


@pytest.fixture
def people():
    opted_in = contact_upsert(email="yes@example.com", first_name="Yan")
    consent_grant(contact=opted_in, purpose="email", source="form")
    # Tracking consent alone is not an email opt-in.
    tracked_only = contact_upsert(email="tracked@example.com", first_name="Tia")
    consent_grant(contact=tracked_only, source="form")
    withdrawn = contact_upsert(email="gone@example.com", first_name="Gus")
    consent_grant(contact=withdrawn, purpose="email", source="form")
    consent_withdraw(contact=withdrawn, purpose="email", source="preferences")
    customer = contact_upsert(email="customer@example.com", first_name="Cal")
    blocked = contact_upsert(email="dnc@example.com", first_name="Dan")
    consent_grant(contact=blocked, purpose="email", source="form")
    dnc_add(contact=blocked, channel="email", reason="unsubscribed")
    return opted_in, tracked_only, withdrawn, customer, blocked


def _send(email, contacts, capture):
    with capture(execute=True):
        return email_send(email=email, contacts=contacts)


def test_a_consented_contact_receives_the_send_and_an_unconsented_one_does_not(
    inbox, eager, people, django_capture_on_commit_callbacks
):
    send = _send(email_make(), people, django_capture_on_commit_callbacks)
    assert [m["To"] for m in inbox.messages] == ["yes@example.com"]
    status = dict(send.recipients.values_list("contact__email", "status"))
    assert status == {
        "yes@example.com": "sent",
        "tracked@example.com": "skipped_consent",
        "gone@example.com": "skipped_consent",
        "customer@example.com": "skipped_consent",
        "dnc@example.com": "skipped_dnc",
    }
    assert Recipient.objects.get(contact__email="yes@example.com").basis == "consent"


def test_a_withdrawal_after_queueing_is_honoured_at_send_time(inbox, people):
    opted_in = people[0]
    send = email_send(email=email_make(), contacts=[opted_in])  # tasks wait for the commit
    consent_withdraw(contact=opted_in, purpose="email", source="preferences")
    counts = recipients_deliver(recipient_ids=list(send.recipients.values_list("id", flat=True)))
    assert counts["sent"] == 0
    assert counts["skipped_consent"] == 1
    assert inbox.messages == []


def test_a_soft_opt_in_send_reaches_both_and_records_each_basis(
    inbox, eager, people, django_capture_on_commit_callbacks
):
    email = email_make(basis=SendBasis.SOFT_OPT_IN)
    _send(email, people, django_capture_on_commit_callbacks)
    # Who withdrew is not an existing customer to be mailed anyway, and Do-Not-Contact holds.
    assert sorted(m["To"] for m in inbox.messages) == [
        "customer@example.com",
        "tracked@example.com",
        "yes@example.com",
    ]
    basis = dict(Recipient.objects.filter(status="sent").values_list("contact__email", "basis"))
    assert basis == {
        "yes@example.com": "consent",
        "tracked@example.com": "soft_opt_in",
        "customer@example.com": "soft_opt_in",
    }


def test_a_transactional_send_reaches_all_but_do_not_contact(
    inbox, eager, people, django_capture_on_commit_callbacks
):
    _send(email_make(basis=SendBasis.TRANSACTIONAL), people, django_capture_on_commit_callbacks)
    assert "dnc@example.com" not in {m["To"] for m in inbox.messages}
    basis = dict(Recipient.objects.filter(status="sent").values_list("contact__email", "basis"))
    assert basis == {
        "yes@example.com": "consent",
        "tracked@example.com": "transactional",
        "gone@example.com": "transactional",
        "customer@example.com": "transactional",
    }


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def test_the_admin_shows_what_each_basis_covers_before_it_sends(
    staff, inbox, eager, people, django_capture_on_commit_callbacks
):
    email = email_make(basis=SendBasis.SOFT_OPT_IN)
    chosen = {"action": "send_email", "_selected_action": [c.pk for c in people]}
    page = staff.post("/admin/contacts/contact/", {**chosen, "email_id": email.pk})
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-basis="consent">1<' in html
    assert 'data-basis="soft_opt_in">2<' in html
    assert 'data-skipped="consent">1<' in html
    assert 'data-skipped="dnc">1<' in html
    assert not EmailSend.objects.exists()  # nothing sent before the confirmation
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/admin/contacts/contact/", {**chosen, "email_id": email.pk, "confirm": "yes"})
    assert len(inbox.messages) == 3


def test_the_admins_own_address_is_not_mailed_without_consent(
    staff, inbox, eager, people, django_capture_on_commit_callbacks
):
    me = contact_upsert(email="boss@example.com")
    email = email_make()
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(
            "/admin/contacts/contact/",
            {
                "action": "send_email",
                "_selected_action": [me.pk, people[0].pk],
                "email_id": email.pk,
                "confirm": "yes",
            },
        )
    assert [m["To"] for m in inbox.messages] == ["yes@example.com"]
    assert Recipient.objects.get(contact=me).status == "skipped_consent"
