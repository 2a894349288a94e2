"""One recipient's message: personalised, with tracked links and an open pixel only as their
consent allows, an unsubscribe link, and RFC 8058 one-click headers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid
from html.parser import HTMLParser
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
# Mautic's token, with its optional default after a bar: {contactfield=firstname|there}.
_FIELD = re.compile(r"\{contactfield=([a-z0-9_-]{1,64})(?:\|([^{}]{0,200}))?\}", re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
# The same field under the names forms, imports and Mautic give it: the key is the name
# lower-cased without separators, so first_name, First-Name and firstname are one field.
_ALIASES = {
    "givenname": "firstname",
    "first": "firstname",
    "surname": "lastname",
    "familyname": "lastname",
    "last": "lastname",
    "emailaddress": "email",
    "mail": "email",
    "companyname": "company",
    "organisation": "company",
    "organization": "company",
    "phonenumber": "phone",
    "telephone": "phone",
    "mobilephone": "mobile",
    "zip": "zipcode",
    "postcode": "zipcode",
    "postalcode": "zipcode",
    "jobtitle": "position",
    "url": "website",
}


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
    return bound_token_make(salt=CT_SALT, bound=link.redirect_id, token=recipient.live_token)


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


def field_key(name: str) -> str:
    """The one name of a contact field, whatever a form or an import called it."""
    key = re.sub(r"[\s_\-.]+", "", name.lower())
    return _ALIASES.get(key, key)


def contact_values(contact: Contact | None) -> dict[str, str]:
    """The contact's fields by their one name; the core fields win over custom ones."""
    if contact is None:
        return {}
    values: dict[str, str] = {}
    for name, value in (contact.fields or {}).items():
        if value is None or isinstance(value, dict | list):
            continue
        key = field_key(str(name))
        if not values.get(key):  # an empty duplicate never hides a filled one
            values[key] = str(value)
    for key, value in (
        ("firstname", contact.first_name),
        ("lastname", contact.last_name),
        ("email", contact.email),
    ):
        if value or key not in values:
            values[key] = value
    return values


def tokens_fill(source: str, *, values: dict[str, str], escape: bool) -> str:
    """Replace every {contactfield=name|default}: an empty or unknown value takes the
    default (none given: nothing), as Mautic does."""

    def one(match: re.Match[str]) -> str:
        value = values.get(field_key(match.group(1)), "").strip()
        if not value:
            # The default was written by the email's author, in the email's own markup.
            default = match.group(2) or ""
            return default if escape else html.unescape(default)
        return html.escape(value) if escape else value

    return _FIELD.sub(one, source)


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


_BLOCKS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "html",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
_CELLS = frozenset({"td", "th"})
_HIDDEN = frozenset({"head", "script", "style", "title", "template"})


