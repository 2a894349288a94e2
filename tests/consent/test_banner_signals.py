"""Choices reported by a site's consent banner (through the script's bridges) or by the plain
consent command: one consent record per real change of this browser's choice, never one per
page view, and nothing written for a banner's "no choice yet"."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from consent import registry
from consent.gate import read_choice
from consent.models import ConsentRecord
from contacts.models import Device
from contacts.services import contact_upsert, device_link, dnc_add
from tests.support.tracking import live, send
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embedded")]


@pytest.fixture
def embedded():
    """The embedded default: no Redis, events written through to the database."""
    with override_settings(REDIS_URL=None):
        yield


def report(client, consent, *, headers=None, **fields):
    """What a bridge sends: the consent command with its source, notice and explicit flag."""
    return send(client, {"type": "consent", "consent": consent, **fields}, headers=headers)


def stored(client):
    """The choice this browser holds, as the gate reads it."""
    cookie = client.cookies.get(registry.CONSENT.name)
    return read_choice(cookie.value if cookie else None, int(time.time()))


def test_the_same_choice_on_every_page_load_makes_one_record_and_one_cookie(client):
    first = report(client, "grant", source="cookieconsent", explicit=True)
    assert registry.CONSENT.name in live(first)
    cookie = client.cookies[registry.CONSENT.name].value
    for explicit in (False, True, False, True, False):
        again = report(client, "grant", source="cookieconsent", explicit=explicit)
        assert again.json()["consent"] == "granted"
        # No new consent cookie: its expiry never moves.
        assert registry.CONSENT.name not in live(again)
    assert client.cookies[registry.CONSENT.name].value == cookie
    assert ConsentRecord.objects.count() == 1


def test_a_banner_starting_up_without_a_choice_writes_nothing(client):
    """Klaro calls its callback with false when it starts, before the visitor chose."""
    for _load in range(3):
        started = report(client, "revoke", source="klaro", explicit=False)
        assert started.status_code == 200
        assert started.json() == {"consent": "none", "counted": False, "reason": "no_choice"}
        assert live(started) == {}
    assert not ConsentRecord.objects.exists()
    assert send(client).json()["reason"] == "no_choice"


def test_an_explicit_refusal_is_remembered_and_recorded(client):
    refused = report(client, "revoke", source="klaro", explicit=True)
    assert set(live(refused)) == {registry.CONSENT.name}
    assert refused.json()["consent"] == "refused"
    record = ConsentRecord.objects.get()
    assert (record.action, record.source) == ("withdraw", "klaro")
    assert send(client).json()["reason"] == "refused"


def test_a_grant_then_a_withdrawal_are_two_records_and_the_visitor_is_anonymous_again(client):
    report(client, "grant", source="gcm", explicit=True)
    send(client)
    assert PageHit.objects.count() == 1
    for _load in range(3):
        report(client, "revoke", source="gcm", explicit=True)
        send(client)
    actions = list(ConsentRecord.objects.values_list("action", "source"))
    assert actions == [("grant", "gcm"), ("withdraw", "gcm")]
    assert PageHit.objects.count() == 1
    assert AnonymousHit.objects.count() == 3


def test_the_source_and_the_notice_version_are_recorded(client):
    report(client, "grant", source="tcf:10", notice="4", explicit=True)
    record = ConsentRecord.objects.get()
    assert (record.source, record.notice_version, record.action) == ("tcf:10", "4", "grant")
    assert stored(client).notice_version == "4"


def test_the_plain_consent_command_is_the_visitors_own_act_from_the_script(client):
    refused = send(client, {"type": "consent", "consent": "revoke"})
    assert set(live(refused)) == {registry.CONSENT.name}
    send(client, {"type": "consent", "consent": "revoke"})
    record = ConsentRecord.objects.get()
    assert (record.source, record.action) == ("script", "withdraw")


def test_the_same_choice_under_a_new_notice_is_a_new_record_the_cookie_keeps_its_expiry(client):
    report(client, "grant", source="cookieconsent", notice="1", explicit=True)
    before = stored(client)
    report(client, "grant", source="cookieconsent", notice="1", explicit=True)
    # Read at load under a newer notice: not an act, so not a new consent.
    report(client, "grant", source="cookieconsent", notice="2", explicit=False)
    assert ConsentRecord.objects.count() == 1
    report(client, "grant", source="cookieconsent", notice="2", explicit=True)
    assert list(ConsentRecord.objects.values_list("notice_version", flat=True)) == ["1", "2"]
    after = stored(client)
    assert after.notice_version == "2"
    assert after.issued_at == before.issued_at
    assert after.browser_key == before.browser_key


def test_consent_mode_defaults_on_every_load_never_withdraw_the_remembered_grant(client):
    """A Consent Mode page declares `default: denied` on every load, then the banner pushes
    the visitor's remembered choice."""
    report(client, "grant", source="gcm", explicit=True)
    for _load in range(3):
        assert report(client, "revoke", source="gcm", explicit=False).json()["consent"] == (
            "granted"
        )
        report(client, "grant", source="gcm", explicit=False)
        send(client)
    assert ConsentRecord.objects.count() == 1
    assert PageHit.objects.count() == 3


