"""The consent gate: one function decides, for every request, what may be stored on the
device and whether a hit may be tied to a person.

Rules, strongest first (docs/architecture.md, "The gate"):
 1. unsubscribe-type surfaces: no tracking cookies, ever; expire any present;
 2. tracking mode off: count nothing, store nothing;
 3. the contact (named by the caller, or behind the browser's device cookie) is on
    Do-Not-Contact and DNC_REVOKES_TRACKING: refused;
 4. the browser's explicit choice (the signed consent cookie);
 5. Sec-GPC: 1 / DNT: 1 (each switchable): refused;
 6. mode always: permit;
 7. otherwise: anonymous counting only. A contact's recorded consent, reached through a signed
    email token, lets the hit be identified but never stored on the device: the token proves who
    received the email, not who is clicking.
Whatever the rule, a hit made with a staff user's admin session (consentry/staff.py), the
operator's own, counts nothing and writes or expires nothing; a form submission is still kept.

A form submission (FormFacts) keeps nothing on the browser, neither a device nor the tick of its
tracking-consent field, on a kiosk or when the form's "set cookie on submission" switch is off;
otherwise that tick is the browser's grant, made in this very request, unless tracking is off.
"""

from __future__ import annotations

import enum
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from django.conf import settings
from django.core import signing
from django.db import DatabaseError
from django.http import HttpRequest

from consent import registry
from consentry.staff import staff_session

if TYPE_CHECKING:
    from contacts.models import Contact

# A cookie claiming to be issued further in the future than this is a forgery or a broken clock.
_CLOCK_SKEW = 300


class Mode(enum.StrEnum):
    OFF = "off"
    ANONYMOUS = "anonymous"
    CONSENT = "consent"
    ALWAYS = "always"


class Surface(enum.StrEnum):
    PAGE = "page"  # mtc.js and POST /mtc/event
    PIXEL = "pixel"  # /mtracking.gif
    EMAIL_OPEN = "email_open"
    EMAIL_CLICK = "email_click"
    EMAIL_VIEW = "email_view"
    UNSUBSCRIBE = "unsubscribe"
    RESUBSCRIBE = "resubscribe"
    FORM = "form"
    FOCUS = "focus"
    ASSET = "asset"
    LANDING = "landing"
    VIDEO = "video"  # /video/hit from a site's video player
    CHOICES = "choices"  # the visitor's privacy-choices page
    EMAIL_CONFIRM = "email_confirm"  # a double opt-in's confirmation page
    PREFERENCES = "preferences"  # an email recipient's preference page

    @property
    def no_tracking(self) -> bool:
        """Surfaces that never track and expire any tracking cookie present."""
        return self in _NO_TRACKING

    @property
    def may_store(self) -> bool:
        """Surfaces where a device cookie may be written at all."""
        return self not in _NEVER_STORE


_NO_TRACKING = frozenset(
    {
        Surface.UNSUBSCRIBE,
        Surface.RESUBSCRIBE,
        Surface.EMAIL_VIEW,
        Surface.EMAIL_CONFIRM,
        Surface.PREFERENCES,
    }
)
# An email client is not the browser the visitor consented in; the choices page only shows.
_NEVER_STORE = _NO_TRACKING | {Surface.EMAIL_OPEN, Surface.CHOICES}


class Choice(enum.StrEnum):
    GRANTED = "g"
    REFUSED = "r"
    OBJECTED = "o"  # refuses even anonymous counting (the right to object)


class Reason(enum.StrEnum):
    SURFACE = "surface_no_tracking"
    MODE_OFF = "mode_off"
    DNC = "do_not_contact"
    OBJECTED = "objected"
    REFUSED = "refused"
    GRANTED = "granted"
    GPC = "gpc"
    DNT = "dnt"
    MODE_ALWAYS = "mode_always"
    MODE_ANONYMOUS = "mode_anonymous"
    CONTACT_CONSENT = "contact_consent"
    NO_CHOICE = "no_choice"
    # Do-Not-Contact could not be read (database down): count anonymously, write nothing and
    # expire nothing, until it can be checked again.
    UNVERIFIED = "unverified"
    STAFF = "staff"  # the operator's own hit (consentry/staff.py): not counted, nothing written


