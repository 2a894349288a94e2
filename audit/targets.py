"""The servers an audit can run against, and how each gets the objects the scenarios use.

- `InProcessTarget`: a Consentry running in this very process (the command's own
  LiveServerThread, or pytest-django's live_server). Its settings are switched at run time
  (`override_settings` changes them for every thread of the process), so every tracking mode
  can be audited; fixtures are made through the same services the admin and the API use.
- `RemoteTarget`: a live deployment. Fixtures go through the REST API and are removed at the
  end (contacts by DELETE, which is erasure); the deployment's own mode is the only one.

Neither asks the gate anything: what is permitted is decided in `audit.rules`.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from audit.rules import MODES, Mode

# Contacts live under a reserved top-level domain (RFC 2606): no mail can ever reach them.
MAIL_DOMAIN = "cookie-audit.invalid"
EMAIL_HTML = (
    "<html><body><p>Hello {{contactfield=firstname}},</p>"
    '<p><a href="{blank}">See the offer</a></p>'
    '<p>Read it <a href="{{webview_url}}">in your browser</a>.</p>'
    "</body></html>"
)
ASSET_BYTES = b"Consentry cookie audit: a downloadable asset.\n"
# The configured video's address: a CDN under the reserved domain, answered by Chromium itself
# in the scenario (see `audit.scenarios._video`), never fetched from the network.
VIDEO_HOST = f"https://videos.{MAIL_DOMAIN}"
# Its gate: the plain contact form (set-cookie off) shows over the player at this second.
VIDEO_GATE_SECONDS = 1


class TargetError(RuntimeError):
    """The target could not be prepared (API refused, server unreachable)."""


@dataclass(frozen=True, slots=True)
class EmailLinks:
    """The links of one recipient's rendered message, as a reader would find them."""

    tracked: str  # the regular link, /r/{id}?ct=… (without ?ct= when not tracked)
    unsubscribe: str
    resubscribe: str
    webview: str
    open_pixel: str
    preferences: str  # the recipient's preference page, linked from every email
    # A double opt-in confirmation link; its page reads the same for any link, so a
    # recipient token in its place plays the page without asking the target for mail.
    confirm: str


@dataclass(frozen=True, slots=True)
class Person:
    email: str
    links: EmailLinks


@dataclass(slots=True)
class Fixtures:
    ada: Person  # consented to tracking; her links carry a ct
    dora: Person  # consented, then on Do-Not-Contact once her browser is prepared
    form_on: int  # set-cookie-on-submission switch on
    form_off: int
    focus: int
    asset: str  # slug
    landing: str  # slug
    fresh: list[EmailLinks] = field(default_factory=list)  # one per scenario that unsubscribes
    # A dynamic-content slot with a default item and a variant for every known contact.
    dwc_slot: str = ""
    # A configured video's address, gated by the set-cookie-off form at VIDEO_GATE_SECONDS.
    video: str = ""

    def take_fresh(self) -> EmailLinks:
        if not self.fresh:
            raise TargetError("no fresh recipient left: the fixtures were made for fewer")
        return self.fresh.pop(0)


def links_in(message: str) -> EmailLinks:
    """The links of a rendered message's HTML."""

    def find(pattern: str, what: str) -> str:
        match = re.search(pattern, message)
        if match is None:
            raise TargetError(f"the rendered email has no {what}")
        return html.unescape(match.group(1))

    unsubscribe = find(r'href="([^"]*/email/unsubscribe/[^"]+)"', "unsubscribe link")
    return EmailLinks(
        tracked=find(r'href="([^"]*/r/[^"]+)"', "tracked link"),
        unsubscribe=unsubscribe,
        resubscribe=unsubscribe.replace("/email/unsubscribe/", "/email/resubscribe/"),
        webview=find(r'href="([^"]*/email/view/[^"]+)"', "web-view link"),
        preferences=find(r'href="([^"]*/email/preferences/[^"]+)"', "preferences link"),
        confirm=unsubscribe.replace("/email/unsubscribe/", "/email/confirm/"),
        open_pixel=find(r'src="([^"]*/email/[^"/]+\.gif)"', "open pixel"),
    )


class Target(Protocol):
    base_url: str
    description: str
    modes: tuple[Mode, ...]

    def run(self, *, site: str) -> AbstractContextManager[None]:
        """The settings for a whole run, once the host site's origin is known."""

    def mode(self, mode: Mode) -> AbstractContextManager[None]:
        """Switch to `mode` (only one of `modes`)."""

    def preparing(self) -> AbstractContextManager[None]:
        """The mode in which fixtures and the prepared browsers are made."""

    def make_fixtures(self, *, site: str, blank: str, fresh: int) -> Fixtures: ...

    def remove_fixtures(self) -> list[str]:
        """Remove what make_fixtures made; returns notes on what could not be removed."""


