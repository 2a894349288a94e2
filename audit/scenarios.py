"""The scenarios: what a person visits and does, surface by surface (SURFACES, played in every
mode and state) and in the six cookie problems Mautic is known for (PROBLEMS, played once per
mode), and how the browsers of the states that start with something on them (granted, refused,
Do-Not-Contact) are made.

A scenario only says what happens; its browsers (`audit.browser`) record and judge it, and the
run (`audit.run`) decides in which mode and state it is played.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from audit import rules
from audit.browser import TIMEOUT, TIMEOUT_MS, USER_AGENT, AuditBrowser, StepFailed, origin_of
from audit.host import HostSite
from audit.report import CookieSeen, ScenarioResult
from audit.rules import Action, FormFacts, Place, State
from audit.targets import EmailLinks, Fixtures, Target

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext
    from playwright.sync_api import StorageState as PlaywrightStorageState

LEGACY_VALUES = {
    "mtc_id": "42",
    "mtc_sid": "s0m3s3ss10n",
    "mautic_device_id": "abcdef0123456789",
    "mautic_referer_id": "7",
    "mautic_session_id": "f00dfeedbeef",
}


@dataclass
class ScenarioRun:
    """One scenario being played: its browsers, in one Chromium, against one tracker."""

    chromium: Browser
    tracker: str  # the tracker's origin
    site: HostSite
    fixtures: Fixtures
    prepared: dict[State, PlaywrightStorageState]  # the browser each state starts with
    result: ScenarioResult
    fresh: list[EmailLinks] = field(default_factory=list)
    browsers: list[AuditBrowser] = field(default_factory=list)
    transient: list[tuple[str, str, rules.Verdict]] = field(default_factory=list)

    def take_fresh(self) -> EmailLinks:
        return self.fresh.pop(0)

    def browser(
        self, label: str = "visitor", state: State | None = None, *, dnc: bool | None = None
    ) -> AuditBrowser:
        made = AuditBrowser(self, label, self.result.state if state is None else state, dnc=dnc)
        self.browsers.append(made)
        return made

    def links(self) -> EmailLinks:
        """The email links of the contact behind this scenario's browser."""
        fx = self.fixtures
        return (fx.dora if self.result.state is State.DNC else fx.ada).links

    def email(self) -> str:
        fx = self.fixtures
        return (fx.dora if self.result.state is State.DNC else fx.ada).email

    def finish(self) -> None:
        """Judge and close every browser of the scenario, even when one of them fails."""
        cookies: list[CookieSeen] = []
        failure: Exception | None = None
        for browser in self.browsers:
            try:
                cookies += browser.close()
            except Exception as exc:
                failure = failure or exc
        self.result.cookies = cookies
        if failure is not None:
            raise failure


# -- the scenarios ------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    id: str
    title: str
    play: Callable[[ScenarioRun], None]
    fresh: int = 0  # recipients of their own (their unsubscribe changes the contact)


def _script(run: ScenarioRun) -> None:
    b = run.browser()
    b.step("host page with the tracking script", lambda: b.host("/script", events=1))


def _script_grant(run: ScenarioRun) -> None:
    b = run.browser()
    b.step(
        "host page: mt('consent', 'grant'), then a pageview",
        lambda: b.host("/script-grant", events=2),
        actions=(Action.GRANT,),
    )


def _consent_mode(run: ScenarioRun) -> None:
    b = run.browser()
    b.step(
        "host page with Consent Mode (default: denied) and mt('consentSource', 'gcm')",
        # The pageview and the bridge's report of the default, which is no choice.
        lambda: b.host("/consent-mode", events=2),
    )
    b.step(
        "visitor accepts: gtag('consent', 'update', {analytics_storage: 'granted'})",
        lambda: _choose(b, granted=True),
        actions=(Action.GRANT,),
    )
    b.step(
        "the page again: the default (denied) once more", lambda: b.host("/consent-mode", events=2)
    )
    b.step(
        "visitor withdraws: gtag('consent', 'update', {analytics_storage: 'denied'})",
        lambda: _choose(b, granted=False),
        actions=(Action.REFUSE,),
    )


