"""The preference page: every email links to it (footer or `{preferences_url}`), and there its
recipient sees and changes email news, tracking and Do-Not-Contact. Each change is a consent
record with source "preferences"; a GET changes nothing; no tracking cookie is ever set.

Mail goes through a real SMTP server on loopback; the browser test opens the link from the
received message in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from consent.models import ConsentRecord
from consent.services import consent_grant
from contacts.models import Contact
from contacts.selectors import contact_is_dnc
from contacts.services import contact_upsert
from emails.services import email_send
from tests.support.browser import TIMEOUT_MS, Person, browsing
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tests.support.emailing import email_make
from tests.support.smtp import Inbox, body, link
from tests.support.smtp import inbox as inbox

pytestmark = pytest.mark.django_db
OURS = {"Origin": "http://testserver"}


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_URL = "http://testserver"
    settings.DNC_REVOKES_TRACKING = True


def records(contact: Contact) -> list[tuple[str, str, str]]:
    return [
        (r.purpose, r.action, r.source)
        for r in ConsentRecord.objects.filter(contact=contact).order_by("created_at", "id")
    ]


def mailed(inbox: Inbox, capture, *, address: str = "ada@example.com", **email_fields):
    """A contact who opted in to email news receives a send; returns them and the link."""
    contact = contact_upsert(email=address, first_name="Ada")
    consent_grant(contact=contact, purpose="email", source="form")
    with capture(execute=True):
        email_send(email=email_make(**email_fields), contacts=[contact])
    url = link(inbox.wait_for(address), "/email/preferences/")
    return contact, url.removeprefix("http://testserver")


def test_every_email_links_to_the_preference_page_in_both_parts(
    inbox: Inbox, django_capture_on_commit_callbacks
):
    _contact, path = mailed(inbox, django_capture_on_commit_callbacks)
    message = inbox.to("ada@example.com")[0]
    assert f'href="http://testserver{path}"' in body(message, "html")
    assert "Your preferences</a>" in body(message, "html")
    assert f"http://testserver{path}" in body(message, "plain")
    assert "/r/" not in path  # its own link, never a tracked redirect


def test_an_author_can_place_the_link_with_the_preferences_url_token(
    inbox: Inbox, django_capture_on_commit_callbacks
):
    html = '<html><body><p><a href="{preferences_url}">Manage what we send</a></p></body></html>'
    _contact, path = mailed(inbox, django_capture_on_commit_callbacks, html=html)
    sent = body(inbox.to("ada@example.com")[0], "html")
    assert f'<a href="http://testserver{path}">Manage what we send</a>' in sent
    assert "Your preferences</a>" not in sent  # placed once, not again in the footer
    assert "{preferences_url}" not in sent


def test_get_shows_the_current_choices_and_changes_nothing(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    contact, path = mailed(inbox, django_capture_on_commit_callbacks)
    before = records(contact)
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        text = page.content.decode()
        assert 'id="email_news" checked' in text
        assert 'id="tracking" checked' not in text
        assert 'id="dnc" checked' not in text
        assert page.cookies == {}
    assert records(contact) == before


def test_each_change_is_one_consent_record_and_an_unchanged_choice_none(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    contact, path = mailed(inbox, django_capture_on_commit_callbacks)
    client.post(path, {"sent": "1", "email_news": "on", "tracking": "on"}, headers=OURS)
    assert records(contact)[1:] == [("tracking", "grant", "preferences")]
    client.post(path, {"sent": "1", "email_news": "on", "tracking": "on"}, headers=OURS)
    assert len(records(contact)) == 2  # saved again unchanged: nothing recorded
    page = client.post(path, {"sent": "1", "tracking": "on"}, headers=OURS)
    assert page.status_code == 200
    assert "Your preferences are saved." in page.content.decode()
    assert records(contact)[2:] == [("email", "withdraw", "preferences")]
    assert all(r.ip_masked for r in ConsentRecord.objects.filter(source="preferences"))
    assert page.cookies == {}


def test_do_not_contact_withdraws_email_and_tracking_and_can_be_lifted(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    contact, path = mailed(inbox, django_capture_on_commit_callbacks)
    client.post(path, {"sent": "1", "email_news": "on", "tracking": "on"}, headers=OURS)
    client.post(
        path, {"sent": "1", "email_news": "on", "tracking": "on", "dnc": "on"}, headers=OURS
    )
    assert contact_is_dnc(contact=contact, channel="email")
    assert records(contact)[2:] == [
        ("email", "withdraw", "preferences"),
        ("tracking", "withdraw", "preferences"),
    ]
    assert 'id="dnc" checked' in client.get(path).content.decode()
    client.post(path, {"sent": "1", "email_news": "on"}, headers=OURS)
    assert not contact_is_dnc(contact=contact, channel="email")
    assert records(contact)[4:] == [("email", "grant", "preferences")]


def test_a_post_from_another_site_is_refused_and_changes_nothing(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    contact, path = mailed(inbox, django_capture_on_commit_callbacks)
    before = records(contact)
    page = client.post(
        path, {"sent": "1", "tracking": "on", "dnc": "on"}, headers={"Origin": "https://evil.test"}
    )
    assert page.status_code == 403
    assert records(contact) == before
    assert not contact_is_dnc(contact=contact, channel="email")


@pytest.mark.parametrize("token", ["t" * 32, "short", "sample"])
def test_an_unknown_link_shows_no_one_and_changes_nothing(client, token):
    contact_upsert(email="ada@example.com")
    assert client.get(f"/email/preferences/{token}").status_code == 404
    page = client.post(f"/email/preferences/{token}", {"dnc": "on"}, headers=OURS)
    assert page.status_code == 404
    assert "does not lead to anyone's preferences" in page.content.decode()
    assert not ConsentRecord.objects.exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_preference_page_changes_consent_in_a_browser(
    chromium: Browser, tracker: str, inbox: Inbox
):
    contact = contact_upsert(email="ada@example.com", first_name="Ada")
    consent_grant(contact=contact, purpose="email", source="form")
    email_send(email=email_make(), contacts=[contact])
    url = link(inbox.wait_for("ada@example.com"), "/email/preferences/")
    assert url.startswith(tracker)
    with browsing(Person.start(chromium, tracker=tracker)) as reader:
        reader.page.goto(url)
        expect(reader.page.locator("#email_news")).to_be_checked(timeout=TIMEOUT_MS)
        expect(reader.page.locator("#tracking")).not_to_be_checked()
        reader.page.locator("#tracking").check()
        reader.page.locator("#email_news").uncheck()
        reader.page.locator("#save").click()
        expect(reader.page.locator("#saved")).to_be_visible(timeout=TIMEOUT_MS)
        expect(reader.page.locator("#tracking")).to_be_checked()
        expect(reader.page.locator("#email_news")).not_to_be_checked()
        assert records(contact)[1:] == [
            ("email", "withdraw", "preferences"),
            ("tracking", "grant", "preferences"),
        ]
        reader.page.locator("#dnc").check()
        reader.page.locator("#save").click()
        expect(reader.page.locator("#dnc")).to_be_checked(timeout=TIMEOUT_MS)
        assert contact_is_dnc(contact=contact, channel="email")
        assert records(contact)[3:] == [("tracking", "withdraw", "preferences")]
        assert reader.cookies() == {}
