"""One recipient's message: personalised, with tracked links and an open pixel only as their
consent allows, an unsubscribe link, and RFC 8058 one-click headers."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.urls import reverse

from consent.models import Purpose
from consent.selectors import consent_state, consent_states
from contacts.models import Contact, DoNotContact
from contacts.selectors import contact_is_dnc
from emails.models import Email, Recipient, TrackedLink

CT_SALT = "consentry.email.ct"
_HREF = re.compile(r"""(href\s*=\s*)(["'])(https?://[^"'\s<>]+)\2""", re.IGNORECASE)
_FIELD = re.compile(r"\{contactfield=([a-z0-9_]{1,64})\}", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str
    from_email: str
    to: str
    headers: dict[str, str] = field(default_factory=dict)


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


def bound_token_make(*, salt: str, bound: str, token: str) -> str:
    """A recipient token signed together with the one object it may be used on."""
    return signing.dumps([bound, token], salt=salt)


def bound_token_read(value: str, *, salt: str, bound: str) -> str | None:
    """The token, or None when the value is missing, forged, garbled or made for another
    object: a ct copied onto another link or asset identifies no one."""
    try:
        made_for, token = signing.loads(value, salt=salt)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if made_for != bound or not isinstance(token, str):
        return None
    return token


def ct_make(*, link: TrackedLink, recipient: Recipient) -> str:
    return bound_token_make(salt=CT_SALT, bound=link.redirect_id, token=recipient.token)


def ct_read(value: str, *, redirect_id: str) -> str | None:
    return bound_token_read(value, salt=CT_SALT, bound=redirect_id)


def tracking_allowed(*, contact: Contact) -> bool:
    """Per-recipient pixels and attributed links need the contact's tracking consent."""
    if settings.TRACKING_MODE == "off":
        return False
    if settings.DNC_REVOKES_TRACKING and contact_is_dnc(contact=contact):
        return False
    return consent_state(contact=contact, purpose=Purpose.TRACKING) == "grant"


def tracking_allowed_among(*, contact_ids: Iterable[int]) -> set[int]:
    """tracking_allowed for a batch of contacts, in two queries instead of two per contact."""
    ids = set(contact_ids)
    if settings.TRACKING_MODE == "off" or not ids:
        return set()
    if settings.DNC_REVOKES_TRACKING:
        ids -= set(
            DoNotContact.objects.filter(contact_id__in=ids).values_list("contact_id", flat=True)
        )
    states = consent_states(contact_ids=ids, purpose=Purpose.TRACKING)
    return {contact_id for contact_id, action in states.items() if action == "grant"}


def _contact_field(contact: Contact, alias: str) -> str:
    known = {"email": contact.email, "firstname": contact.first_name, "lastname": contact.last_name}
    value = known.get(alias.lower(), contact.fields.get(alias, ""))
    return str(value)


def _links(email: Email, source: str) -> dict[str, TrackedLink]:
    urls = {m.group(3) for m in _HREF.finditer(source)}
    own = settings.PUBLIC_URL + "/email/"
    links = {}
    for url in sorted(urls):
        if url.startswith(own) or len(url) > 2048:
            continue
        link, _ = TrackedLink.objects.get_or_create(email=email, url=html.unescape(url))
        links[url] = link
    return links


def _text_from_html(source: str) -> str:
    text = _TAG.sub("", re.sub(r"(?i)<br\s*/?>|</p>|</div>|</h[1-6]>|</li>", "\n", source))
    return _BLANK_LINES.sub("\n\n", html.unescape(text)).strip()


def message_render(
    *, recipient: Recipient, tracked: bool | None = None, webview: bool = False
) -> Rendered:
    """The message as sent; with `webview`, the page shown in a browser: the same content
    with the original links and no pixel (no tracker at all)."""
    email = recipient.send.email
    contact = recipient.contact
    if tracked is None:
        tracked = not webview and tracking_allowed(contact=contact)
    unsubscribe = _absolute(reverse("email-unsubscribe", args=[recipient.token]))
    webview_url = _absolute(reverse("email-view", args=[recipient.token]))

    def personalise(source: str, *, escape: bool) -> str:
        source = _FIELD.sub(
            lambda m: (html.escape if escape else str)(_contact_field(contact, m.group(1))), source
        )
        return source.replace("{unsubscribe_url}", unsubscribe).replace(
            "{webview_url}", webview_url
        )

    body = personalise(email.html, escape=True)
    links = {} if webview else _links(email, body)

    def track(match: re.Match[str]) -> str:
        link = links.get(match.group(3))
        if link is None:
            return match.group(0)
        target = _absolute(reverse("email-click", args=[link.redirect_id]))
        if tracked:
            target += "?ct=" + ct_make(link=link, recipient=recipient)
        return f"{match.group(1)}{match.group(2)}{html.escape(target)}{match.group(2)}"

    body = _HREF.sub(track, body)
    footer = ""
    if unsubscribe not in body:
        footer += (
            f'<p style="font-size:12px;color:#666">'
            f'<a href="{html.escape(unsubscribe)}">Unsubscribe</a></p>'
        )
    if settings.TRACKING_MODE != "off" and not webview:
        pixel_token = recipient.token if tracked else email.pixel_token
        pixel = _absolute(reverse("email-open", args=[pixel_token]))
        footer += (
            f'<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="display:none">'
        )
    closing = body.lower().rfind("</body>")
    body = body[:closing] + footer + body[closing:] if closing >= 0 else body + footer
    text = personalise(email.text, escape=False) if email.text else _text_from_html(body)
    if unsubscribe not in text:
        text += f"\n\nUnsubscribe: {unsubscribe}\n"
    list_unsubscribe = f"<{unsubscribe}>"
    if settings.UNSUBSCRIBE_MAILTO:
        list_unsubscribe += f", <mailto:{settings.UNSUBSCRIBE_MAILTO}?subject=unsubscribe>"
    domain = urlsplit(settings.PUBLIC_URL).hostname or "localhost"
    return Rendered(
        subject=" ".join(personalise(email.subject, escape=False).split()),
        html=body,
        text=text,
        from_email=formataddr((email.from_name, email.from_email))
        if email.from_name
        else email.from_email,
        to=contact.email,
        headers={
            "List-Unsubscribe": list_unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": make_msgid(domain=domain),
        },
    )
