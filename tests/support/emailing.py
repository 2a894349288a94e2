"""An email, a send and its recipients, made through the real services."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from consent.services import consent_grant
from contacts.models import Contact
from contacts.services import contact_upsert
from emails.models import Email, EmailSend, Recipient, TrackedLink
from emails.rendering import message_render

HTML = (
    "<html><body><h1>Hello {contactfield=firstname}</h1>"
    '<p><a href="https://shop.example.com/sale?x=1&amp;y=2">See the sale</a></p>'
    '<p>Read it <a href="{webview_url}">in your browser</a>.</p>'
    "</body></html>"
)


@dataclass
class Sent:
    email: Email
    recipient: Recipient
    contact: Contact
    html: str
    link: TrackedLink


def email_make(**overrides) -> Email:
    fields = {
        "name": "Autumn sale",
        "subject": "Our autumn sale, {contactfield=firstname}",
        "from_email": "news@shop.example.com",
        "from_name": "Shop",
        "html": HTML,
    }
    return Email.objects.create(**{**fields, **overrides})


def sent_to(address: str, *, consented: bool, email: Email | None = None) -> Sent:
    """A recipient whose message was rendered as it is sent (tracked if consented)."""
    contact = contact_upsert(email=address, first_name="Ada")
    if consented:
        consent_grant(contact=contact, source="form")
    email = email or email_make()
    send = EmailSend.objects.create(email=email)
    recipient = Recipient.objects.create(
        send=send, contact=contact, status="sent", tracked=consented, sent_at=timezone.now()
    )
    rendered = message_render(recipient=recipient)
    link = TrackedLink.objects.get(email=email, url="https://shop.example.com/sale?x=1&y=2")
    return Sent(email=email, recipient=recipient, contact=contact, html=rendered.html, link=link)
