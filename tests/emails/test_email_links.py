"""/r/{redirect}?ct=: only the stored URL, attribution on the server, a cookie only for a
browser the gate permits (the RFC's Problem 2: forwarded emails)."""

from __future__ import annotations

import ipaddress
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from consent import registry
from consent.gate import read_choice
from contacts.services import dnc_add
from emails.models import EmailClick, EmailOpen
from emails.rendering import ct_make
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.emailing import sent_to
from tests.support.tracking import CHROME, expired, live

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def _tracked_href(sent):
    return re.search(r'href="(http://127\.0\.0\.1:8000/r/[^"]+)"', sent.html).group(1)


def _click(client, href, **headers):
    parts = urlsplit(href.replace("&amp;", "&"))
    return client.get(parts.path, parse_qs(parts.query), headers={"User-Agent": CHROME, **headers})


def test_a_click_redirects_to_the_stored_url_and_is_attributed_to_the_recipient(client):
    sent = sent_to("ada@example.com", consented=True)
    response = _click(client, _tracked_href(sent))
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/sale?x=1&y=2"
    assert "ct=" not in response["Location"]
    click = EmailClick.objects.get()
    assert click.recipient == sent.recipient
    assert click.machine is False


def test_a_forwarded_email_is_attributed_server_side_and_sets_no_cookie(client):
    """A fresh browser (the person the email was forwarded to) clicks the recipient's link."""
    sent = sent_to("ada@example.com", consented=True)
    response = _click(client, _tracked_href(sent))
    assert live(response) == {}
    assert EmailClick.objects.get().recipient == sent.recipient


def test_a_browser_that_granted_consent_gets_the_device_cookie(client):
    sent = sent_to("ada@example.com", consented=True)
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = _click(client, _tracked_href(sent))
    assert registry.DEVICE.name in live(response)


def test_a_recipient_on_do_not_contact_never_gets_a_cookie_and_present_ones_expire(client):
    sent = sent_to("ada@example.com", consented=True)
    dnc_add(contact=sent.contact, reason="unsubscribed")
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.cookies[registry.DEVICE.name] = device_cookie()
    client.cookies["mautic_device_id"] = "legacy"
    response = _click(client, _tracked_href(sent))
    assert response.status_code == 302
    # No tracking cookie; the browser's grant is turned into a refusal (DNC outranks it).
    assert set(live(response)) == {registry.CONSENT.name}
    assert read_choice(live(response)[registry.CONSENT.name], int(time.time())).choice == "r"
    assert {registry.DEVICE.name, "mautic_device_id"} <= expired(response)
    assert EmailClick.objects.get().recipient is None


def test_links_of_recipients_without_consent_count_in_aggregate_only(client):
    sent = sent_to("bob@example.com", consented=False)
    href = _tracked_href(sent)
    assert "ct=" not in href
    assert _click(client, href).status_code == 302
    click = EmailClick.objects.get()
    assert click.recipient is None
    assert click.link == sent.link


@pytest.mark.parametrize("ct", ["", "garbage", "eyJhIjoxfQ:forged:sig", "a" * 5000])
def test_a_missing_forged_or_garbled_ct_still_redirects_and_attributes_nothing(client, ct):
    sent = sent_to("ada@example.com", consented=True)
    response = client.get(f"/r/{sent.link.redirect_id}", {"ct": ct}, headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert response["Location"] == sent.link.url
    assert EmailClick.objects.get().recipient is None


def test_a_ct_copied_onto_another_link_identifies_no_one(client):
    sent = sent_to("ada@example.com", consented=True)
    other = sent_to("eve@example.com", consented=True)
    foreign = ct_make(link=other.link, recipient=sent.recipient)
    client.get(f"/r/{sent.link.redirect_id}", {"ct": foreign}, headers={"User-Agent": CHROME})
    assert EmailClick.objects.get().recipient is None


@pytest.mark.parametrize(
    "path",
    [
        "/r/https://evil.example",
        "/r///evil.example",
        "/r/%2F%2Fevil.example",
        "/r/unknownredirectid0000?url=https://evil.example",
        "/r/\\\\evil.example",
    ],
)
def test_no_url_from_the_request_is_ever_followed(client, path):
    sent_to("ada@example.com", consented=True)
    response = client.get(path)
    assert response.status_code == 404


def test_head_redirects_but_records_no_click(client):
    sent = sent_to("ada@example.com", consented=True)
    href = _tracked_href(sent).replace("&amp;", "&")
    parts = urlsplit(href)
    response = client.head(parts.path + "?" + parts.query, headers={"User-Agent": CHROME})
    assert response.status_code == 302
    assert EmailClick.objects.count() == 0


def test_a_link_scanner_is_recorded_as_a_machine_and_attributed_to_no_one(client):
    sent = sent_to("ada@example.com", consented=True)
    _click(client, _tracked_href(sent), **{"User-Agent": "Mozilla/5.0 (compatible; Proofpoint)"})
    click = EmailClick.objects.get()
    assert click.machine is True
    assert click.recipient is None


@override_settings(TRUSTED_PROXIES=[ipaddress.ip_network("10.0.0.0/8")])
def test_a_click_from_private_relay_addresses_is_a_persons_though_an_open_from_them_is_not(
    client,
):
    """Mail proxies fetch opens from their published ranges, but people browse through iCloud
    Private Relay from the same addresses: a click is never judged by its address."""
    sent = sent_to("ada@example.com", consented=True)
    relayed = {"User-Agent": CHROME, "X-Forwarded-For": "172.225.12.34"}
    parts = urlsplit(_tracked_href(sent).replace("&amp;", "&"))
    client.get(parts.path, parse_qs(parts.query), headers=relayed, REMOTE_ADDR="10.0.0.2")
    client.get(f"/email/{sent.recipient.token}.gif", headers=relayed, REMOTE_ADDR="10.0.0.2")
    click = EmailClick.objects.get()
    assert (click.machine, click.recipient) == (False, sent.recipient)
    assert (EmailOpen.objects.get().machine, EmailOpen.objects.get().machine_source) == (
        True,
        "apple-relay",
    )
