"""Dynamic web content at Mautic's /dwc/{slot}: the default item for everyone, a variant only
for a known contact whose browser granted tracking, nothing that names anyone in the answer,
and each fill a counted view (anonymous without a permit)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent import registry
from consent.services import consent_grant
from contacts.models import Contact, Device
from contacts.services import dnc_add
from dwc.models import DwcView, Item, Slot, Variant
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.tracking import CHROME, SITE, live

pytestmark = pytest.mark.django_db

HOST = "https://www.site.example"


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None, TRACKED_SITES=[HOST]):
        yield


@pytest.fixture
def hero():
    slot = Slot.objects.create(name="hero")
    item = Item.objects.create(
        slot=slot,
        name="Everyone",
        is_default=True,
        content='<p onclick="steal()">Welcome<script>alert(1)</script></p>',
    )
    Variant.objects.create(
        item=item,
        name="French customers",
        content="<p>Bonjour Ada</p>",
        filters=[{"field": "country", "op": "eq", "value": "FR", "glue": "and"}],
    )
    return slot


@pytest.fixture
def ada():
    contact = Contact.objects.create(email="ada@example.com", fields={"country": "FR"})
    Device.objects.create(public_id="dev-ada", contact=contact)
    return contact


def fill(client, slot="hero", *, granted=False, refused=False, device=None, **headers):
    if granted or refused:
        client.cookies[registry.CONSENT.name] = consent_cookie("g" if granted else "r")
    if device:
        client.cookies[registry.DEVICE.name] = device_cookie(device)
    return client.get(f"/dwc/{slot}", headers={"User-Agent": CHROME, "Origin": HOST, **headers})


def test_before_consent_the_default_item_is_served_sanitised_and_nothing_identified(
    client, hero, ada
):
    # Even a browser that carries the contact's device cookie, but never granted.
    response = fill(client, device="dev-ada")
    assert response.status_code == 200
    assert response.json() == {"content": "<p>Welcome</p>"}
    assert live(response) == {}
    view = DwcView.objects.get()
    assert (view.slot, view.variant, view.device, view.contact) == (hero, None, None, None)


def test_with_a_grant_a_known_contact_matching_the_filters_gets_the_variant(client, hero, ada):
    response = fill(client, granted=True, device="dev-ada")
    # Mautic's answer carried the contact's id and device id; this one names no one.
    assert response.json() == {"content": "<p>Bonjour Ada</p>"}
    view = DwcView.objects.get()
    assert (view.contact, view.variant.name) == (ada, "French customers")


def test_a_contact_the_filters_do_not_match_gets_the_default(client, hero, ada):
    ada.fields = {"country": "DE"}
    ada.save()
    assert fill(client, granted=True, device="dev-ada").json() == {"content": "<p>Welcome</p>"}
    assert DwcView.objects.get().contact == ada


def test_a_filter_on_email_consent_and_do_not_contact_reads_the_contacts_records(client, hero, ada):
    Variant.objects.update(
        filters=[
            {"field": "consent_email", "op": "eq", "value": "grant"},
            {"field": "dnc_email", "op": "eq", "value": "false"},
        ]
    )
    assert fill(client, granted=True, device="dev-ada").json()["content"] == "<p>Welcome</p>"
    consent_grant(contact=ada, source="form", purpose="email")
    assert fill(client, granted=True, device="dev-ada").json()["content"] == "<p>Bonjour Ada</p>"
    dnc_add(contact=ada, channel="email")
    assert fill(client, granted=True, device="dev-ada").json()["content"] == "<p>Welcome</p>"


@pytest.mark.parametrize(
    ("browser", "headers", "mode"),
    [
        ({"refused": True}, {}, "always"),
        ({}, {}, "consent"),
        ({}, {"Sec-GPC": "1"}, "always"),
        ({"granted": True}, {}, "anonymous"),
    ],
    ids=["refused", "no-choice", "gpc-in-mode-always", "grant-in-mode-anonymous"],
)
def test_without_a_permit_the_variant_is_never_served(client, hero, ada, browser, headers, mode):
    with override_settings(TRACKING_MODE=mode):
        response = fill(client, device="dev-ada", **browser, **headers)
    assert response.json() == {"content": "<p>Welcome</p>"}
    assert DwcView.objects.get().contact is None
    assert registry.DEVICE.name not in live(response)


def test_in_mode_always_a_known_contact_without_a_choice_gets_the_variant(client, hero, ada):
    with override_settings(TRACKING_MODE="always"):
        assert fill(client, device="dev-ada").json() == {"content": "<p>Bonjour Ada</p>"}


def test_tracking_do_not_contact_outranks_the_grant(client, hero, ada):
    dnc_add(contact=ada, channel="tracking")
    response = fill(client, granted=True, device="dev-ada")
    assert response.json() == {"content": "<p>Welcome</p>"}
    assert DwcView.objects.get().contact is None
    assert registry.DEVICE.name not in live(response)


def test_a_slot_without_a_published_default_answers_204_so_the_page_keeps_its_own(client, hero):
    Item.objects.update(published=False)
    response = fill(client)
    assert response.status_code == 204
    assert response.content == b""
    assert fill(client, "nowhere").status_code == 204
    assert not DwcView.objects.exists()


def test_in_mode_off_the_default_still_shows_and_nothing_is_counted(client, hero):
    with override_settings(TRACKING_MODE="off"):
        assert fill(client).json() == {"content": "<p>Welcome</p>"}
    assert not DwcView.objects.exists()


def test_the_tracked_site_may_read_the_answer_with_credentials_and_no_other(client, hero):
    response = fill(client)
    assert response["Access-Control-Allow-Origin"] == HOST
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Cookie" in response["Vary"]
    refused = fill(client, Origin="https://evil.example")
    assert refused.status_code == 403
    assert refused.json()["error"] == "origin_not_allowed"


@pytest.mark.parametrize(
    ("url", "code"),
    [("/dwc/a%20b", "invalid_slot"), ("/dwc/" + "x" * 101, "invalid_slot")],
)
def test_a_bad_slot_name_is_a_clear_400(client, url, code):
    response = client.get(url, headers={"Origin": HOST})
    assert response.status_code == 400
    assert response.json()["error"] == code


def test_the_batch_fills_several_slots_in_one_request(client, hero, ada):
    other = Slot.objects.create(name="footer")
    Item.objects.create(slot=other, name="Footer", is_default=True, content="<em>Hi</em>")
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.cookies[registry.DEVICE.name] = device_cookie("dev-ada")
    response = client.get(
        "/dwc?slot=hero&slot=footer&slot=none", headers={"User-Agent": CHROME, "Origin": HOST}
    )
    assert response.json() == {
        "slots": {"hero": "<p>Bonjour Ada</p>", "footer": "<em>Hi</em>", "none": None}
    }
    assert DwcView.objects.filter(contact=ada).count() == 2
    assert client.get("/dwc").status_code == 204
    many = "&".join(f"slot=s{n}" for n in range(21))
    assert client.get(f"/dwc?{many}").json()["error"] == "too_many_slots"


def test_a_granted_browser_without_a_device_gets_one_with_its_view(client, hero):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = client.get("/dwc/hero", headers={"User-Agent": CHROME, "Origin": SITE})
    assert registry.DEVICE.name in live(response)
    assert response.json() == {"content": "<p>Welcome</p>"}
    assert DwcView.objects.get().device is not None


def test_one_default_item_per_slot(hero):
    from django.core.exceptions import ValidationError

    second = Item(slot=hero, name="Other", is_default=True, content="x")
    with pytest.raises(ValidationError):
        second.full_clean()
