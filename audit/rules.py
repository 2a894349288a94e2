"""What the audit expects, written down from the gate's rules, independently of its code.

| cookie | may be written |
| --- | --- |
| `consentry_device` | only with a permit, and never by a surface that cannot store |
| `consentry_consent` | only where the visitor made a choice, or as a refusal for Do-Not-Contact |
| `consentry_focus_{id}` | only by the view pixel of that focus item, once shown (functional) |
| `mtc_id`, `mtc_sid`, `mautic_*` | never; expired by the end of every scenario (cookie problem 6) |
| any other name | never |
| localStorage, sessionStorage, IndexedDB | never, on the host page's origin or the tracker's |

- A *permit* (docs/architecture.md, "The gate", strongest first): none in mode `off`; none while
  the contact behind the email link, the form's email or the browser's device is on
  Do-Not-Contact, whatever the browser granted, for the rest of the scenario; none in mode
  `anonymous`; a grant (made in the scenario or already on the browser) in mode `consent` or
  `always`; none after a refusal or with GPC (`Sec-GPC: 1`); mode `always` otherwise.
- The device cookie must also be gone after any step without a permit, and after an
  unsubscribe, resubscribe or web-view page whatever the permit (they expire it).
- Surfaces that *cannot store* the device cookie: the email open pixel (an email client is not
  the browser that consented), the unsubscribe, resubscribe and web-view pages, the privacy
  choices page; a form whose set-cookie switch is off, or embedded as a kiosk (cookie problem 5).
- A *choice*: a button of the privacy-choices page, the script's consent command, a form's
  tracking box ticked with the set-cookie switch on and not as a kiosk. Without one, the
  consent cookie may only be written to say "refused" (read from its value, whose payload is
  signed, not hidden) for a browser whose contact is on Do-Not-Contact: unsubscribing withdrew
  the contact's consent, and the browser must remember it.

Nothing here imports `consent.gate`, `consent.cookies` or `consent.registry`: if the gate (or
the registry it trusts) were wrong, an audit that asked the gate what is permitted would agree
with it and pass. These rules are the second opinion; the gate's reason codes are only shown.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
import zlib
from dataclasses import dataclass

DEVICE = "consentry_device"
CONSENT = "consentry_consent"
# One functional cookie per focus item, "consentry_focus_7" (a single "consentry_focus" for
# every item is accepted from a view pixel too: it holds no identifier either).
FOCUS = re.compile(r"^consentry_focus(?:_(\d+))?$")
_FOCUS_VIEW = re.compile(r"^/focus/(\d+)/viewpixel\.gif$")
# Mautic's own cookies, and the consent cookie once proposed for Mautic: this product writes
# none of them and expires each on sight.
LEGACY = (
    "mautic_consent",
    "mautic_device_id",
    "mautic_referer_id",
    "mautic_session_id",
    "mtc_id",
    "mtc_sid",
)


class Mode(enum.StrEnum):
    OFF = "off"
    ANONYMOUS = "anonymous"
    CONSENT = "consent"
    ALWAYS = "always"


MODES = (Mode.OFF, Mode.ANONYMOUS, Mode.CONSENT, Mode.ALWAYS)


class State(enum.StrEnum):
    """What the browser (or the contact behind it) said before the scenario starts."""

    NONE = "none"
    GRANTED = "granted"
    REFUSED = "refused"
    GPC = "gpc"
    DNC = "dnc"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    State.NONE: "no choice",
    State.GRANTED: "granted",
    State.REFUSED: "refused",
    State.GPC: "GPC (Sec-GPC: 1)",
    State.DNC: "Do-Not-Contact",
}
STATES = (State.NONE, State.GRANTED, State.REFUSED, State.GPC, State.DNC)


class Place(enum.StrEnum):
    """Where on the tracker a response came from, by its path (never by what the gate said)."""

    SCRIPT_FILE = "mtc.js"
    SCRIPT_EVENT = "/mtc/event"
    PIXEL = "mtracking.gif"
    OPEN_PIXEL = "email open pixel"
    LINK = "email link /r/"
    UNSUBSCRIBE = "unsubscribe page"
    RESUBSCRIBE = "resubscribe page"
    WEB_VIEW = "email web view"
    EMAIL_CONFIRM = "double opt-in confirmation page"
    PREFERENCES = "email preference page"
    FORM_PAGE = "form embed"
    FORM_SUBMIT = "form submission"
    FOCUS_SCRIPT = "focus item script"
    FOCUS_VIEW = "focus view pixel"
    ASSET = "asset download"
    LANDING = "landing page"
    CHOICES = "privacy choices page"
    VIDEO_SCRIPT = "video player script"
    VIDEO_GATE = "video gate /video/gate"
    VIDEO_HIT = "video hit /video/hit"
    STATIC = "static file"
    # A cookie that appeared in the jar without any Set-Cookie header: page JavaScript.
    PAGE_SCRIPT = "page JavaScript"
    OTHER = "other tracker URL"


_PLACES: tuple[tuple[re.Pattern[str], Place], ...] = tuple(
    (re.compile(pattern), place)
    for pattern, place in (
        (r"^/mtc\.js$", Place.SCRIPT_FILE),
        (r"^/mtc/event$", Place.SCRIPT_EVENT),
        (r"^/mtracking\.gif$", Place.PIXEL),
        (r"^/email/unsubscribe/", Place.UNSUBSCRIBE),
        (r"^/email/resubscribe/", Place.RESUBSCRIBE),
        (r"^/email/view/", Place.WEB_VIEW),
        (r"^/email/confirm/", Place.EMAIL_CONFIRM),
        (r"^/email/preferences/", Place.PREFERENCES),
        (r"^/email/[^/]+\.gif$", Place.OPEN_PIXEL),
        (r"^/r/", Place.LINK),
        (r"^/form/submit$", Place.FORM_SUBMIT),
        (r"^/form/", Place.FORM_PAGE),
        (r"^/focus/[^/]+/viewpixel\.gif$", Place.FOCUS_VIEW),
        (r"^/focus/", Place.FOCUS_SCRIPT),
        (r"^/asset/", Place.ASSET),
        (r"^/p/", Place.LANDING),
        (r"^/privacy/", Place.CHOICES),
        (r"^/video/gate\.js$", Place.VIDEO_SCRIPT),
        (r"^/video/gate$", Place.VIDEO_GATE),
        (r"^/video/hit$", Place.VIDEO_HIT),
        (r"^/static/", Place.STATIC),
    )
)


def place_of(path: str) -> Place:
    for pattern, place in _PLACES:
        if pattern.search(path):
            return place
    return Place.OTHER


# The gate's first rule (docs/architecture.md, "The gate") and the surfaces that cannot store
# (email clients, the choices page).
# An email's own pages (a recipient's or a subscriber's, reached from a mail client): the
# unsubscribe, resubscribe, web-view, double opt-in confirmation and preference pages.
NO_TRACKING = frozenset(
    {
        Place.UNSUBSCRIBE,
        Place.RESUBSCRIBE,
        Place.WEB_VIEW,
        Place.EMAIL_CONFIRM,
        Place.PREFERENCES,
    }
)
NEVER_STORES_DEVICE = NO_TRACKING | {Place.OPEN_PIXEL, Place.CHOICES}
# Where a visitor's choice arrives; a consent cookie from anywhere else was not asked for.
CHOICE_PLACES = frozenset({Place.CHOICES, Place.SCRIPT_EVENT, Place.FORM_SUBMIT})


class Action(enum.StrEnum):
    """What a visitor does in a step that changes what is permitted from then on."""

    GRANT = "grant"  # choices page, the script's consent command, a form's box that counts
    REFUSE = "refuse"
    UNSUBSCRIBED = "unsubscribed"  # the contact behind this browser is now on Do-Not-Contact


@dataclass(frozen=True, slots=True)
class FormFacts:
    set_cookie: bool  # the form's set-cookie-on-submission switch
    kiosk: bool
    ticked: bool  # the tracking-consent box

    @property
    def may_set_cookie(self) -> bool:
        """Only a form whose switch is on, never as a kiosk: a plain contact form, or a shared
        kiosk screen, must not leave a tracking cookie behind."""
        return self.set_cookie and not self.kiosk

    def actions(self) -> tuple[Action, ...]:
        # A tick on a form that may not set cookies is recorded on the contact, not on the
        # browser: it is no choice of this browser's.
        return (Action.GRANT,) if self.ticked and self.may_set_cookie else ()


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    why: str


@dataclass(slots=True)
class Visitor:
    """What the rules know about one browser in one scenario, updated step by step."""

    mode: Mode
    choice: Action | None = None  # Action.GRANT or Action.REFUSE: the latest explicit choice
    gpc: bool = False
    dnc: bool = False  # the contact behind the browser, link or form is on Do-Not-Contact

    @classmethod
    def starting(cls, mode: Mode, state: State) -> Visitor:
        return cls(
            mode=mode,
            # The Do-Not-Contact browser had granted before its contact unsubscribed.
            choice={
                State.GRANTED: Action.GRANT,
                State.REFUSED: Action.REFUSE,
                State.DNC: Action.GRANT,
            }.get(state),
            gpc=state is State.GPC,
            dnc=state is State.DNC,
        )

    def apply(self, actions: tuple[Action, ...]) -> bool:
        """Take the step's actions into account; returns whether a choice was made."""
        chose = False
        for action in actions:
            if action is Action.UNSUBSCRIBED:
                self.dnc = True
            else:
                self.choice, chose = action, True
        return chose

    def device_permit(self) -> Verdict:
        """May this browser hold the device cookie now? The gate's rules, in order,
        without the surface (see `judge_write`)."""
        mode = f"mode {self.mode}"
        if self.mode is Mode.OFF:
            return Verdict(False, "mode off stores nothing")
        if self.dnc:
            return Verdict(False, "the contact is on Do-Not-Contact")
        if self.choice is Action.GRANT:
            if self.mode is Mode.ANONYMOUS:
                return Verdict(False, "mode anonymous stores no identifier, even with a grant")
            return Verdict(True, f"granted, {mode}")
        if self.choice is Action.REFUSE:
            return Verdict(False, "refused")
        if self.gpc:
            return Verdict(False, "GPC without a grant")
        if self.mode is Mode.ALWAYS:
            return Verdict(True, "mode always, no refusal, GPC or Do-Not-Contact")
        return Verdict(False, f"no grant in {mode}")


