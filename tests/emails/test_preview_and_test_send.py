"""The email's admin page: a preview rendered for a chosen contact that counts nothing, and a
test send to any address, through a real SMTP server on loopback, that leaves no trace in
contacts, recipients or reports."""

from __future__ import annotations

import email
import email.policy
import socket
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.contrib.auth.models import Permission, User
from django.test import override_settings
from django.urls import reverse

from contacts.models import Contact
from contacts.services import contact_upsert
from emails.models import EmailClick, EmailOpen, EmailSend, Recipient, TrackedLink
from emails.selectors import email_stats
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tests.support.emailing import email_make

pytestmark = pytest.mark.django_db

GREETING_HTML = (
    "<html><body><h1>Hello {contactfield=firstname|there}!</h1>"
    '<p><a href="https://shop.example.com/sale">Shop now</a></p></body></html>'
)


class Inbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _smtp(port: int):
    return override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
    )


@pytest.fixture
def inbox():
    port = _free_port()
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    with _smtp(port):
        yield handler
    controller.stop()


@pytest.fixture
def operator(client):
    user = User.objects.create_superuser("operator", "operator@example.com", "pw")
    client.force_login(user)
    return user


def _trace():
    """Everything a send could leave behind: contacts, sends, recipients, links, events."""
    return (
        Contact.objects.count(),
        EmailSend.objects.count(),
        Recipient.objects.count(),
        TrackedLink.objects.count(),
        EmailOpen.objects.count(),
        EmailClick.objects.count(),
    )


def test_the_change_page_frames_the_rendered_message_sandboxed(client, operator):
    mail = email_make(html=GREETING_HTML)
    page = client.get(reverse("admin:emails_email_change", args=[mail.pk])).content.decode()
    frame = reverse("admin:emails_email_preview_frame", args=[mail.pk])
    assert f'<iframe sandbox="" src="{frame}"' in page
    # The raw markup with its tokens is no longer what the operator sees.
    assert "srcdoc" not in page
    shown = client.get(frame)
    assert "Hello there!" in shown.content.decode()


def test_the_preview_renders_tokens_for_the_chosen_contact_and_counts_nothing(client, operator):
    ada = contact_upsert(email="ada@example.com", fields={"first_name": "Ada"})
    mail = email_make(html=GREETING_HTML)
    before = _trace()
    preview = client.get(
        reverse("admin:emails_email_preview", args=[mail.pk]), {"contact": "ada@example.com"}
    )
    assert preview.status_code == 200
    body = preview.content.decode()
    assert 'id="preview-full"' in body
    assert 'id="preview-phone"' in body
    assert "width:390px" in body
    frame = client.get(
        reverse("admin:emails_email_preview_frame", args=[mail.pk]), {"contact": ada.pk}
    )
    shown = frame.content.decode()
    assert "Hello Ada!" in shown
    assert 'href="https://shop.example.com/sale"' in shown  # the link as written, untracked
    assert "/r/" not in shown
    assert ".gif" not in shown
    policy = frame["Content-Security-Policy"]
    assert policy.startswith("sandbox;")
    assert "frame-ancestors 'self'" in policy
    assert "script-src" not in policy
    assert "default-src 'none'" in policy
    assert frame["X-Frame-Options"] == "SAMEORIGIN"
    assert _trace() == before


def test_a_preview_for_an_unknown_contact_says_so(client, operator):
    mail = email_make(html=GREETING_HTML)
    preview = client.get(
        reverse("admin:emails_email_preview", args=[mail.pk]), {"contact": "ghost@example.com"}
    )
    assert preview.status_code == 200
    assert "No contact with that email address or id." in preview.content.decode()


def test_a_preview_of_a_missing_email_is_a_404(client, operator):
    assert client.get("/admin/emails/email/99999/preview/").status_code == 404
    assert client.get("/admin/emails/email/x1/preview/frame/").status_code == 404


