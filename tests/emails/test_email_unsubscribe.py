"""Unsubscribe and resubscribe: GET changes nothing, POST (or RFC 8058 one-click) does, the
same answer for every token, and never a tracking cookie (the RFC's Problem 1)."""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import re
import time

import pytest
from django.test import override_settings

from consent import registry
from consent.models import ConsentRecord
from contacts.models import DoNotContact
from contacts.selectors import contact_is_dnc
from contacts.services import contact_upsert
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.emailing import sent_to
from tests.support.tracking import expired, live

pytestmark = pytest.mark.django_db


def _url(sent, kind="unsubscribe"):
    return f"/email/{kind}/{sent.recipient.token}"


def _carry_cookies(client):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.cookies[registry.DEVICE.name] = device_cookie()
    client.cookies["mtc_id"] = "7"
    client.cookies["mautic_device_id"] = "x"


def test_get_shows_a_confirmation_and_changes_nothing(client):
    sent = sent_to("ada@example.com", consented=True)
    response = client.get(_url(sent))
    assert response.status_code == 200
    assert b'method="post"' in response.content
    assert not contact_is_dnc(contact=sent.contact)
    assert ConsentRecord.objects.filter(source="unsubscribe").count() == 0


def test_post_unsubscribes_withdraws_consent_and_is_idempotent(client):
    sent = sent_to("ada@example.com", consented=True)
    first = client.post(_url(sent))
    second = client.post(_url(sent))
    assert first.status_code == second.status_code == 200
    assert b"unsubscribed" in first.content
    entry = DoNotContact.objects.get(contact=sent.contact)
    assert (entry.channel, entry.reason) == ("email", "unsubscribed")
    records = ConsentRecord.objects.filter(source="unsubscribe")
    assert sorted(records.values_list("purpose", "action")) == [
        ("email", "withdraw"),
        ("tracking", "withdraw"),
    ]


@override_settings(DNC_REVOKES_TRACKING=False)
def test_without_dnc_revokes_tracking_only_email_consent_is_withdrawn(client):
    sent = sent_to("ada@example.com", consented=True)
    client.post(_url(sent))
    assert list(
        ConsentRecord.objects.filter(source="unsubscribe").values_list("purpose", flat=True)
    ) == ["email"]


