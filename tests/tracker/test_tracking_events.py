"""POST /mtc/event: counted as the gate allows, cookies only with a permit, bad input refused."""

from __future__ import annotations

import json
import time

import pytest
from django.test import override_settings

from consent import registry
from consent.gate import read_choice
from consent.models import ConsentRecord
from contacts.models import Device
from contacts.services import contact_upsert, device_link, dnc_add
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.tracking import CHROME, consent, expired, live, send
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embedded")]


@pytest.fixture
def embedded():
    """The embedded default: no Redis, events written through to the database."""
    with override_settings(REDIS_URL=None):
        yield


def test_a_pageview_without_a_choice_is_counted_anonymously_with_no_cookie(client):
    response = send(client)
    assert response.status_code == 200
    assert response.json() == {"consent": "none", "counted": True, "reason": "no_choice"}
    assert live(response) == {}
    hit = AnonymousHit.objects.get()
    assert (hit.site, hit.path, hit.title, hit.machine) == (
        "http://testserver",
        "/pricing",
        "Pricing",
        False,
    )
    assert hit.browser == "Chrome 120"
    assert hit.device_class == "desktop"
    assert len(hit.visitor) == 32
    assert PageHit.objects.count() == 0


def test_the_raw_ip_and_user_agent_are_never_stored(client):
    send(client, headers={"User-Agent": CHROME + " UniqueMarker/9"}, REMOTE_ADDR="198.51.100.77")
    row = AnonymousHit.objects.values().get()
    text = json.dumps(row, default=str)
    assert "198.51.100.77" not in text
    assert "UniqueMarker" not in text


def test_a_grant_sets_the_device_cookie_records_consent_and_identifies_what_follows(client):
    send(client)
    granted = consent(client, "grant")
    assert granted.json()["consent"] == "granted"
    cookies = live(granted)
    assert set(cookies) == {registry.CONSENT.name, registry.DEVICE.name}
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action, record.source) == ("tracking", "grant", "script")
    assert record.notice_version == "1"
    assert record.ip_masked == "127.0.0.0"

    send(client)
    hit = PageHit.objects.get()
    assert hit.device.public_id in cookies[registry.DEVICE.name]
    assert hit.url == "http://testserver/pricing"
    # The visit before the grant and after it is one visitor, not two.
    assert hit.visitor == AnonymousHit.objects.get().visitor


def test_a_revoke_expires_the_device_cookie_and_hits_are_anonymous_again(client):
    consent(client, "grant")
    revoked = consent(client, "revoke")
    assert registry.DEVICE.name in expired(revoked)
    assert revoked.json()["consent"] == "refused"
    assert set(live(revoked)) == {registry.CONSENT.name}
    send(client)
    assert PageHit.objects.count() == 0
    assert AnonymousHit.objects.count() == 1
    assert list(ConsentRecord.objects.values_list("action", flat=True)) == ["grant", "withdraw"]


def test_opting_out_stops_even_anonymous_counting(client):
    out = consent(client, "object")
    assert out.json() == {"consent": "objected", "counted": False, "reason": "objected"}
    response = send(client)
    assert response.json()["counted"] is False
    assert AnonymousHit.objects.count() == PageHit.objects.count() == 0


def test_a_forged_device_cookie_identifies_no_one(client):
    device = Device.objects.create(public_id="victim-device")
    device_link(device=device, contact=contact_upsert(email="victim@example.com"))
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.cookies[registry.DEVICE.name] = "victim-device.1700000000:forgedsignature"
    response = send(client)
    assert PageHit.objects.filter(device=device).count() == 0
    # It is replaced by a device of the browser's own.
    assert not live(response)[registry.DEVICE.name].startswith("victim-device")


@pytest.mark.parametrize("header", [{"Sec-GPC": "1"}, {"DNT": "1"}])
def test_gpc_and_dnt_set_no_cookie_and_count_anonymously(client, header):
    response = send(client, headers=header)
    assert live(response) == {}
    assert response.json()["reason"] in ("gpc", "dnt")
    assert AnonymousHit.objects.count() == 1