class InProcessTarget:
    """A Consentry server running in this process."""

    description = (
        "a fresh local Consentry (temporary SQLite database, Django's live server in the "
        "audit's own process, plain HTTP on `localhost`: no cookie can be `Secure` here), "
        "its tracking mode switched at run time"
    )

    def __init__(self, base_url: str, *, modes: tuple[Mode, ...] = MODES) -> None:
        self.base_url = base_url.rstrip("/")
        self.modes = modes
        self._asset_id: int | None = None

    @contextmanager
    def run(self, *, site: str) -> Iterator[None]:
        from django.test import override_settings

        # The rules assume the default settings: pin every switch they depend on, whatever the
        # environment says, and keep every event in the process (no Redis).
        with override_settings(
            PUBLIC_URL=self.base_url,
            TRACKED_SITES=[site],
            TRACKING_MODE=Mode.CONSENT.value,
            COOKIE_SECURE=False,  # plain HTTP on localhost: a Secure cookie would be dropped
            COOKIE_DOMAIN=None,
            COOKIE_SAMESITE="Lax",
            HONOR_GPC=True,
            HONOR_DNT=True,
            DNC_REVOKES_TRACKING=True,
            FOCUS_FREQUENCY_COOKIE=True,
            FORM_SUBMIT_LIMIT=1_000_000,  # hundreds of submissions from one address
            EVENT_RATE_LIMIT=1_000_000,  # and as many script events
            REDIS_URL=None,
        ):
            yield

    @contextmanager
    def mode(self, mode: Mode) -> Iterator[None]:
        from django.test import override_settings

        # Settings are process-wide: the live server's threads see the new mode at once.
        with override_settings(TRACKING_MODE=mode.value):
            yield

    def preparing(self) -> AbstractContextManager[None]:
        # Emails were sent and browsers prepared while the site ran in the default mode: a ct
        # is only rendered for a consenting contact while tracking is on.
        return self.mode(Mode.CONSENT)

    def make_fixtures(self, *, site: str, blank: str, fresh: int) -> Fixtures:
        from django.core.files.base import ContentFile

        from consent.services import consent_grant
        from contacts.services import contact_upsert
        from emails.models import Email
        from emails.services import email_render_external
        from focus.models import FocusItem
        from forms.models import Field, Form
        from pages.models import Asset, LandingPage

        email = Email.objects.create(
            name="Cookie audit",
            subject="Cookie audit",
            from_email=f"audit@{MAIL_DOMAIN}",
            html=EMAIL_HTML.format(blank=blank),
        )

        def person(address: str, first_name: str) -> Person:
            contact = contact_upsert(email=address, first_name=first_name)
            consent_grant(contact=contact, source="audit")
            # The same rendering as the API's /emails/{id}/render/.
            rendered = email_render_external(email=email, contact=contact)
            return Person(email=address, links=links_in(rendered.html))

        def form(name: str, *, set_cookie: bool) -> int:
            made = Form.objects.create(
                name=name, set_cookie_on_submission=set_cookie, allowed_origins=site
            )
            Field.objects.create(
                form=made,
                label="Email",
                alias="email",
                type="email",
                required=True,
                contact_field="email",
                order=0,
            )
            Field.objects.create(
                form=made, label="Track my visits", alias="track", type="tracking_consent", order=1
            )
            return made.pk

        asset = Asset(
            title="Cookie audit asset",
            slug="cookie-audit",
            original_name="cookie-audit.txt",
            content_type="text/plain",
            size=len(ASSET_BYTES),
        )
        asset.file.save("cookie-audit.txt", ContentFile(ASSET_BYTES), save=True)
        self._asset_id = asset.pk
        landing = LandingPage.objects.create(
            title="Cookie audit", slug="cookie-audit", body="<p>A landing page.</p>", published=True
        )
        focus = FocusItem.objects.create(
            name="Cookie audit bar",
            headline="Cookie audit",
            style="bar_top",
            trigger="immediately",
            # Not every page: only an item with a frequency remembers having been shown.
            frequency="daily",
        )
        dwc_slot = self._dwc_make()
        fixtures = Fixtures(
            ada=person(f"ada@{MAIL_DOMAIN}", "Ada"),
            dora=person(f"dora@{MAIL_DOMAIN}", "Dora"),
            form_on=form("Cookie audit: set-cookie on", set_cookie=True),
            form_off=form("Cookie audit: set-cookie off", set_cookie=False),
            focus=focus.pk,
            asset=asset.slug,
            landing=landing.slug,
            fresh=[person(f"fresh-{n}@{MAIL_DOMAIN}", "Fresh").links for n in range(fresh)],
            dwc_slot=dwc_slot,
        )
        # Gated by the plain contact form, made above: the gate's form sets no cookie.
        fixtures.video = self._video_make(form=fixtures.form_off)
        return fixtures

    def _dwc_make(self) -> str:
        from dwc.models import Item, Slot, Variant

        slot = Slot.objects.create(name="cookie-audit")
        item = Item.objects.create(
            slot=slot, name="Cookie audit", is_default=True, content="<p>For everyone.</p>"
        )
        Variant.objects.create(item=item, name="Known contacts", content="<p>Welcome back.</p>")
        return slot.name

    def _video_make(self, *, form: int) -> str:
        from video.models import Video

        video = Video.objects.create(
            name="Cookie audit",
            url=f"{VIDEO_HOST}/cookie-audit.wav",
            form_id=form,
            gate_seconds=VIDEO_GATE_SECONDS,
        )
        return video.url

    def remove_fixtures(self) -> list[str]:
        # The database is thrown away with the run (the command's temporary SQLite file, or
        # the test's database); only the asset's file lives outside it.
        from pages.models import Asset

        if self._asset_id is None:
            return []
        asset = Asset.objects.filter(pk=self._asset_id).first()
        if asset is not None and asset.file:
            asset.file.delete(save=False)
        return []