class _PlainText(HTMLParser):
    """The text a reader sees, with each link's address after its text: block elements and
    links are separators, so two links never run together."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.links: list[tuple[str, int]] = []  # href, where its text starts in parts

    def _gap(self, gap: str) -> None:
        self.parts.append(gap)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self._gap("\n")
        elif tag in _CELLS:
            self._gap(" ")
        elif tag in _BLOCKS:
            self._gap("\n")
        elif tag == "a":
            self._gap(" ")
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))
        elif tag == "img":
            alt = (dict(attrs).get("alt") or "").strip()
            if alt and not self.hidden:
                self.parts.append(f" {alt} ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _CELLS:
            self._gap(" ")
        elif tag in _BLOCKS:
            self._gap("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = " ".join("".join(self.parts[start:]).split())
            href = href.strip()
            if href.lower().startswith(("http://", "https://", "mailto:")) and href != label:
                self.parts.append(f" ({href.removeprefix('mailto:')})" if label else href)
            self._gap(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)

    def text(self) -> str:
        lines = (_SPACES.sub(" ", line).strip() for line in "".join(self.parts).split("\n"))
        return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_from_html(source: str) -> str:
    """The plain-text part made from the HTML part: every link keeps its URL."""
    parser = _PlainText()
    parser.feed(source)
    parser.close()
    return parser.text()


def _compose(
    *,
    email: Email,
    values: dict[str, str],
    to: str,
    unsubscribe: str,
    webview_url: str,
    preferences_url: str,
    link_for: Callable[[str], str | None] | None = None,
    pixel: str | None = None,
) -> Rendered:
    """The message from its parts: tokens filled, links rewritten by `link_for` (None keeps
    them as written), the unsubscribe and preference links, and the pixel when one is given."""

    def personalise(source: str, *, escape: bool) -> str:
        source = tokens_fill(source, values=values, escape=escape)
        return (
            source.replace("{unsubscribe_url}", unsubscribe)
            .replace("{webview_url}", webview_url)
            .replace("{preferences_url}", preferences_url)
        )

    body = personalise(email.html, escape=True)
    if link_for is not None:

        def track(match: re.Match[str]) -> str:
            target = link_for(match.group(3))
            if target is None:
                return match.group(0)
            return f"{match.group(1)}{match.group(2)}{html.escape(target)}{match.group(2)}"

        body = _HREF.sub(track, body)
    footer = ""
    # Every email leads its reader to unsubscribing and to their preferences, whether or not
    # its author placed the links.
    own = [
        f'<a href="{html.escape(url)}">{label}</a>'
        for url, label in ((unsubscribe, "Unsubscribe"), (preferences_url, "Your preferences"))
        if url not in body
    ]
    if own:
        footer += f'<p style="font-size:12px;color:#666">{" · ".join(own)}</p>'
    if pixel is not None:
        footer += (
            f'<img src="{html.escape(pixel)}" width="1" height="1" alt="" style="display:none">'
        )
    closing = body.lower().rfind("</body>")
    body = body[:closing] + footer + body[closing:] if closing >= 0 else body + footer
    text = personalise(email.text, escape=False) if email.text else text_from_html(body)
    closing_lines = [
        f"{label}: {url}"
        for url, label in ((unsubscribe, "Unsubscribe"), (preferences_url, "Your preferences"))
        if url not in text
    ]
    if closing_lines:
        text += "\n\n" + "\n".join(closing_lines) + "\n"
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
        to=to,
        headers={
            "List-Unsubscribe": list_unsubscribe,
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": make_msgid(domain=domain),
        },
    )


def message_render(
    *, recipient: Recipient, tracked: bool | None = None, webview: bool = False
) -> Rendered:
    """The message as sent; with `webview`, the page shown in a browser: the same content
    with the original links and no pixel (no tracker at all)."""
    email = recipient.send.email
    contact = recipient.addressee
    if tracked is None:
        tracked = not webview and tracking_allowed(contact=contact)
    values = contact_values(contact)
    links = {} if webview else _links(email, tokens_fill(email.html, values=values, escape=True))

    def link_for(url: str) -> str | None:
        link = links.get(url)
        if link is None:
            return None
        target = _absolute(reverse("email-click", args=[link.redirect_id]))
        if tracked:
            target += "?ct=" + ct_make(link=link, recipient=recipient)
        return target

    pixel = None
    if settings.TRACKING_MODE != "off" and not webview:
        pixel_token = recipient.live_token if tracked else email.pixel_token
        pixel = _absolute(reverse("email-open", args=[pixel_token]))
    return _compose(
        email=email,
        values=values,
        to=contact.email,
        unsubscribe=_absolute(reverse("email-unsubscribe", args=[recipient.live_token])),
        webview_url=_absolute(reverse("email-view", args=[recipient.live_token])),
        preferences_url=_absolute(reverse("email-preferences", args=[recipient.live_token])),
        link_for=None if webview else link_for,
        pixel=pixel,
    )


# A test send's and a preview's unsubscribe and web-view links name no recipient: they open
# the page a reader would see and change nothing, as an unknown token does.
SAMPLE_TOKEN = "sample"  # noqa: S105 (a path segment, not a secret)


def message_sample(*, email: Email, contact: Contact | None, to: str) -> Rendered:
    """The message as `contact` would read it, for a preview or a test send: tokens filled,
    the links as the author wrote them and no pixel, so that reading or clicking it counts
    nowhere and acts for no one."""
    return _compose(
        email=email,
        values=contact_values(contact),
        to=to,
        unsubscribe=_absolute(reverse("email-unsubscribe", args=[SAMPLE_TOKEN])),
        webview_url=_absolute(reverse("email-view", args=[SAMPLE_TOKEN])),
        preferences_url=_absolute(reverse("email-preferences", args=[SAMPLE_TOKEN])),
    )