def test_the_page_reported_gpc_is_honoured(client):
    response = send(client, gpc=True)
    assert response.json()["reason"] == "gpc"


@override_settings(TRACKING_MODE="always")
def test_gpc_refuses_even_in_mode_always(client):
    assert live(send(client, headers={"Sec-GPC": "1"})) == {}
    assert registry.DEVICE.name in live(send(client))


def test_a_contact_on_do_not_contact_gets_no_cookie_and_present_ones_expire(client):
    consent(client, "grant")
    send(client)
    device = Device.objects.get()
    contact = contact_upsert(email="dnc@example.com")
    device_link(device=device, contact=contact)
    dnc_add(contact=contact, reason="unsubscribed")
    response = send(client)
    assert response.json()["reason"] == "do_not_contact"
    assert registry.DEVICE.name in expired(response)
    # No tracking cookie; the browser's grant is turned into a refusal (DNC outranks it).
    assert set(live(response)) == {registry.CONSENT.name}
    assert read_choice(live(response)[registry.CONSENT.name], int(time.time())).choice == "r"
    assert PageHit.objects.count() == 1  # the hit before the DNC, none after


def test_identity_fields_from_the_client_are_never_trusted(client):
    contact = contact_upsert(email="someone@example.com")
    Device.objects.create(public_id="their-device", contact=contact)
    send(
        client,
        mtc_id=str(contact.pk),
        mautic_device_id="their-device",
        contact_id=contact.pk,
        email="someone@example.com",
    )
    assert PageHit.objects.count() == 0
    assert AnonymousHit.objects.count() == 1


def test_the_same_event_sent_twice_is_stored_once(client):
    payload = {"id": "1b4e28ba-2fa1-41d2-883f-0016d3cca427"}
    send(client, payload)
    send(client, payload)
    assert AnonymousHit.objects.count() == 1


def test_query_strings_and_referrers_are_cut_down(client):
    send(
        client,
        page_url="http://testserver/reset?token=SECRET&utm_source=news&utm_campaign=fall",
        page_referrer="https://www.google.com/search?q=private+words",
    )
    hit = AnonymousHit.objects.get()
    assert hit.path == "/reset"
    assert (hit.utm_source, hit.utm_campaign) == ("news", "fall")
    assert hit.referrer_domain == "www.google.com"
    assert "SECRET" not in json.dumps(AnonymousHit.objects.values().get(), default=str)


@override_settings(TRACKED_SITES=["https://shop.example.com"])
def test_cors_is_granted_to_tracked_sites_and_an_untracked_one_may_read_only_its_refusal(client):
    ok = send(
        client, page_url="https://shop.example.com/", headers={"Origin": "https://shop.example.com"}
    )
    assert ok.status_code == 200
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert ok["Access-Control-Allow-Credentials"] == "true"
    refused = send(
        client, page_url="https://evil.example/", headers={"Origin": "https://evil.example"}
    )
    assert refused.status_code == 403
    # Readable by the page, so that its script can say why; it holds nothing but the reason.
    assert refused["Access-Control-Allow-Origin"] == "https://evil.example"
    assert refused.json()["error"] == "site_not_tracked"
    assert live(refused) == {}
    spoofed = send(client, page_url="https://elsewhere.example/")
    assert spoofed.status_code == 403
    assert AnonymousHit.objects.count() == 1
    preflight = client.options("/mtc/event", headers={"Origin": "https://shop.example.com"})
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Methods"] == "POST"