def test_rfc_8058_one_click_unsubscribes_without_cookies_or_csrf(client):
    sent = sent_to("ada@example.com", consented=True)
    client.handler.enforce_csrf_checks = True
    response = client.post(_url(sent), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert contact_is_dnc(contact=sent.contact, channel="email")


@pytest.mark.parametrize("method", ["get", "post"])
def test_unsubscribe_sets_no_cookie_and_expires_tracking_ones(client, method):
    sent = sent_to("ada@example.com", consented=True)
    _carry_cookies(client)
    response = getattr(client, method)(_url(sent))
    assert live(response) == {}
    assert {registry.DEVICE.name, "mtc_id", "mautic_device_id"} <= expired(response)
    # The visitor's own choice is not a tracking cookie: it stays.
    assert registry.CONSENT.name not in expired(response)


def test_valid_and_invalid_tokens_answer_alike(client):
    sent = sent_to("ada@example.com", consented=True)
    valid = client.post(_url(sent))
    invalid = client.post("/email/unsubscribe/" + "Z" * 32)
    garbage = client.post("/email/unsubscribe/<script>")
    assert valid.status_code == invalid.status_code == garbage.status_code == 200
    strip = [r.content.replace(sent.recipient.token.encode(), b"T") for r in (valid, invalid)]
    assert strip[0] == strip[1].replace(b"Z" * 32, b"T")
    assert b"<script>" not in garbage.content


def _claims(response):
    """The sentences of a page that say what happened to a subscription."""
    text = html.unescape(re.sub(r"<[^>]+>", "\n", response.content.decode()))
    sentences = [s.strip() for s in re.split(r"[.!?]\s|\n\s*\n", text) if s.strip()]
    outcome = re.compile(r"\bunsubscribed\b|\bwill (not )?receive\b|\bresubscribed\b", re.I)
    return [" ".join(s.split()) for s in sentences if outcome.search(s)]


@pytest.mark.parametrize("kind", ["unsubscribe", "resubscribe"])
def test_after_the_post_the_page_claims_only_what_is_true_for_any_token(client, kind):
    sent = sent_to("ada@example.com", consented=True)
    if kind == "resubscribe":
        client.post(_url(sent))  # on Do-Not-Contact, so that resubscribing changes something
    valid = client.post(_url(sent, kind))
    invalid = client.post(f"/email/{kind}/" + "Z" * 32)
    assert valid.status_code == invalid.status_code == 200
    assert len(valid.content) == len(invalid.content)
    claims = _claims(invalid)
    assert claims  # the page does say what a valid link did...
    # ...but only on the condition that the link was one of ours: nothing it cannot know.
    assert all(claim.startswith("If this link") for claim in claims), claims
    assert _claims(valid) == claims
    assert contact_is_dnc(contact=sent.contact) is (kind == "unsubscribe")


def test_an_invalid_token_adds_no_do_not_contact_anywhere(client):
    sent = sent_to("ada@example.com", consented=True)
    for url in ("/email/unsubscribe/" + "Z" * 32, "/email/unsubscribe/<script>"):
        client.post(url)
        client.post(url, {"List-Unsubscribe": "One-Click"})
    assert DoNotContact.objects.count() == 0
    assert ConsentRecord.objects.filter(source="unsubscribe").count() == 0
    client.post(_url(sent))
    assert list(DoNotContact.objects.values_list("contact", flat=True)) == [sent.contact.pk]


def test_a_one_click_answer_is_the_same_for_any_token_and_claims_nothing_false(client):
    sent = sent_to("ada@example.com", consented=True)
    valid = client.post(_url(sent), {"List-Unsubscribe": "One-Click"})
    invalid = client.post("/email/unsubscribe/" + "Z" * 32, {"List-Unsubscribe": "One-Click"})
    assert valid.status_code == invalid.status_code == 200
    assert valid.content == invalid.content
    assert "if this link belongs to a subscription" in invalid.content.decode()
    assert contact_is_dnc(contact=sent.contact, channel="email")


def test_resubscribe_lifts_dnc_and_records_email_consent_only(client):
    sent = sent_to("ada@example.com", consented=True)
    client.post(_url(sent))
    before = ConsentRecord.objects.filter(purpose="tracking").count()
    assert client.get(_url(sent, "resubscribe")).status_code == 200
    assert contact_is_dnc(contact=sent.contact)  # GET changed nothing
    _carry_cookies(client)
    response = client.post(_url(sent, "resubscribe"))
    assert live(response) == {}
    assert registry.DEVICE.name in expired(response)
    assert not contact_is_dnc(contact=sent.contact)
    assert ConsentRecord.objects.filter(purpose="tracking").count() == before
    assert (
        ConsentRecord.objects.filter(purpose="email", action="grant", source="resubscribe").count()
        == 1
    )


def test_the_web_view_has_no_tracker_and_no_cookie(client):
    sent = sent_to("ada@example.com", consented=True)
    _carry_cookies(client)
    response = client.get(_url(sent, "view"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Hello Ada" in body
    assert ".gif" not in body
    assert "/r/" not in body
    assert "https://shop.example.com/sale" in body
    assert live(response) == {}
    assert registry.DEVICE.name in expired(response)
    assert "script-src" not in response["Content-Security-Policy"]
    assert client.get("/email/view/" + "Z" * 32).status_code == 404


def _signed(body, secret="s3cret", ts=None):
    ts = str(int(time.time()) if ts is None else ts)
    signature = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Consentry-Timestamp": ts, "X-Consentry-Signature": f"sha256={signature}"}


@override_settings(BOUNCE_WEBHOOK_SECRET="s3cret")
def test_a_signed_bounce_adds_do_not_contact(client):
    contact = contact_upsert(email="gone@example.com")
    body = json.dumps({"email": "GONE@example.com", "type": "bounce"}).encode()
    response = client.post(
        "/email/webhook/bounce", body, content_type="application/json", headers=_signed(body)
    )
    assert response.status_code == 200
    assert DoNotContact.objects.get(contact=contact).reason == "bounced"


@override_settings(BOUNCE_WEBHOOK_SECRET="s3cret")
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Consentry-Timestamp": str(int(time.time())), "X-Consentry-Signature": "sha256=00"},
        "wrong-secret",
        "stale",
    ],
)
def test_unsigned_forged_or_stale_webhook_calls_are_refused(client, headers):
    contact_upsert(email="gone@example.com")
    body = json.dumps({"email": "gone@example.com", "type": "complaint"}).encode()
    if headers == "wrong-secret":
        headers = _signed(body, secret="guess")
    elif headers == "stale":
        headers = _signed(body, ts=int(time.time()) - 3600)
    response = client.post(
        "/email/webhook/bounce", body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert DoNotContact.objects.count() == 0


def test_the_webhook_is_off_without_a_secret(client):
    assert (
        client.post("/email/webhook/bounce", b"{}", content_type="application/json").status_code
        == 404
    )
