"""/privacy/cookies is the registry; /privacy/choices grants and withdraws with one button
each, one consent record per change, and the cookies follow."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent import registry
from consent.gate import read_choice
from consent.models import ConsentRecord
from tests.support.browsers import device_cookie
from tests.support.tracking import expired, live, send

pytestmark = pytest.mark.django_db


def test_the_cookie_declaration_json_equals_the_registry(client):
    body = client.get("/privacy/cookies.json").json()
    assert [c["name"] for c in body["cookies"]] == [c.name for c in registry.REGISTRY]
    for listed, spec in zip(body["cookies"], registry.REGISTRY, strict=True):
        assert listed == {
            "name": spec.name,
            "category": spec.category.value,
            "purpose": spec.purpose,
            "when": spec.when,
            "lifetime_days": spec.lifetime_days,
            "http_only": spec.http_only,
            "signed": True,
        }
    assert body["expired_on_sight"] == sorted(registry.LEGACY_COOKIES)
    assert body["local_storage"] == body["session_storage"] == []


def test_the_cookie_declaration_page_lists_every_cookie_and_sets_none(client):
    response = client.get("/privacy/cookies")
    for spec in registry.REGISTRY:
        assert spec.name.encode() in response.content
    assert live(response) == {}


def _choose(client, choice, **headers):
    return client.post(
        "/privacy/choices", {"choice": choice}, headers={"Origin": "http://testserver", **headers}
    )


def _stored(response):
    import time

    return read_choice(live(response)[registry.CONSENT.name], int(time.time()))


@override_settings(REDIS_URL=None)
def test_granting_and_withdrawing_are_one_record_each_and_the_cookies_follow(client):
    page = client.get("/privacy/choices")
    assert b"You have not chosen" in page.content
    assert live(page) == {}

    granted = _choose(client, "grant")
    assert granted.status_code == 200
    assert _stored(granted).choice.value == "g"
    assert b"You allowed tracking" in granted.content
    assert registry.DEVICE.name not in live(granted)  # the next tracked hit gets the device
    assert registry.DEVICE.name in live(send(client))

    withdrawn = _choose(client, "refuse")
    assert _stored(withdrawn).choice.value == "r"
    assert registry.DEVICE.name in expired(withdrawn)
    assert b"You refused tracking" in withdrawn.content

    records = list(ConsentRecord.objects.values_list("action", "source"))
    assert records == [("grant", "choices"), ("withdraw", "choices")]
    # Both records belong to the same browser, as proof.
    assert len(set(ConsentRecord.objects.values_list("browser_key", flat=True))) == 1


def test_objecting_is_recorded_too(client):
    response = _choose(client, "object")
    assert _stored(response).choice.value == "o"
    assert ConsentRecord.objects.get().action == "object"


def test_a_choice_posted_from_another_site_is_refused(client):
    client.cookies[registry.DEVICE.name] = device_cookie()
    response = _choose(client, "grant", Origin="https://evil.example")
    assert response.status_code == 403
    assert registry.CONSENT.name not in live(response)
    assert not ConsentRecord.objects.exists()


def test_an_unknown_choice_is_400(client):
    assert _choose(client, "maybe").status_code == 400
    assert not ConsentRecord.objects.exists()


def test_public_html_pages_forbid_inline_script(client):
    for path in ("/privacy/choices", "/privacy/cookies", "/demo/"):
        policy = client.get(path)["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


def test_a_choice_made_by_a_browser_tied_to_a_contact_is_recorded_as_theirs_and_erased_with_them(
    client,
):
    from contacts.models import Contact, Device
    from contacts.rights import contact_erase

    contact = Contact.objects.create(email="ada@example.com")
    Device.objects.create(public_id="dev-1", contact=contact)
    client.cookies[registry.DEVICE.name] = device_cookie("dev-1")
    assert _choose(client, "refuse").status_code == 200
    record = ConsentRecord.objects.get(source="choices")
    assert record.contact == contact

    contact_erase(contact=contact)
    assert not ConsentRecord.objects.filter(source="choices").exists()