def test_a_banners_remembered_grant_is_taken_when_the_browser_holds_no_choice(client):
    """The visitor chose in the banner before the site ran Consentry: TCF's tcloaded."""
    granted = report(client, "grant", source="tcf:300", notice="5", explicit=False)
    assert granted.json()["consent"] == "granted"
    assert registry.DEVICE.name in live(granted)
    assert ConsentRecord.objects.get().source == "tcf:300"


@pytest.mark.parametrize(
    ("headers", "fields", "reason"),
    [
        ({"Sec-GPC": "1"}, {}, "gpc"),
        ({}, {"gpc": True}, "gpc"),
        ({"DNT": "1"}, {}, "dnt"),
    ],
)
def test_gpc_and_dnt_outrank_a_grant_the_banner_read_at_load(client, headers, fields, reason):
    for _load in range(2):
        loaded = report(
            client, "grant", source="onetrust", explicit=False, headers=headers, **fields
        )
        assert loaded.json() == {"consent": "none", "counted": False, "reason": reason}
        assert live(loaded) == {}
    assert not ConsentRecord.objects.exists()
    assert send(client, headers=headers, **fields).json()["reason"] == reason
    assert not PageHit.objects.exists()


def test_a_grant_the_visitor_clicks_after_sending_gpc_is_their_own(client):
    """As with the plain consent command: an explicit grant is newer than the signal."""
    clicked = report(client, "grant", source="onetrust", explicit=True, headers={"Sec-GPC": "1"})
    assert clicked.json()["reason"] == "granted"
    assert ConsentRecord.objects.get().action == "grant"


def test_do_not_contact_outranks_a_banner_that_grants_on_every_load(client):
    report(client, "grant", source="cookiebot", explicit=True)
    send(client)
    contact = contact_upsert(email="dnc@example.com")
    device_link(device=Device.objects.get(), contact=contact)
    dnc_add(contact=contact, reason="unsubscribed")
    # Even a click cannot grant while the device leads to the contact; its cookie is
    # expired and the grant turned into a refusal, which then stands for Do-Not-Contact: a
    # state read at load, or another click in the banner, hands the browser no new device.
    for explicit in (True, False, True):
        loaded = report(client, "grant", source="cookiebot", explicit=explicit)
        assert loaded.json()["consent"] in ("granted", "refused")
        assert registry.DEVICE.name not in live(loaded)
    # The one grant before Do-Not-Contact; none while it holds.
    assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["grant"]
    assert stored(client).choice == "r"
    send(client)
    assert PageHit.objects.count() == 1
    assert Device.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"source": "matomo"}, "invalid_source"),
        ({"source": "tcf:"}, "invalid_source"),
        ({"source": "tcf:abc"}, "invalid_source"),
        ({"source": ""}, "invalid_source"),
        ({"source": "x" * 33}, "invalid_source"),
        ({"notice": "n" * 33}, "invalid_notice"),
        ({"notice": ""}, "invalid_notice"),
        ({"notice": "<script>"}, "invalid_notice"),
        ({"explicit": "maybe"}, "invalid_explicit"),
        ({"explicit": 2}, "invalid_explicit"),
    ],
)
def test_a_bad_source_notice_or_explicit_flag_is_refused_by_name(client, fields, error):
    refused = report(client, "grant", **fields)
    assert refused.status_code == 400
    assert refused.json()["error"] == error
    assert live(refused) == {}
    assert not ConsentRecord.objects.exists()
    assert report(client, "grant", source="gpp:7", notice="2024-06.1").status_code == 200
    assert ConsentRecord.objects.get().source == "gpp:7"