@dataclass(frozen=True, slots=True)
class StoredChoice:
    """The browser's explicit choice, read from a consent cookie whose signature checked out."""

    choice: Choice
    notice_version: str
    chosen_at: int
    issued_at: int
    browser_key: str
    # A refusal the gate wrote because the contact behind the browser is on Do-Not-Contact:
    # once the device cookie that led to the contact is expired, this is all that says so.
    dnc: bool = False


@dataclass(frozen=True, slots=True)
class StoredDevice:
    device_id: str
    issued_at: int


@dataclass(frozen=True, slots=True)
class StoredFocus:
    """Focus items this browser was shown: item id -> when (epoch seconds). No identifier."""

    seen: dict[str, int]
    # item id -> when its cookie was first written (its expiry never moves)
    issued: dict[str, int]


@dataclass(frozen=True, slots=True)
class Browser:
    """What the request's cookies say, after signature checks. Forged values read as absent."""

    choice: StoredChoice | None
    device: StoredDevice | None
    # Names of registry and legacy cookies the request carried, valid or not.
    present: frozenset[str]
    focus: StoredFocus | None = None


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What the gate reads about a contact, read by the caller in this same request (with the
    row that named the contact, in one query) instead of by the gate in two more."""

    on_dnc: bool  # on Do-Not-Contact, any channel
    tracking_consent: str | None  # the newest tracking consent action, None if never asked


@dataclass(frozen=True, slots=True)
class FormFacts:
    """What a form submission brings to the gate."""

    set_cookie: bool  # the form's "set cookie on submission" switch
    kiosk: bool  # a shared screen, by the form's setting or its embed's
    tracking_ticked: bool  # the visitor ticked the tracking-consent field
    notice_version: str = ""  # the notice beside that field ("" for the current one)

    @property
    def keeps(self) -> bool:
        """Whether the browser may keep anything from this submission: a kiosk is shared by
        strangers, and the switch is the operator's."""
        return self.set_cookie and not self.kiosk


@dataclass(frozen=True, slots=True)
class Decision:
    surface: Surface
    store: bool  # may write the device cookie
    identify: bool  # may tie the hit to a contact
    count: bool  # may count the hit anonymously
    clear: bool  # must expire tracking cookies present
    reason: Reason
    browser: Browser  # as it stands after `chosen`
    # A choice made in this very request, for the gate to remember on the browser.
    chosen: StoredChoice | None = None
    # The device given to a browser that may store and has none yet: one per decision, so that
    # every hit of a request (a submission and its focus conversion) is tied to the device the
    # response remembers.
    new_device_id: str | None = None

    @property
    def device_id(self) -> str | None:
        """The verified device id, only when the hit may be identified through it."""
        if self.identify and self.store and self.browser.device is not None:
            return self.browser.device.device_id
        return None

    @property
    def choice(self) -> Choice | None:
        return self.browser.choice.choice if self.browser.choice else None

    @property
    def revokes_grant(self) -> bool:
        """Do-Not-Contact outranks the browser's grant: once the device cookie that led to
        the contact is expired, the grant must not hand the browser a fresh device."""
        return self.reason is Reason.DNC and self.choice is Choice.GRANTED


def device_new_id() -> str:
    return secrets.token_urlsafe(24)


def device_id_for(decision: Decision, *, machine: bool = False) -> str | None:
    """The device a hit is tied to and the response remembers: the browser's own, verified,
    or the new one the decision gives a browser that may store and has none yet. A machine is
    never given a new device."""
    if decision.device_id is not None:
        return decision.device_id
    return None if machine else decision.new_device_id


def choice_stored(
    browser: Browser, *, choice: Choice, notice_version: str, dnc: bool = False
) -> StoredChoice:
    """The browser's choice as its consent cookie will hold it. The browser key survives a
    change of mind, so every record of this browser's choices can be tied together as proof;
    the first issue time survives too, so the cookie is never renewed."""
    now = int(time.time())
    previous = browser.choice
    return StoredChoice(
        choice=choice,
        notice_version=notice_version,
        chosen_at=now,
        issued_at=previous.issued_at if previous else now,
        browser_key=previous.browser_key if previous else secrets.token_hex(16),
        dnc=dnc,
    )


