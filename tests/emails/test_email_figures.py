"""An email's and each send's figures, from a scripted campaign with known answers: real sends
through an SMTP server on loopback, opens and clicks through the public endpoints, machines
from a known address range, agent and prefetch. The admin and the API show the same numbers,
defined once (docs/metrics.md, "Email")."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from consent.models import Purpose
from consent.services import consent_grant
from contacts.models import Channel
from contacts.services import contact_upsert, dnc_add
from emails.machines import ranges_reload
from emails.selectors import email_stats, sends_stats
from emails.services import email_send
from tests.support.apiclients import api_client
from tests.support.emailing import email_make
from tests.support.smtp import Inbox, body
from tests.support.smtp import inbox as inbox
from tests.support.tracking import CHROME

pytestmark = [pytest.mark.django_db]

APPLE_RELAY = "17.58.63.7"  # in Apple's published Private Relay / Mail Privacy ranges
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel (EE))"


@pytest.fixture(autouse=True)
def embedded():
    """Events are stored as they come (no Redis): the figures can be read at once."""
    with override_settings(REDIS_URL=None):
        ranges_reload()
        yield
    ranges_reload()


def _reader(address: str, *, tracking: bool, dnc: bool = False):
    contact = contact_upsert(email=address, first_name=address.split("@")[0].title())
    consent_grant(contact=contact, purpose=Purpose.EMAIL, source="form")
    if tracking:
        consent_grant(contact=contact, purpose=Purpose.TRACKING, source="form")
    if dnc:
        dnc_add(contact=contact, channel=Channel.EMAIL)
    return contact


def _pixel(message) -> str:
    path: str
    (path,) = re.findall(r'src="https?://[^/"]+(/email/[^"]+\.gif)"', body(message, "html"))
    return path


def _link(message) -> str:
    url: str
    (url,) = set(re.findall(r'href="https?://[^/"]+(/r/[^"]+)"', body(message, "html")))
    return url.replace("&amp;", "&")


def _open(path, *, agent=CHROME, **extra):
    assert Client().get(path, headers={"User-Agent": agent}, **extra).status_code == 200


def _click(path, *, agent=CHROME):
    assert Client().get(path, headers={"User-Agent": agent}).status_code == 302


def _send(email, contacts, capture) -> None:
    """A send as the admin or the API makes it: delivered by its task once committed."""
    with capture(execute=True):
        email_send(email=email, contacts=contacts)


def _campaign(inbox: Inbox, capture):
    """Six readers; five are mailed, four of them tracked.

    ann opens twice and clicks; bob's prefetch loads the pixel, then bob opens; cat's client
    blocks images but cat clicks; dan's only "open" is Apple's proxy; eve did not consent to
    tracking and opens through the shared pixel; fay is on Do-Not-Contact. A link scanner
    follows ann's link too."""
    readers = {
        name: _reader(f"{name}@example.com", tracking=name != "eve", dnc=name == "fay")
        for name in ("ann", "bob", "cat", "dan", "eve", "fay")
    }
    email = email_make()
    _send(email, list(readers.values()), capture)
    mail = {name: inbox.to(f"{name}@example.com") for name in readers}
    assert [name for name, got in mail.items() if got] == ["ann", "bob", "cat", "dan", "eve"]
    ann, bob, cat, dan, eve = (mail[n][0] for n in ("ann", "bob", "cat", "dan", "eve"))
    _open(_pixel(ann))
    _open(_pixel(ann))
    _click(_link(ann))
    _click(_link(ann), agent=SCANNER)
    _open(_pixel(bob), HTTP_SEC_PURPOSE="prefetch")
    _open(_pixel(bob))
    _click(_link(cat))
    _open(_pixel(dan), REMOTE_ADDR=APPLE_RELAY)
    _open(_pixel(eve))
    return email, readers