def judge_write(
    name: str,
    place: Place,
    visitor: Visitor,
    *,
    chose: bool,
    form: FormFacts | None,
    path: str = "",
    value: str = "",
) -> Verdict:
    """May `place` (at `path`) write cookie `name` (with `value`) for this visitor, in a step
    where `chose` says whether the visitor made a choice and `form` describes the form
    submitted (if any)?"""
    if name == DEVICE:
        if place in NEVER_STORES_DEVICE:
            return Verdict(False, f"the {place} never stores a device cookie")
        if place is Place.PAGE_SCRIPT:
            return Verdict(False, "written by page JavaScript, not by the tracker")
        if place is Place.FORM_SUBMIT and form is not None and not form.may_set_cookie:
            kind = "a kiosk embed" if form.kiosk else "a form whose set-cookie switch is off"
            return Verdict(False, f"{kind} sets no cookie (cookie problem 5)")
        return visitor.device_permit()
    if name == CONSENT:
        if chose and place in CHOICE_PLACES:
            return Verdict(True, "the visitor made a choice")
        said = consent_says(value)
        if visitor.dnc and said == "r":
            return Verdict(True, "a refusal remembered for Do-Not-Contact")
        if said == "r" and place in NO_TRACKING:
            return Verdict(False, f"the {place} wrote a refusal nobody asked for")
        return Verdict(False, "no choice was made here")
    focus = FOCUS.match(name)
    if focus is not None:
        if place is not Place.FOCUS_VIEW:
            return Verdict(False, "only a shown focus item may remember that it was shown")
        shown = _FOCUS_VIEW.match(path)
        if focus.group(1) and shown is not None and shown.group(1) != focus.group(1):
            return Verdict(False, f"written by the view pixel of focus item {shown.group(1)}")
        return Verdict(True, "a focus item was shown (functional, no identifier)")
    if name in LEGACY:
        return Verdict(False, "Mautic's legacy cookie (cookie problem 6)")
    return Verdict(False, "not a cookie the design allows")