def test_a_test_send_arrives_and_leaves_no_trace(client, operator, inbox):
    ada = contact_upsert(email="ada@example.com", first_name="Ada")
    mail = email_make(html=GREETING_HTML)
    before, stats = _trace(), email_stats(email=mail)
    answer = client.post(
        reverse("admin:emails_email_test_send", args=[mail.pk]),
        {"to": "reviewer@agency.example", "contact": str(ada.pk)},
    )
    assert answer.status_code == 302
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "reviewer@agency.example"
    assert message["Subject"] == "[Test] Our autumn sale, Ada"
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    assert "Hello Ada!" in html
    assert "/r/" not in html
    assert ".gif" not in html
    assert "Shop now (https://shop.example.com/sale)" in text
    # No contact for the reviewer, no recipient, no link, nothing in the email's figures.
    assert _trace() == before
    assert not Contact.objects.filter(email="reviewer@agency.example").exists()
    assert email_stats(email=mail) == stats


def test_the_list_action_sends_to_the_operator_without_filing_them(client, operator, inbox):
    mail = email_make()
    before = _trace()
    client.post(
        reverse("admin:emails_email_changelist"),
        {"action": "test_send", "_selected_action": [mail.pk]},
    )
    assert [m["To"] for m in inbox.messages] == ["operator@example.com"]
    assert _trace() == before


def test_a_test_send_to_a_bad_address_is_refused_with_a_reason(client, operator, inbox):
    mail = email_make()
    answer = client.post(
        reverse("admin:emails_email_test_send", args=[mail.pk]),
        {"to": "not an address", "contact": "ghost@example.com"},
    )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "Enter a valid email address." in body
    assert "No contact with that email address or id." in body
    assert inbox.messages == []


def test_a_mail_server_that_is_away_is_reported_not_a_500(client, operator):
    mail = email_make()
    with _smtp(_free_port()):  # nothing listens there
        answer = client.post(
            reverse("admin:emails_email_test_send", args=[mail.pk]), {"to": "a@example.com"}
        )
    assert answer.status_code == 200
    assert "The mail server refused the test" in answer.content.decode()
    assert _trace() == (0, 0, 0, 0, 0, 0)


def test_a_view_only_user_may_preview_but_not_send_a_test(client, inbox):
    viewer = User.objects.create_user("viewer", "viewer@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_email"))
    client.force_login(viewer)
    mail = email_make(html=GREETING_HTML)
    assert client.get(reverse("admin:emails_email_preview", args=[mail.pk])).status_code == 200
    answer = client.post(
        reverse("admin:emails_email_test_send", args=[mail.pk]), {"to": "a@example.com"}
    )
    assert answer.status_code == 403
    # Without sight of contacts, no contact's fields are shown either.
    contact_upsert(email="ada@example.com", first_name="Ada")
    frame = reverse("admin:emails_email_preview_frame", args=[mail.pk])
    assert client.get(frame, {"contact": "ada@example.com"}).status_code == 403
    assert inbox.messages == []


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 390])
def test_the_preview_page_fits_the_screen_and_fires_no_tracker(
    chromium, tracker, client, width, tmp_path
):
    """The operator's preview in Chromium at a laptop's and a phone's width: both frames show
    the message rendered for the contact, the page never scrolls sideways, and no open pixel,
    tracked link or other request of the email surface is made."""
    from tests.support.browser import TIMEOUT_MS

    user = User.objects.create_superuser("operator", "operator@example.com", "pw")
    client.force_login(user)
    contact_upsert(email="ada@example.com", first_name="Ada")
    mail = email_make(
        html=GREETING_HTML.replace(
            "</body>",
            '<table style="width:1200px"><tr><td>a wide newsletter table</td></tr></table></body>',
        )
    )
    context = chromium.new_context(viewport={"width": width, "height": 900})
    try:
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": tracker}]
        )
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        url = reverse("admin:emails_email_preview", args=[mail.pk])
        page.goto(f"{tracker}{url}?contact=ada@example.com", timeout=TIMEOUT_MS)
        for frame in ("#preview-full", "#preview-phone"):
            heading = page.frame_locator(frame).locator("h1")
            heading.wait_for(timeout=TIMEOUT_MS)
            assert heading.inner_text() == "Hello Ada!"
        page.screenshot(path=str(tmp_path / f"preview-{width}.png"), full_page=True)
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"the preview page scrolls sideways by {overflow}px at {width}px"
        phone = page.locator("#preview-phone").bounding_box()
        assert phone is not None
        assert phone["width"] <= min(390, width)
    finally:
        context.close()
    surface = [u for u in requested if urlsplit(u).path.startswith(("/email/", "/r/"))]
    assert surface == []
    assert EmailOpen.objects.count() == 0
    assert EmailClick.objects.count() == 0