def _tcf(run: ScenarioRun) -> None:
    b = run.browser()

    def load() -> None:
        # cmpuishown is no answer: the pageview alone, once the bridge listens.
        b.host("/tcf", events=1)
        b.until(lambda: bool(b.page.evaluate("window.auditListening()")), "the TCF bridge")

    b.step("host page with a TCF v2.2 CMP (no answer yet) and mt('consentSource', 'tcf')", load)
    b.step(
        "visitor consents to purposes 1 and 8 (useractioncomplete)",
        lambda: _choose(b, granted=True),
        actions=(Action.GRANT,),
    )
    b.step(
        "the page again: the CMP reports the stored answer (tcloaded)",
        lambda: b.host("/tcf?stored=consented", events=2),
    )
    b.step(
        "visitor rejects in the CMP (useractioncomplete)",
        lambda: _choose(b, granted=False),
        actions=(Action.REFUSE,),
    )


def _choose(b: AuditBrowser, *, granted: bool) -> None:
    """The visitor answers in the host page's banner; its bridge reports the answer."""
    b.page.evaluate(f"window.auditChoose({'true' if granted else 'false'})")
    b.answered(Place.SCRIPT_EVENT)


def _banner_start(run: ScenarioRun) -> None:
    b = run.browser()
    b.step(
        "host page: a banner's start-up 'no choice yet' (revoke, not explicit), then a pageview",
        lambda: b.host("/banner-start", events=2),
    )


def _pixel(run: ScenarioRun) -> None:
    b = run.browser()

    def load() -> None:
        b.host("/pixel")
        b.answered(Place.PIXEL)

    b.step("host page with the mtracking.gif image", load)


