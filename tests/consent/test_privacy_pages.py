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


@pytest.mark.parametrize(
    ("held", "shown"),
    [
        ("g", "You allowed tracking"),
        ("r", "You refused tracking"),
        ("o", "You objected"),
        (None, "You have not chosen"),
    ],
)
def test_the_choices_page_shows_the_choice_the_browser_holds_and_sets_no_cookie(
    client, held, shown
):
    from tests.support.browsers import consent_cookie

    if held:
        client.cookies[registry.CONSENT.name] = consent_cookie(held)
        client.cookies[registry.DEVICE.name] = device_cookie()
    page = client.get("/privacy/choices")
    current = page.content.decode().split('id="current">')[1].split("</p>")[0]
    assert shown in current
    assert live(page) == {}


@pytest.mark.parametrize(
    ("header", "honoured", "said"),
    [("Sec-GPC", "HONOR_GPC", "Global Privacy Control"), ("DNT", "HONOR_DNT", "Do Not Track")],
)
def test_a_browser_signal_is_said_to_be_in_force_only_while_honoured_and_no_choice_is_made(
    client, settings, header, honoured, said
):
    setattr(settings, honoured, True)
    page = client.get("/privacy/choices", headers={header: "1"})
    assert f"Your browser sends {said}" in page.content.decode()

    setattr(settings, honoured, False)
    assert said not in client.get("/privacy/choices", headers={header: "1"}).content.decode()

    # The visitor's own choice outranks the signal (the gate's order): it is no longer in force.
    setattr(settings, honoured, True)
    granted = _choose(client, "grant", **{header: "1"})
    assert b"You allowed tracking" in granted.content
    assert said not in granted.content.decode()
    assert said not in client.get("/privacy/choices", headers={header: "1"}).content.decode()


def test_the_choices_page_names_the_controller_and_links_the_privacy_policy(client, settings):
    settings.CONTROLLER_NAME = "Shop & <Sons>"
    settings.CONTROLLER_CONTACT = "privacy@shop.example"
    settings.PRIVACY_POLICY_URL = "https://shop.example/privacy?lang=en&v=2"
    body = client.get("/privacy/choices").content.decode()
    assert "Shop &amp; &lt;Sons&gt; decides" in body  # escaped, as all the operator's text
    assert 'href="mailto:privacy@shop.example"' in body
    assert 'href="https://shop.example/privacy?lang=en&amp;v=2"' in body


def test_without_a_controller_or_policy_the_choices_page_says_none_is_named(client, settings):
    settings.CONTROLLER_NAME = settings.CONTROLLER_CONTACT = settings.PRIVACY_POLICY_URL = ""
    body = client.get("/privacy/choices").content.decode()
    assert "has not named who is responsible" in body
    assert "has not linked a privacy policy" in body
    assert "mailto:" not in body


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PRIVACY_POLICY_URL", "shop.example/privacy"),
        ("PRIVACY_POLICY_URL", "javascript:alert(1)"),
        ("PRIVACY_POLICY_URL", "https://shop.example/a policy"),
        ("CONTROLLER_CONTACT", "privacy at shop.example"),
    ],
)
def test_a_bad_controller_contact_or_policy_address_stops_start_up(name, value):
    from tests.consentry.test_settings import _start

    result = _start(**{name: value})
    assert result.returncode != 0
    assert f"ImproperlyConfigured: {name}=" in result.stderr


def test_good_controller_settings_start():
    from tests.consentry.test_settings import _start

    result = _start(
        CONTROLLER_NAME="Shop Ltd",
        CONTROLLER_CONTACT="privacy@shop.example",
        PRIVACY_POLICY_URL="https://shop.example/privacy",
    )
    assert result.returncode == 0, result.stderr