def choice_taken(
    decision: Decision, *, choice: Choice, notice_version: str | None, explicit: bool
) -> bool:
    """Whether a choice a page reports (the script's consent command, a consent banner's
    bridge) changes what this browser holds, and so is remembered and recorded.

    `decision` is the gate's answer before the choice; `explicit` says the visitor acted (a
    click, TCF's useractioncomplete), as opposed to a state the page read at load. Banners
    report their state on every page load, and some report "no choice yet" as a refusal, so
    the consent log must grow with choices, not with traffic.
    """
    stored = decision.browser.choice
    if (
        stored is not None
        and stored.choice is choice
        and notice_version in (None, stored.notice_version)
    ):
        return False
    if choice is Choice.GRANTED and (
        decision.reason is Reason.DNC or (stored is not None and stored.dnc)
    ):
        # Do-Not-Contact outranks any grant: the gate would turn it into a refusal at once,
        # and after it expired the device, its refusal stands for it (the privacy-choices
        # page, the visitor's own act on the tracker, can still grant).
        return False
    if explicit:
        return True
    # A state read at load is not an act. Consent Mode's defaults and a banner's start-up
    # "not yet" arrive on every load before the visitor's remembered choice, so they never
    # replace a choice; and a banner's remembered grant does not outrank the browser's own
    # GPC or DNT, which only a click made since may do.
    return (
        stored is None
        and choice is Choice.GRANTED
        and decision.reason not in (Reason.GPC, Reason.DNT)
    )


def _fresh(issued_at: int, spec: registry.CookieSpec, now: int) -> bool:
    return issued_at - _CLOCK_SKEW <= now < issued_at + spec.max_age


def read_choice(value: str | None, now: int) -> StoredChoice | None:
    if not value:
        return None
    try:
        data = signing.loads(value, salt=registry.CONSENT.salt)
        stored = StoredChoice(
            choice=Choice(data["s"]),
            notice_version=str(data["v"]),
            chosen_at=int(data["t"]),
            issued_at=int(data["i"]),
            browser_key=str(data["k"]),
            dnc=bool(data.get("d")),
        )
    except (signing.BadSignature, KeyError, ValueError, TypeError, AttributeError):
        return None
    return stored if _fresh(stored.issued_at, registry.CONSENT, now) else None


def read_device(value: str | None, now: int) -> StoredDevice | None:
    if not value:
        return None
    try:
        raw = signing.Signer(salt=registry.DEVICE.salt).unsign(value)
        device_id, issued = raw.rsplit(".", 1)
        stored = StoredDevice(device_id=device_id, issued_at=int(issued))
    except (signing.BadSignature, ValueError):
        return None
    if not device_id:
        return None
    return stored if _fresh(stored.issued_at, registry.DEVICE, now) else None


def read_focus(cookies: dict[str, str], now: int) -> StoredFocus | None:
    """The items this browser remembers having shown: one signed cookie per item, each
    holding its item id (bound by the signature) and a time."""
    prefix = registry.FOCUS.prefix or ""
    seen: dict[str, int] = {}
    issued: dict[str, int] = {}
    for name, value in cookies.items():
        if not name.startswith(prefix):
            continue
        item = name[len(prefix) :]
        try:
            data = signing.loads(value, salt=f"{registry.FOCUS.salt}.{item}")
            shown, first = int(data["t"]), int(data["i"])
        except (signing.BadSignature, KeyError, ValueError, TypeError):
            continue
        if _fresh(first, registry.FOCUS, now):
            seen[item], issued[item] = shown, first
    return StoredFocus(seen=seen, issued=issued) if seen else None


def read_browser(request: HttpRequest) -> Browser:
    cookies = request.COOKIES
    now = int(time.time())
    present = frozenset(
        name
        for name in cookies
        if registry.spec_for(name) is not None or name in registry.LEGACY_COOKIES
    )
    return Browser(
        choice=read_choice(cookies.get(registry.CONSENT.name), now),
        device=read_device(cookies.get(registry.DEVICE.name), now),
        present=present,
        focus=read_focus(cookies, now),
    )


def _header_on(request: HttpRequest, name: str) -> bool:
    return str(request.META.get(name, "")).strip() == "1"