class RemoteTarget:
    """A live deployment, reached over HTTP; fixtures through the REST API (token auth)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        # Every name the audit makes carries this, so nothing of anyone else's is touched.
        self.tag = f"cookie-audit-{secrets.token_hex(4)}"
        self.made: list[str] = []  # API paths to DELETE at the end, in order
        self.current = self.detect_mode()
        self.modes: tuple[Mode, ...] = (self.current,)
        host = urlsplit(self.base_url).hostname
        self.description = (
            f"the live deployment at `{host}` in its own mode `{self.current}` "
            "(modes cannot be switched remotely)"
        )

    # -- plain HTTP -----------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        data: dict[str, Any] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        url = path if path.startswith("http") else self.base_url + path
        headers = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        if data is not None:
            body, content_type = json.dumps(data).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310 (the operator's own URL)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                return response.status, dict(response.headers.items()), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers.items()), exc.read()
        except OSError as exc:
            raise TargetError(f"{method} {url}: {exc}") from exc

    def api(self, method: str, path: str, data: dict[str, Any] | None = None) -> Any:
        status, _, body = self._call(method, f"/api/v1/{path}", data=data)
        if status >= 400:
            raise TargetError(f"{method} /api/v1/{path}: HTTP {status}: {body[:300]!r}")
        return json.loads(body) if body else None

    def detect_mode(self) -> Mode:
        """The deployment's mode, from the reason the gate gives a browser without cookies on
        the cookie declaration (a page that records nothing)."""
        url = self.base_url + "/privacy/cookies.json"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                reason = response.headers.get("X-Consentry-Decision", "")
        except OSError as exc:
            raise TargetError(f"GET {url}: {exc}") from exc
        modes = {
            "mode_off": Mode.OFF,
            "mode_anonymous": Mode.ANONYMOUS,
            "mode_always": Mode.ALWAYS,
            "no_choice": Mode.CONSENT,
        }
        if reason not in modes:
            raise TargetError(f"{url} answered without a known X-Consentry-Decision: {reason!r}")
        return modes[reason]

    # -- the Target protocol --------------------------------------------------------------

    def run(self, *, site: str) -> AbstractContextManager[None]:
        return nullcontext()

    def mode(self, mode: Mode) -> AbstractContextManager[None]:
        if mode is not self.current:
            raise TargetError(f"the deployment runs in mode {self.current}, not {mode}")
        return nullcontext()

    def preparing(self) -> AbstractContextManager[None]:
        return nullcontext()

    def make_fixtures(self, *, site: str, blank: str, fresh: int) -> Fixtures:
        email = self.api(
            "POST",
            "emails/",
            {
                "name": self.tag,
                "subject": "Cookie audit",
                "from_email": f"audit@{MAIL_DOMAIN}",
                "html": EMAIL_HTML.format(blank=blank),
            },
        )
        self.made.append(f"emails/{email['id']}/")

        def person(local: str, first_name: str) -> Person:
            address = f"{local}.{self.tag}@{MAIL_DOMAIN}"
            contact = self.api("POST", "contacts/", {"email": address, "first_name": first_name})
            # Erasure first: the contact's sends would otherwise protect the email.
            self.made.insert(0, f"contacts/{contact['id']}/")
            self.api(
                "POST",
                f"contacts/{contact['id']}/consents/",
                {"purpose": "tracking", "action": "grant", "source": "audit"},
            )
            rendered = self.api("POST", f"emails/{email['id']}/render/", {"contact": contact["id"]})
            return Person(email=address, links=links_in(rendered["html"]))

        def form(name: str, *, set_cookie: bool) -> int:
            made = self.api(
                "POST",
                "forms/",
                {
                    "name": f"{self.tag}: {name}",
                    "published": True,
                    "set_cookie_on_submission": set_cookie,
                    "allowed_origins": site,
                },
            )
            self.made.append(f"forms/{made['id']}/")
            fields: list[dict[str, Any]] = [
                {
                    "label": "Email",
                    "alias": "email",
                    "type": "email",
                    "required": True,
                    "contact_field": "email",
                },
                {"label": "Track my visits", "alias": "track", "type": "tracking_consent"},
            ]
            for order, field_ in enumerate(fields):
                self.api("POST", f"forms/{made['id']}/fields/", {**field_, "order": order})
            return int(made["id"])

        focus = self.api(
            "POST",
            "focus/",
            {
                "name": self.tag,
                "headline": "Cookie audit",
                "style": "bar_top",
                "trigger": "immediately",
                "frequency": "daily",
            },
        )
        self.made.append(f"focus/{focus['id']}/")
        asset = self._asset_upload()
        landing = self.api(
            "POST",
            "pages/",
            {
                "title": "Cookie audit",
                "slug": self.tag,
                "body": "<p>A landing page.</p>",
                "published": True,
            },
        )
        self.made.append(f"pages/{landing['id']}/")
        dwc_slot = self._dwc_make()
        fixtures = Fixtures(
            ada=person("ada", "Ada"),
            dora=person("dora", "Dora"),
            form_on=form("set-cookie on", set_cookie=True),
            form_off=form("set-cookie off", set_cookie=False),
            focus=int(focus["id"]),
            asset=asset,
            landing=str(landing["slug"]),
            fresh=[person(f"fresh-{n}", "Fresh").links for n in range(fresh)],
            dwc_slot=dwc_slot,
        )
        # Gated by the plain contact form, made above: the gate's form sets no cookie.
        fixtures.video = self._video_make(form=fixtures.form_off)
        return fixtures

    def _dwc_make(self) -> str:
        slot = self.api("POST", "dwc/slots/", {"name": self.tag})
        # Deleting the slot deletes its items and their variants.
        self.made.append(f"dwc/slots/{slot['id']}/")
        item = self.api(
            "POST",
            "dwc/items/",
            {
                "slot": slot["id"],
                "name": self.tag,
                "is_default": True,
                "content": "<p>For everyone.</p>",
            },
        )
        self.api(
            "POST",
            "dwc/variants/",
            {"item": item["id"], "name": self.tag, "content": "<p>Welcome back.</p>"},
        )
        return str(slot["name"])

    def _video_make(self, *, form: int) -> str:
        video = self.api(
            "POST",
            "videos/",
            {
                "name": self.tag,
                "url": f"{VIDEO_HOST}/{self.tag}.wav",
                "form": form,
                "gate_seconds": VIDEO_GATE_SECONDS,
            },
        )
        self.made.append(f"videos/{video['id']}/")
        return str(video["url"])

    def _asset_upload(self) -> str:
        boundary = secrets.token_hex(16)
        parts = [
            ("title", None, b"Cookie audit asset"),
            ("slug", None, self.tag.encode()),
            ("published", None, b"true"),
            ("file", "cookie-audit.txt", ASSET_BYTES),
        ]
        body = b""
        for name, filename, value in parts:
            disposition = f'form-data; name="{name}"'
            extra = ""
            if filename:
                disposition += f'; filename="{filename}"'
                extra = "Content-Type: text/plain\r\n"
            body += (
                f"--{boundary}\r\nContent-Disposition: {disposition}\r\n{extra}\r\n".encode()
                + value
                + b"\r\n"
            )
        body += f"--{boundary}--\r\n".encode()
        status, _, answer = self._call(
            "POST",
            "/api/v1/assets/",
            body=body,
            content_type=f"multipart/form-data; boundary={boundary}",
        )
        if status >= 400:
            raise TargetError(f"POST /api/v1/assets/: HTTP {status}: {answer[:300]!r}")
        asset = json.loads(answer)
        self.made.append(f"assets/{asset['id']}/")
        return str(asset["slug"])

    def remove_fixtures(self) -> list[str]:
        notes = []
        for path in self.made:
            status, _, _ = self._call("DELETE", f"/api/v1/{path}")
            if status >= 400 and status != 404:
                notes.append(f"could not remove /api/v1/{path} (HTTP {status}); named `{self.tag}`")
        self.made.clear()
        return notes