def test_mauticjs_form_encoded_fields_are_accepted(client):
    response = client.post(
        "/mtc/event",
        {"page_url": "http://testserver/a", "page_title": "A"},
        headers={"User-Agent": CHROME},
    )
    assert response.status_code == 200
    assert AnonymousHit.objects.get().path == "/a"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "bad_json"),
        (b"[1, 2]", "application/json", 400, "bad_json"),
        (
            b'{"page_url": "http://testserver/", "page_title": {"a": 1}}',
            "application/json",
            400,
            "invalid_field",
        ),
        (b'{"page_url": "javascript:alert(1)"}', "application/json", 400, "invalid_page_url"),
        (b"\xff\xfe\x00bad", "text/plain", 400, "bad_encoding"),
        (b'{"page_url": "http://testserver/"}', "application/xml", 415, "unsupported_media_type"),
        (
            b'{"page_url": "http://testserver/", "type": "purchase"}',
            "text/plain",
            400,
            "invalid_type",
        ),
        (
            b'{"page_url": "http://testserver/", "type": "consent", "consent": "yes"}',
            "text/plain",
            400,
            "invalid_consent",
        ),
        (b"x" * 20000, "text/plain", 413, "too_large"),
        (
            "&".join(f"f{i}=1" for i in range(100)).encode(),
            "application/x-www-form-urlencoded",
            400,
            "too_many_fields",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_the_next_request_works(
    client, body, content_type, status, code
):
    response = client.post("/mtc/event", data=body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["error"] == code
    assert live(response) == {}
    assert send(client).status_code == 200


def test_a_nul_byte_is_refused_and_line_breaks_are_kept_as_text(client):
    refused = send(client, page_title="Hello\x00\r\nSet-Cookie: x=1")
    assert refused.status_code == 400
    assert refused.json()["fields"].keys() == {"page_title"}
    assert not AnonymousHit.objects.exists()
    kept = send(client, page_title="Hello\r\nSet-Cookie: x=1")
    assert "x=1" not in str(kept.headers)
    assert AnonymousHit.objects.get().title == "Hello\r\nSet-Cookie: x=1"


def test_a_consent_command_from_a_tracked_page_never_sets_a_cookie_on_refusal(client):
    response = consent(client, "revoke")
    assert set(live(response)) == {registry.CONSENT.name}
    assert ConsentRecord.objects.get().action == "withdraw"


def test_an_expired_grant_is_no_grant(client):
    thirteen_months_and_more = int(time.time()) - 400 * 86400
    client.cookies[registry.CONSENT.name] = consent_cookie("g", issued_at=thirteen_months_and_more)
    client.cookies[registry.DEVICE.name] = device_cookie()
    response = send(client)
    assert response.json()["reason"] == "no_choice"
    assert registry.DEVICE.name in expired(response)


@pytest.mark.postgres
def test_when_do_not_contact_cannot_be_read_nothing_is_written_or_expired(transactional_db, client):
    """A real fault: another session locks the table and our statements time out."""
    import psycopg
    from django.db import connection

    consent(client, "grant")
    device_cookie_before = client.cookies[registry.DEVICE.name].value
    dsn = connection.get_connection_params()
    locker = psycopg.connect(
        host=dsn.get("host"),
        port=dsn.get("port"),
        user=dsn.get("user"),
        dbname=dsn["dbname"],
        autocommit=False,
    )
    try:
        locker.execute("LOCK TABLE contacts_donotcontact IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 200")
        response = send(client)
    finally:
        locker.rollback()
        locker.close()
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    assert response.status_code == 200
    assert response.json()["reason"] == "unverified"
    assert response.json()["counted"] is True
    assert live(response) == {}
    assert expired(response) == set()
    assert client.cookies[registry.DEVICE.name].value == device_cookie_before
    assert PageHit.objects.count() == 0
    assert AnonymousHit.objects.count() == 1


def test_after_do_not_contact_expires_the_device_the_grant_is_refused_too(client):
    """Otherwise the next request, without the device cookie that led to the contact, would
    look like any granted browser and get a fresh device."""
    consent(client, "grant")
    send(client)
    contact = contact_upsert(email="gone@example.com")
    device_link(device=Device.objects.get(), contact=contact)
    dnc_add(contact=contact, reason="unsubscribed")
    first = send(client)
    assert registry.DEVICE.name in expired(first)
    assert registry.CONSENT.name in live(first)
    second = send(client)
    assert second.json()["consent"] == "refused"
    assert live(second) == {}
    assert Device.objects.count() == 1
