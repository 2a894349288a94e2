"""/email/{hash}.gif: records the open, never sets a cookie; proxies and scanners are machines."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent import registry
from consent.services import consent_withdraw
from emails.models import EmailOpen
from emails.selectors import email_stats
from tests.support.browsers import consent_cookie
from tests.support.emailing import sent_to
from tests.support.tracking import CHROME, live

pytestmark = pytest.mark.django_db
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0"


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def test_a_consenting_recipients_open_is_theirs_and_sets_no_cookie(client):
    sent = sent_to("ada@example.com", consented=True)
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": THUNDERBIRD})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    assert live(response) == {}
    assert EmailOpen.objects.get().recipient == sent.recipient


def test_the_shared_pixel_counts_for_the_email_only(client):
    sent = sent_to("bob@example.com", consented=False)
    assert f"/email/{sent.email.pixel_token}.gif" in sent.html
    client.get(f"/email/{sent.email.pixel_token}.gif", headers={"User-Agent": THUNDERBIRD})
    open_ = EmailOpen.objects.get()
    assert open_.recipient is None
    assert open_.email == sent.email


def test_an_open_after_consent_was_withdrawn_is_not_attributed(client):
    sent = sent_to("ada@example.com", consented=True)
    consent_withdraw(contact=sent.contact, source="api")
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": THUNDERBIRD})
    assert EmailOpen.objects.get().recipient is None


@pytest.mark.parametrize(
    "user_agent",
    [
        "Mozilla/5.0",  # Apple Mail Privacy Protection
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
        "Mozilla/5.0 (compatible; Barracuda Sentinel)",
        "",
    ],
)
def test_privacy_proxies_and_scanners_are_stored_as_machine_opens(client, user_agent):
    sent = sent_to("ada@example.com", consented=True)
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": user_agent})
    open_ = EmailOpen.objects.get()
    assert open_.machine is True
    assert open_.recipient is None
    stats = email_stats(email=sent.email)
    assert (stats.human_opens, stats.machine_opens) == (0, 1)


def test_unknown_and_malformed_tokens_count_for_nothing_but_answer_alike(client):
    for token in ("x" * 32, "../../etc/passwd", "<script>"):
        response = client.get(f"/email/{token}.gif", headers={"User-Agent": THUNDERBIRD})
        assert response.status_code in (200, 404)
        if response.status_code == 200:
            assert response["Content-Type"] == "image/gif"
    assert EmailOpen.objects.count() == 0


def test_a_replayed_open_is_another_open_but_never_another_person(client):
    sent = sent_to("ada@example.com", consented=True)
    for _ in range(3):
        client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": THUNDERBIRD})
    assert set(EmailOpen.objects.values_list("recipient", flat=True)) == {sent.recipient.pk}
    assert email_stats(email=sent.email).human_opens == 3


@override_settings(TRACKING_MODE="off")
def test_mode_off_records_no_open(client):
    sent = sent_to("ada@example.com", consented=True)
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    assert EmailOpen.objects.count() == 0