def _link(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.links()
    b.step("email link clicked", lambda: b.visit(links.tracked))


def _forwarded(run: ScenarioRun) -> None:
    links = run.links()
    recipient = run.browser("recipient")
    recipient.step("email link clicked by the recipient", lambda: recipient.visit(links.tracked))
    # The forwardee's browser is fresh; the link still names the recipient (and their
    # Do-Not-Contact, when they are on it).
    friend = run.browser("forwardee", State.NONE, dnc=run.result.state is State.DNC)
    friend.step("the same link, forwarded, in another browser", lambda: friend.visit(links.tracked))


def _open_pixel(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.links()
    b.step("email open pixel loaded", lambda: b.visit(links.open_pixel))


def _unsubscribe_get(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.links()
    b.step("unsubscribe link opened (GET)", lambda: b.visit(links.unsubscribe))


def _unsubscribe_post(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.take_fresh()
    b.step("unsubscribe link opened (GET)", lambda: b.visit(links.unsubscribe))
    b.step(
        "“Unsubscribe” pressed (POST)",
        lambda: b.press("Unsubscribe"),
        actions=(Action.UNSUBSCRIBED,),
    )


def _resubscribe(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.take_fresh()
    one_click(links.unsubscribe)  # unsubscribed earlier, from the mail client
    b.step("resubscribe link opened (GET)", lambda: b.visit(links.resubscribe))
    b.step("“Resubscribe” pressed (POST)", lambda: b.press("Resubscribe"))


def _webview(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.links()
    b.step("web view opened", lambda: b.visit(links.webview))


# -- double opt-in confirmation and the preference page ----------------------------------


def _optin_confirm(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.links()
    b.step("double opt-in confirmation link opened (GET)", lambda: b.visit(links.confirm))
    b.step("“Confirm my subscription” pressed (POST)", lambda: b.press("Confirm my subscription"))


def _preferences(run: ScenarioRun) -> None:
    b = run.browser()
    links = run.take_fresh()
    b.step("preference page opened from the email (GET)", lambda: b.visit(links.preferences))
    b.step("“Save my preferences” pressed (POST)", lambda: b.press("Save my preferences"))


def _form(path: str, *, set_cookie: bool, kiosk: bool, tick: bool) -> Callable[[ScenarioRun], None]:
    facts = FormFacts(set_cookie=set_cookie, kiosk=kiosk, ticked=tick)

    def play(run: ScenarioRun) -> None:
        b = run.browser()
        b.step("host page with the form embed", lambda: b.open_form(path))
        email = run.email()
        b.step(
            "form submitted" + (" with the tracking box ticked" if tick else ""),
            lambda: b.submit_form(email, tick=tick),
            form=facts,
        )

    return play


def _focus(run: ScenarioRun) -> None:
    b = run.browser()
    b.step("host page with a focus item", b.focus)


def _asset(run: ScenarioRun) -> None:
    b = run.browser()

    def download() -> None:
        b.host("/asset")
        b.download()

    b.step("asset downloaded from a host page link", download)


def _landing(run: ScenarioRun) -> None:
    b = run.browser()
    slug = run.fixtures.landing
    b.step("landing page opened", lambda: b.landing(slug))


def _choices(button: str, action: Action) -> Callable[[ScenarioRun], None]:
    def play(run: ScenarioRun) -> None:
        b = run.browser()
        url = f"{b.tracker}/privacy/choices"
        b.step("privacy choices page opened", lambda: b.visit(url))
        b.step(f"“{button}” pressed", lambda: b.press(button), actions=(action,))

    return play


# -- dynamic web content ------------------------------------------------------------------


def _dwc(run: ScenarioRun) -> None:
    b = run.browser()
    url = f"{b.tracker}/dwc/{run.fixtures.dwc_slot}"

    def fill() -> None:
        b.host("/script", events=1)
        # What the tracking part of the script asks for a slot on the page (Mautic's
        # /dwc/{slot}), with the tracker's own cookies; the gate decides what it may keep.
        # The body is read, as the script reads it: only then is the request finished.
        b.page.evaluate("(u) => fetch(u, {credentials: 'include'}).then((r) => r.text())", url)
        b.answered(Place.OTHER)

    b.step("host page with the tracking script fills a dynamic-content slot (/dwc/…)", fill)


# -- gated video --------------------------------------------------------------------------

VIDEO_SECONDS = 8
_VIDEO = "document.querySelector('video')"


def _silence(seconds: int) -> bytes:
    """Seconds of silence as a WAV file: an HTML5 <video> plays it like any other source, so
    the audit needs no codec and no media file of its own."""
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(8000)
        audio.writeframes(b"\x80" * 8000 * seconds)
    return out.getvalue()


def _video(run: ScenarioRun) -> None:
    b = run.browser()
    clip = _silence(VIDEO_SECONDS)
    # The video's CDN is answered by Chromium itself: the player fetches a real file.
    b.page.route(
        run.fixtures.video,
        lambda route: route.fulfill(status=200, content_type="audio/wav", body=clip),
    )
    form = b.page.locator(".consentry-video-gate form.consentry-form")
    email = run.email()

    def at() -> float:
        return float(b.page.evaluate(f"() => {_VIDEO}.currentTime"))

    def paused() -> bool:
        return bool(b.page.evaluate(f"() => {_VIDEO}.paused"))

    def reported(since: int) -> None:
        # The player never reads the answer to its report, so Chromium never finishes the
        # request: the answer's headers (and the cookies they set) are what counts.
        b.until(
            lambda: any(
                origin_of(r.url) == b.tracker
                and rules.place_of(urlsplit(r.url).path) is Place.VIDEO_HIT
                for r in b.responses[since:]
            ),
            "the player's report answered by /video/hit",
        )

    def to_the_gate() -> None:
        since = len(b.responses)
        b.host("/video")
        b.answered(Place.VIDEO_GATE)
        b.until(lambda: bool(b.page.evaluate(f"() => {_VIDEO}.readyState >= 4")), "the video")
        # Muted, as a page may start a video without the visitor's gesture.
        b.page.evaluate(f"() => {{ const v = {_VIDEO}; v.muted = true; return v.play(); }}")
        form.wait_for(state="visible")
        b.until(paused, "the video to pause under its gate form")
        # The player reports the play when it pauses.
        reported(since)

    def submit() -> None:
        form.locator("[name=email]").fill(email)
        form.locator("button[type=submit]").click()
        b.answered(Place.FORM_SUBMIT)
        b.until(lambda: not paused(), "the video to play on")

    def pause() -> None:
        # A whole second more, so that the report carries more time watched than the last.
        since = len(b.responses)
        until = int(at()) + 1.2
        b.until(lambda: at() >= until, "another second of the video")
        b.page.evaluate(f"() => {_VIDEO}.pause()")
        reported(since)

    b.step("host page with a gated video (/video/gate.js), played up to its form", to_the_gate)
    b.step(
        "the video's form submitted, box not ticked; the video plays on",
        submit,
        form=FormFacts(set_cookie=False, kiosk=False, ticked=False),
    )
    b.step("the visitor pauses the video (/video/hit)", pause)


SURFACES: tuple[Spec, ...] = (
    Spec("script", "tracking script and its pageview event", _script),
    Spec("script-grant", "tracking script, consent grant command", _script_grant),
    Spec("consent-mode", "consent banner: Google Consent Mode through dataLayer", _consent_mode),
    Spec("tcf", "consent banner: IAB TCF v2.2 CMP (__tcfapi)", _tcf),
    Spec("banner-start", "consent banner's start-up report, no choice yet", _banner_start),
    Spec("pixel", "mtracking.gif (image on the host page)", _pixel),
    Spec("link", "email link (/r/…?ct=)", _link),
    Spec("link-forwarded", "email link, forwarded (fresh browser)", _forwarded),
    Spec("open-pixel", "email open pixel", _open_pixel),
    Spec("unsubscribe-get", "unsubscribe page (GET)", _unsubscribe_get),
    Spec("unsubscribe-post", "unsubscribe (GET, then POST)", _unsubscribe_post, fresh=1),
    Spec("resubscribe", "resubscribe (GET, then POST)", _resubscribe, fresh=1),
    Spec("web-view", "email web view", _webview),
    Spec("optin-confirm", "double opt-in confirmation (GET, then POST)", _optin_confirm),
    Spec("preferences", "email preference page (GET, then POST)", _preferences, fresh=1),
    Spec(
        "form-on-ticked",
        "form, set-cookie on, tracking box ticked",
        _form("/form-on", set_cookie=True, kiosk=False, tick=True),
    ),
    Spec(
        "form-on-unticked",
        "form, set-cookie on, box not ticked",
        _form("/form-on", set_cookie=True, kiosk=False, tick=False),
    ),
    Spec(
        "form-off-ticked",
        "form, set-cookie off, tracking box ticked",
        _form("/form-off", set_cookie=False, kiosk=False, tick=True),
    ),
    Spec(
        "form-off-unticked",
        "form, set-cookie off, box not ticked",
        _form("/form-off", set_cookie=False, kiosk=False, tick=False),
    ),
    Spec(
        "form-kiosk-ticked",
        "form, set-cookie on, kiosk embed, box ticked",
        _form("/form-kiosk", set_cookie=True, kiosk=True, tick=True),
    ),
    Spec("focus", "focus item script and view pixel", _focus),
    Spec("asset", "asset download", _asset),
    Spec("landing", "landing page", _landing),
    Spec("choices-grant", "privacy choices page, grant", _choices("Allow tracking", Action.GRANT)),
    Spec(
        "choices-refuse", "privacy choices page, refuse", _choices("Refuse tracking", Action.REFUSE)
    ),
    Spec("dwc", "dynamic web content: the script asks /dwc/{slot}", _dwc),
    Spec("video", "gated video: the player script, its form and /video/hit", _video),
)


def _problem_1(run: ScenarioRun) -> None:
    # The browser keeps its cookies from one step to the next: stricter than a clean start for
    # each, since the unsubscribe page must then also expire what the link set.
    b = run.browser()
    links = run.take_fresh()
    b.step("regular link opened", lambda: b.visit(links.tracked))
    b.step("unsubscribe link opened (GET)", lambda: b.visit(links.unsubscribe))
    b.step(
        "“Unsubscribe” pressed (POST)",
        lambda: b.press("Unsubscribe"),
        actions=(Action.UNSUBSCRIBED,),
    )
    b.step("regular link opened once again", lambda: b.visit(links.tracked))


def _problem_4(run: ScenarioRun) -> None:
    # First bare, with no page (the tracker answers 400 and counts nothing), then as a page's
    # no-script fallback asks for it, naming the page.
    b = run.browser()
    bare = f"{b.tracker}/mtracking.gif"
    page = quote(run.site.origin + "/no-script", safe="")
    b.step("mtracking.gif loaded", lambda: b.visit(bare))
    b.step("mtracking.gif loaded for a page", lambda: b.visit(f"{bare}?page_url={page}"))


def _problem_5(run: ScenarioRun) -> None:
    # The plain contact form, then the set-cookie form without its box ticked: neither asks
    # the visitor anything, so neither may set a cookie.
    b = run.browser()
    email = run.email()

    def embedded(path: str) -> Callable[[], None]:
        return lambda: b.open_form(path)

    for path, facts in (
        ("/form-off", FormFacts(set_cookie=False, kiosk=False, ticked=False)),
        ("/form-on", FormFacts(set_cookie=True, kiosk=False, ticked=False)),
    ):
        switch = "on" if facts.set_cookie else "off"
        b.step(f"form (set-cookie {switch}) embedded", embedded(path))
        b.step(
            f"form (set-cookie {switch}) submitted",
            lambda: b.submit_form(email, tick=False),
            form=facts,
        )


def _problem_6(run: ScenarioRun) -> None:
    b = run.browser()
    b.carry(LEGACY_VALUES)
    b.step("host page with the tracking script", lambda: b.host("/script", events=1))


PROBLEMS: tuple[Spec, ...] = (
    Spec("rfc-1", "Problem 1: link, unsubscribe, link again", _problem_1, fresh=1),
    Spec("rfc-2", "Problem 2: the forwarded email", _forwarded),
    Spec("rfc-3", "Problem 3: the focus item", _focus),
    Spec("rfc-4", "Problem 4: mtracking.gif", _problem_4),
    Spec("rfc-5", "Problem 5: a form submission", _problem_5),
    Spec("rfc-6", "Problem 6: Mautic's legacy cookies", _problem_6),
)


# -- outside the browser, and before the scenarios ----------------------------------------


def one_click(unsubscribe: str) -> None:
    """RFC 8058 one-click unsubscribe, as a mail client sends it: no browser, no cookie."""
    request = urllib.request.Request(  # noqa: S310 (the tracker's own unsubscribe URL)
        unsubscribe,
        data=b"List-Unsubscribe=One-Click",
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise StepFailed(f"one-click unsubscribe failed: {exc}") from exc


def _context(chromium: Browser, site: HostSite) -> BrowserContext:
    context = chromium.new_context(user_agent=USER_AGENT)
    context.set_default_timeout(TIMEOUT_MS)
    site.attach(context)
    return context


def states_prepare(
    *, chromium: Browser, target: Target, site: HostSite, fixtures: Fixtures
) -> dict[State, PlaywrightStorageState]:
    """The browsers of the states that start with something on them, made through the
    product's own pages."""
    tracker = origin_of(target.base_url)
    prepared: dict[State, PlaywrightStorageState] = {}
    with target.preparing():
        for state, button in (
            (State.GRANTED, "Allow tracking"),
            (State.REFUSED, "Refuse tracking"),
        ):
            context = _context(chromium, site)
            try:
                page = context.new_page()
                page.goto(f"{tracker}/privacy/choices")
                with page.expect_navigation():
                    page.get_by_role("button", name=button).click()
                prepared[state] = context.storage_state()
            finally:
                context.close()
        # Dora granted with the set-cookie form, which tied her browser's device to her.
        context = _context(chromium, site)
        try:
            page = context.new_page()
            page.goto(site.origin + "/form-on")
            form = page.locator("form.consentry-form")
            form.locator("[name=email]").fill(fixtures.dora.email)
            form.locator("input[name=track]").check()
            with page.expect_response(lambda r: "/form/submit" in r.url) as answer:
                form.locator("button[type=submit]").click()
            answer.value.finished()
            prepared[State.DNC] = context.storage_state()
        finally:
            context.close()
    # Then she unsubscribed from her mail client: Do-Not-Contact.
    one_click(fixtures.dora.links.unsubscribe)
    return prepared
