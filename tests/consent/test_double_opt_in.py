"""Double opt-in: a form's switch (or the API's flag) turns a ticked email-consent box into a
confirmation email; consent exists only once the link is confirmed, with the confirmation's
time and masked address as proof. Mail goes through a real SMTP server on loopback.

The browser test plays the whole round trip in Chromium: a form embedded on a host page of
another origin, the email received, the link opened (a button, nothing recorded), confirmed."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from playwright.sync_api import Browser, expect

from consent.models import ConsentRecord, OptInRequest
from consent.optin import optin_requests_expire
from consentry.env import Env
from contacts.models import Contact
from contacts.services import contact_upsert
from tests.support.browser import TIMEOUT_MS, HostSite, Person, browsing, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make
from tests.support.smtp import Inbox, body, link
from tests.support.smtp import inbox as inbox

pytestmark = pytest.mark.django_db
CHROME_UA = {"User-Agent": "Mozilla/5.0 Chrome/120.0"}
CONFIRMED = "If this link came in our confirmation email and was still valid"


@pytest.fixture(autouse=True)
def embedded(settings):
    settings.REDIS_URL = None
    settings.TRACKED_SITES = ["https://www.example.com"]
    settings.FORM_SUBMIT_LIMIT = 1000
    settings.PUBLIC_URL = "http://testserver"


def email_consent(contact: Contact) -> list[ConsentRecord]:
    return list(ConsentRecord.objects.filter(contact=contact, purpose="email"))


def subscribe(client, *, double_opt_in: bool = True, address: str = "ada@example.com"):
    """A visitor submits a form with the newsletter box ticked; the mail leaves on commit."""
    form = form_make(double_opt_in=double_opt_in)
    response = client.post(
        f"/form/submit?formId={form.pk}",
        {"email": address, "first_name": "Ada", "newsletter": "1"},
        headers={"Accept": "application/json", **CHROME_UA},
        REMOTE_ADDR="198.51.100.23",
    )
    assert response.status_code == 200, response.content
    return Contact.objects.get(email=address)


def test_with_the_switch_on_a_ticked_box_sends_a_link_and_records_no_consent_yet(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    assert email_consent(contact) == []
    message = inbox.wait_for("ada@example.com")
    assert message["Subject"] == "Please confirm your subscription"
    url = link(message, "/email/confirm/")
    assert url in body(message, "html")
    assert "ada@example.com" not in url  # the link names no one
    assert OptInRequest.objects.get(contact=contact).confirmed_at is None


def test_with_the_switch_off_the_box_is_consent_at_once_and_no_mail_is_sent(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client, double_opt_in=False)
    assert [r.source for r in email_consent(contact)] == ["form"]
    assert inbox.messages == []


def test_ticking_the_box_again_soon_sends_no_second_email(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    form_id = OptInRequest.objects.get(contact=contact).pk
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client)  # someone fills the form with the same address again
    assert len(inbox.to("ada@example.com")) == 1
    assert list(OptInRequest.objects.values_list("pk", flat=True)) == [form_id]


def test_a_mail_server_that_is_down_does_not_fail_the_form(
    client, settings, django_capture_on_commit_callbacks
):
    from consentry.celery import app as celery_app

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            contact = subscribe(client)  # asserts the form answered 200
    finally:
        celery_app.conf.task_always_eager = eager
    assert OptInRequest.objects.filter(contact=contact).exists()
    assert email_consent(contact) == []


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_get_shows_a_button_and_changes_nothing_post_confirms_with_time_and_masked_ip(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    for _ in range(3):  # a mail scanner following the link, then the person reading it
        page = client.get(path, REMOTE_ADDR="203.0.113.77")
        assert page.status_code == 200
        assert b"Confirm my subscription</button>" in page.content
        assert page.cookies == {}
    assert email_consent(contact) == []
    before = timezone.now()
    done = client.post(path, REMOTE_ADDR="203.0.113.77", headers={"Origin": "http://testserver"})
    assert done.status_code == 200
    assert CONFIRMED in done.content.decode()
    assert done.cookies == {}
    assert done["Cache-Control"] == "no-store"
    [record] = email_consent(contact)
    assert (record.action, record.source) == ("grant", "double_opt_in")
    assert record.ip_masked == "203.0.0.0"  # the confirming browser's, masked
    assert before <= record.created_at <= timezone.now()


def test_a_used_link_confirms_nothing_more_and_reads_the_same(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    first = client.post(path)
    again = client.post(path)
    assert len(email_consent(contact)) == 1
    assert first.content == again.content


def test_an_expired_link_confirms_nothing_and_retention_deletes_the_request(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    OptInRequest.objects.filter(contact=contact).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    page = client.post(path)
    assert CONFIRMED in page.content.decode()  # the same words as for a valid link
    assert email_consent(contact) == []
    assert optin_requests_expire() == 1
    assert optin_requests_expire() == 0
    assert not OptInRequest.objects.exists()


def test_a_link_signed_long_ago_is_refused_even_while_its_row_remains(
    client, inbox: Inbox, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    settings.DOUBLE_OPT_IN_HOURS = 1
    # The row is still valid: the signature's own timestamp is what refuses the link.
    real = time.time
    try:
        time.time = lambda: real() + 2 * 3600
        client.post(path)
    finally:
        time.time = real
    assert email_consent(contact) == []


@pytest.mark.parametrize("token", ["t" * 32, "InhYIg:1a2b3c:forged", "bm90aGluZw", "a" * 300])
def test_forged_or_garbled_links_answer_like_valid_ones_and_record_nothing(client, token):
    contact_upsert(email="ada@example.com")
    assert client.get(f"/email/confirm/{token}").status_code == 200
    page = client.post(f"/email/confirm/{token}")
    assert page.status_code == 200
    assert CONFIRMED in page.content.decode()
    assert not ConsentRecord.objects.exists()


def test_a_cross_site_post_is_refused_and_confirms_nothing(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    page = client.post(path, headers={"Origin": "https://evil.example.net"})
    assert page.status_code == 403
    assert email_consent(contact) == []


def test_the_api_flag_sends_the_link_instead_of_recording_the_grant(
    inbox: Inbox, django_capture_on_commit_callbacks
):
    from tests.support.apiclients import api_client

    contact = contact_upsert(email="bob@example.com")
    api = api_client("consent.add_consentrecord")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"/api/v1/contacts/{contact.pk}/consents/",
            {"purpose": "email", "action": "grant", "double_opt_in": True},
            format="json",
        )
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "pending_confirmation"
    assert email_consent(contact) == []
    assert link(inbox.wait_for("bob@example.com"), "/email/confirm/")


@pytest.mark.parametrize(
    "data", [{"purpose": "tracking", "action": "grant"}, {"purpose": "email", "action": "withdraw"}]
)
def test_the_api_flag_is_refused_for_anything_but_an_email_grant(inbox: Inbox, data):
    from tests.support.apiclients import api_client

    contact = contact_upsert(email="bob@example.com")
    api = api_client("consent.add_consentrecord")
    response = api.post(
        f"/api/v1/contacts/{contact.pk}/consents/", {**data, "double_opt_in": True}, format="json"
    )
    assert response.status_code == 400
    assert "double_opt_in" in response.json()["fields"]
    assert not ConsentRecord.objects.exists()
    assert inbox.messages == []


def test_the_forms_api_reads_and_switches_double_opt_in():
    from tests.support.apiclients import api_client

    form = form_make()
    api = api_client("forms.view_form", "forms.change_form")
    assert api.get(f"/api/v1/forms/{form.pk}/").json()["double_opt_in"] is False
    response = api.patch(f"/api/v1/forms/{form.pk}/", {"double_opt_in": True}, format="json")
    assert response.status_code == 200, response.content
    form.refresh_from_db()
    assert form.double_opt_in is True


def test_erasing_a_contact_removes_their_pending_request_and_its_link_confirms_nothing(
    client, inbox: Inbox, django_capture_on_commit_callbacks
):
    from contacts.rights import contact_erase

    with django_capture_on_commit_callbacks(execute=True):
        contact = subscribe(client)
    path = _path(link(inbox.wait_for("ada@example.com"), "/email/confirm/"))
    contact_erase(contact=contact)
    assert not OptInRequest.objects.exists()
    client.post(path)
    assert not ConsentRecord.objects.filter(purpose="email").exists()


@pytest.mark.parametrize("value", ["0", "abc", "48h", "100000"])
def test_the_expiry_setting_is_read_strictly(value):
    with pytest.raises(ImproperlyConfigured, match="DOUBLE_OPT_IN_HOURS"):
        Env({"DOUBLE_OPT_IN_HOURS": value}).number(
            "DOUBLE_OPT_IN_HOURS", 48, minimum=1, maximum=24 * 90
        )


# The round trip in Chromium ------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_double_opt_in_round_trip_in_a_browser(chromium: Browser, site: HostSite, inbox):
    form = form_make(double_opt_in=True)
    page = site.serve(
        "/contact",
        host_page(
            "Contact",
            body=f'<script src="{site.tracker}/form/generate.js?id={form.pk}"></script>',
        ),
    )
    with browsing(Person.start(chromium, tracker=site.tracker)) as visitor:
        visitor.page.goto(site.origin + page)
        embed = visitor.page.locator("form.consentry-form")
        expect(embed).to_be_visible(timeout=TIMEOUT_MS)
        embed.locator("[name=email]").fill("ada@example.com")
        embed.locator("input[name=newsletter]").check()
        with visitor.page.expect_response(lambda r: "/form/submit?" in r.url) as answer:
            embed.locator("button[type=submit]").click()
        assert answer.value.status == 200
        contact = Contact.objects.get(email="ada@example.com")
        assert email_consent(contact) == []  # ticked, not yet confirmed

        url = link(inbox.wait_for("ada@example.com"), "/email/confirm/")
        assert url.startswith(site.tracker)
        visitor.page.goto(url)
        expect(visitor.page.locator("button#confirm")).to_be_visible(timeout=TIMEOUT_MS)
        assert email_consent(contact) == []  # opening the link changed nothing
        visitor.page.locator("button#confirm").click()
        expect(visitor.page.locator("#outcome")).to_contain_text(CONFIRMED)
        [record] = email_consent(contact)
        assert (record.action, record.source) == ("grant", "double_opt_in")
        assert record.ip_masked == "127.0.0.0"
        assert visitor.cookies() == {}

        # The same link again, from the browser's history: nothing more is recorded.
        visitor.page.goto(url)
        visitor.page.locator("button#confirm").click()
        expect(visitor.page.locator("#outcome")).to_contain_text(CONFIRMED)
        assert len(email_consent(contact)) == 1
        assert visitor.cookies() == {}
