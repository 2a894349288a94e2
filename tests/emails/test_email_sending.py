"""Sending through a real SMTP server on loopback: headers, links and pixels as consent
allows, and nothing at all for contacts on Do-Not-Contact."""

from __future__ import annotations

import email
import email.policy
import re
import socket

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from consentry.celery import app as celery_app
from contacts.services import contact_upsert, dnc_add
from emails.models import Recipient
from emails.services import email_send, recipients_deliver
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    def to(self, address):
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def inbox():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        UNSUBSCRIBE_MAILTO="unsubscribe@shop.example.com",
    ):
        yield handler
    controller.stop()


@pytest.fixture
def eager():
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def _html(message):
    return message.get_body(("html",)).get_content()


def _text(message):
    return message.get_body(("plain",)).get_content()


@pytest.fixture
def audience():
    from consent.services import consent_grant

    consented = contact_upsert(email="yes@example.com", first_name="Yan")
    consent_grant(contact=consented, source="form")
    plain = contact_upsert(email="plain@example.com", first_name="Pia")
    # Both opted in to email news; only the first to tracking.
    for contact in (consented, plain):
        consent_grant(contact=contact, purpose="email", source="form")
    blocked = contact_upsert(email="dnc@example.com", first_name="Dan")
    dnc_add(contact=blocked, reason="unsubscribed")
    return consented, plain, blocked


def test_a_send_reaches_smtp_with_the_headers_rfc_8058_asks_for(
    inbox, eager, audience, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email_send(email=email_make(), contacts=audience)
    assert sorted(m["To"] for m in inbox.messages) == ["plain@example.com", "yes@example.com"]
    for message in inbox.messages:
        token = Recipient.objects.get(contact__email=message["To"]).token
        assert message["List-Unsubscribe"].strip() == (
            f"<http://127.0.0.1:8000/email/unsubscribe/{token}>, "
            "<mailto:unsubscribe@shop.example.com?subject=unsubscribe>"
        )
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert re.fullmatch(r"<.+@.+>", message["Message-ID"])
        assert f"/email/unsubscribe/{token}" in _html(message)
        assert f"/email/unsubscribe/{token}" in _text(message)
        assert "See the sale" in _text(message)
    assert inbox.to("yes@example.com")[0]["Subject"] == "Our autumn sale, Yan"


def test_only_consenting_recipients_get_their_own_pixel_and_attributed_links(
    inbox, eager, audience, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        send = email_send(email=email_make(), contacts=audience)
    consented = Recipient.objects.get(contact__email="yes@example.com")
    plain = Recipient.objects.get(contact__email="plain@example.com")
    yes_html = _html(inbox.to("yes@example.com")[0])
    plain_html = _html(inbox.to("plain@example.com")[0])
    assert f"/email/{consented.token}.gif" in yes_html
    assert re.search(r'href="http://127\.0\.0\.1:8000/r/[\w-]+\?ct=[^"]+"', yes_html)
    # The others: the email's shared pixel and links that count in aggregate only.
    assert f"/email/{send.email.pixel_token}.gif" in plain_html
    assert f"/email/{plain.token}.gif" not in plain_html
    assert "?ct=" not in plain_html
    assert re.search(r'href="http://127\.0\.0\.1:8000/r/[\w-]+"', plain_html)
    assert "shop.example.com/sale" not in plain_html  # every link goes through /r/
    assert consented.tracked is True
    assert plain.tracked is False


def test_contacts_on_do_not_contact_receive_nothing_even_if_added_after_queueing(
    inbox, eager, audience
):
    _consented, plain, _blocked = audience
    send = email_send(email=email_make(), contacts=audience)  # tasks wait for the commit
    dnc_add(contact=plain, reason="unsubscribed")
    counts = recipients_deliver(recipient_ids=list(send.recipients.values_list("id", flat=True)))
    assert counts == {"sent": 1, "skipped_dnc": 2, "skipped_consent": 0, "failed": 0}
    assert [m["To"] for m in inbox.messages] == ["yes@example.com"]
    assert set(send.recipients.values_list("status", flat=True)) == {"sent", "skipped_dnc"}


def test_delivering_twice_sends_once(inbox, audience):
    send = email_send(email=email_make(), contacts=audience[:1])
    ids = list(send.recipients.values_list("id", flat=True))
    recipients_deliver(recipient_ids=ids)
    recipients_deliver(recipient_ids=ids)
    assert len(inbox.messages) == 1


def test_recipient_tokens_are_random_and_long(audience):
    send = email_send(email=email_make(), contacts=audience)
    tokens = list(send.recipients.values_list("token", flat=True))
    assert len(set(tokens)) == 3
    assert all(len(t) >= 32 for t in tokens)  # 192 bits, url-safe


def test_contact_fields_are_escaped_in_the_html(inbox, eager, django_capture_on_commit_callbacks):
    from consent.services import consent_grant

    contact = contact_upsert(email="x@example.com", first_name='<img src=x onerror="alert(1)">')
    consent_grant(contact=contact, purpose="email", source="form")
    with django_capture_on_commit_callbacks(execute=True):
        email_send(email=email_make(), contacts=[contact])
    html = _html(inbox.messages[0])
    assert "<img src=x" not in html
    assert "&lt;img src=x" in html


@override_settings(TRACKING_MODE="off")
def test_with_tracking_off_messages_carry_no_pixel(
    inbox, eager, audience, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        email_send(email=email_make(), contacts=audience)
    for message in inbox.messages:
        assert ".gif" not in _html(message)
        assert "?ct=" not in _html(message)