def consent_says(value: str) -> str | None:
    """The choice a consent cookie's value states ("g", "r", "o"), read without its key:
    Django's signed values carry a readable base64 payload (zlib-compressed when it starts
    with a dot) before the first colon. None when it does not read as one."""
    payload = value.strip('"').split(":", 1)[0]
    compressed = payload.startswith(".")
    try:
        raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload) % 4))
        data = json.loads(zlib.decompress(raw) if compressed else raw)
    except (ValueError, binascii.Error, zlib.error):
        return None
    choice = data.get("s") if isinstance(data, dict) else None
    return choice if isinstance(choice, str) else None


def judge_held(name: str, visitor: Visitor, *, places: frozenset[Place]) -> Verdict | None:
    """Is a cookie the browser holds after a step that reached `places` a problem? None when
    the cookie is no concern of this check (its write was judged on its own)."""
    if name != DEVICE:
        return None
    no_tracking = sorted(places & NO_TRACKING)
    if no_tracking:
        return Verdict(False, f"the {no_tracking[0]} must expire it")
    permit = visitor.device_permit()
    if permit.ok:
        return permit
    return Verdict(False, f"kept without a permit: {permit.why}")


def judge_end(name: str) -> Verdict | None:
    """A cookie still held when the scenario ends."""
    if name in LEGACY:
        return Verdict(False, "Mautic's legacy cookie was not expired (cookie problem 6)")
    return None


def table() -> str:
    """The table and its definitions, as this module's docstring states them."""
    lines = (__doc__ or "").splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("| cookie")), len(lines))
    end = next((i for i, line in enumerate(lines) if line.startswith("Nothing here")), len(lines))
    return "\n".join(lines[start:end]).strip()


def why_preset(name: str, state: State) -> str:
    if name == CONSENT:
        return f"already on the browser ({state.label})"
    if name == DEVICE:
        return f"already on the browser ({state.label})"
    return "already on the browser"