def decide(
    request: HttpRequest,
    *,
    surface: Surface,
    contact: Contact | None = None,
    page_gpc: bool = False,
    browser: Browser | None = None,
    contact_facts: ContactFacts | None = None,
    form: FormFacts | None = None,
) -> Decision:
    """Decide what this request may store and whether its hit may be tied to a person.

    `contact` is the person an email token or form names; `page_gpc` is the page's own
    navigator.globalPrivacyControl, which can only make the answer more private; `browser`
    replaces what the request's cookies say, after a choice made in this very request;
    `contact_facts` is what this request already read about `contact`; `form` is what a form
    submission brings.
    """
    if browser is None:
        browser = read_browser(request)
    mode = Mode(settings.TRACKING_MODE)
    keeps = form is None or form.keeps
    chosen = None
    if form is not None and form.tracking_ticked and keeps and mode is not Mode.OFF:
        chosen = choice_stored(
            browser,
            choice=Choice.GRANTED,
            notice_version=form.notice_version or settings.CONSENT_NOTICE_VERSION,
        )
        browser = replace(browser, choice=chosen)

    def verdict(
        reason: Reason, *, store: bool = False, identify: bool = False, count: bool = True
    ) -> Decision:
        if count and surface is not Surface.FORM and staff_session(request):
            return Decision(surface, False, False, False, False, Reason.STAFF, browser, chosen)
        # A surface that cannot store (an email client's image fetch, a kiosk) writes nothing,
        # but it expires nothing the browser holds with a permit either: clearing follows the
        # permit.
        stores = store and surface.may_store and keeps
        return Decision(
            surface=surface,
            store=stores,
            identify=identify,
            count=count,
            clear=not store,
            reason=reason,
            browser=browser,
            chosen=chosen,
            new_device_id=device_new_id()
            if stores and identify and browser.device is None
            else None,
        )

    if surface.no_tracking:
        return verdict(Reason.SURFACE, count=False)
    if mode is Mode.OFF:
        return verdict(Reason.MODE_OFF, count=False)
    if settings.DNC_REVOKES_TRACKING and (contact is not None or browser.device is not None):
        from contacts.selectors import contact_is_dnc, device_is_dnc

        # A named contact is read fresh; a device, from the process's view of Do-Not-Contact,
        # which PostgreSQL keeps within milliseconds of each commit (contacts/dnc_view.py).
        try:
            on_dnc = (
                contact is not None
                and (
                    contact_facts.on_dnc
                    if contact_facts is not None
                    else contact_is_dnc(contact=contact)
                )
            ) or (browser.device is not None and device_is_dnc(public_id=browser.device.device_id))
        except DatabaseError:
            objected = browser.choice is not None and browser.choice.choice is Choice.OBJECTED
            return Decision(
                surface=surface,
                store=False,
                identify=False,
                count=not objected,
                clear=False,
                reason=Reason.UNVERIFIED,
                browser=browser,
                chosen=chosen,
            )
        if on_dnc:
            return verdict(Reason.DNC)

    choice = browser.choice.choice if browser.choice else None
    if choice is Choice.OBJECTED:
        return verdict(Reason.OBJECTED, count=False)
    if choice is Choice.REFUSED:
        return verdict(Reason.REFUSED)
    if choice is Choice.GRANTED:
        if mode is Mode.ANONYMOUS:
            return verdict(Reason.MODE_ANONYMOUS)
        return verdict(Reason.GRANTED, store=True, identify=True)

    if settings.HONOR_GPC and (page_gpc or _header_on(request, "HTTP_SEC_GPC")):
        return verdict(Reason.GPC)
    if settings.HONOR_DNT and _header_on(request, "HTTP_DNT"):
        return verdict(Reason.DNT)
    if mode is Mode.ALWAYS:
        return verdict(Reason.MODE_ALWAYS, store=True, identify=True)
    if mode is Mode.ANONYMOUS:
        return verdict(Reason.MODE_ANONYMOUS)
    if contact is not None:
        from consent.selectors import consent_state

        state = (
            contact_facts.tracking_consent
            if contact_facts is not None
            else consent_state(contact=contact, purpose="tracking")
        )
        if state == "grant":
            return verdict(Reason.CONTACT_CONSENT, identify=True)
    return verdict(Reason.NO_CHOICE)