def test_a_campaigns_figures_are_the_known_answers(inbox, django_capture_on_commit_callbacks):
    email, _ = _campaign(inbox, django_capture_on_commit_callbacks)
    stats = email_stats(email=email)
    assert (stats.sent, stats.failed, stats.skipped, stats.tracked) == (5, 0, 1, 4)
    # ann, bob and cat (cat by the click); dan's proxy and eve's shared pixel are no one's.
    assert (stats.unique_opens, stats.open_rate) == (3, 0.75)
    assert (stats.unique_clicks, stats.click_rate, stats.click_to_open) == (2, 0.5, 0.6667)
    assert (stats.human_opens, stats.anonymous_opens, stats.clicks) == (4, 1, 2)
    assert (stats.machine_opens, stats.machine_clicks) == (2, 1)
    assert stats.machine_sources == {
        "agent": 0,
        "prefetch": 1,
        "apple-relay": 1,
        "google-proxy": 0,
    }


def test_each_send_has_its_own_figures_and_the_email_sums_them(
    inbox, django_capture_on_commit_callbacks
):
    email, readers = _campaign(inbox, django_capture_on_commit_callbacks)
    _send(email, [readers["ann"]], django_capture_on_commit_callbacks)
    again = inbox.to("ann@example.com")[-1]
    _click(_link(again))
    second, first = sends_stats(email=email)
    assert (first.sent, first.tracked, first.unique_opens, first.unique_clicks) == (5, 4, 3, 2)
    assert (second.sent, second.tracked, second.unique_opens, second.unique_clicks) == (1, 1, 1, 1)
    assert (second.open_rate, second.click_rate, second.click_to_open) == (1.0, 1.0, 1.0)
    stats = email_stats(email=email)
    assert (stats.sent, stats.tracked, stats.unique_opens, stats.unique_clicks) == (6, 5, 4, 3)
    assert (stats.open_rate, stats.click_rate, stats.click_to_open) == (0.8, 0.6, 0.75)


def test_the_api_answers_the_same_figures(inbox, django_capture_on_commit_callbacks):
    email, _ = _campaign(inbox, django_capture_on_commit_callbacks)
    answer = api_client("emails.view_email").get(f"/api/v1/emails/{email.pk}/stats/")
    assert answer.status_code == 200
    figures = answer.json()
    assert {k: figures[k] for k in ("sent", "tracked", "unique_opens", "unique_clicks")} == {
        "sent": 5,
        "tracked": 4,
        "unique_opens": 3,
        "unique_clicks": 2,
    }
    assert (figures["open_rate"], figures["click_rate"], figures["click_to_open"]) == (
        0.75,
        0.5,
        0.6667,
    )
    assert (figures["machine_opens"], figures["machine_sources"]["apple-relay"]) == (2, 1)
    [send] = figures["sends"]
    assert (send["sent"], send["unique_opens"], send["open_rate"]) == (5, 3, 0.75)


def test_an_email_never_sent_has_no_rate_rather_than_zero():
    email = email_make()
    answer = api_client("emails.view_email").get(f"/api/v1/emails/{email.pk}/stats/")
    figures = answer.json()
    assert (figures["sent"], figures["open_rate"], figures["click_to_open"]) == (0, None, None)
    assert figures["sends"] == []
    assert api_client("emails.view_email").get("/api/v1/emails/999999/stats/").status_code == 404


def test_the_admin_shows_the_figures_in_the_list_and_on_the_email_and_send_pages(
    inbox, client, django_capture_on_commit_callbacks
):
    email, _ = _campaign(inbox, django_capture_on_commit_callbacks)
    client.force_login(User.objects.create_superuser("operator", "operator@example.com", "pw"))
    listing = client.get(reverse("admin:emails_email_changelist")).content.decode()
    for cell in ("3 (75.0 %)", "2 (50.0 %)", "66.7 %"):
        assert f">{cell}</td>" in listing
    page = client.get(reverse("admin:emails_email_change", args=[email.pk])).content.decode()
    assert "75.0 %" in page
    assert "66.7 %" in page
    assert "Machine opens" in page
    assert "… apple-relay" in page
    send = email.sends.get()
    assert reverse("admin:emails_emailsend_change", args=[send.pk]) in page
    send_page = client.get(reverse("admin:emails_emailsend_change", args=[send.pk]))
    assert send_page.status_code == 200
    assert "Click-to-open" in send_page.content.decode()
    sends = client.get(reverse("admin:emails_emailsend_changelist")).content.decode()
    assert ">3 (75.0 %)</td>" in sends
