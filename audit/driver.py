"""Drives one Chromium (Playwright for Python) through every scenario and writes down what each
browser ends up holding, judged by `audit.rules`.

Playwright is an optional extra: it is imported inside `run_audit`, never at module level, so
the rest of the product (and `manage.py help`) works without it.

How a scenario is observed:
- every response from the tracker's origin: its `X-Consentry-Decision` (the gate's reason code,
  shown in the report, never used to judge) and its `Set-Cookie` headers (each write is judged
  where it happened, by the response's path);
- the browser's cookie jar after every step (a cookie that appears without a Set-Cookie header
  was written by page JavaScript);
- at the end, localStorage, sessionStorage and IndexedDB of the host page's origin and the
  tracker's, read in the scenario's own tab: on the page still showing that origin, or on a
  page Chromium answers itself (so that reading sends nothing to the tracker and changes no
  cookie).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from audit import rules
from audit.report import AuditResult, CookieSeen, Finding, ScenarioResult, StepRecord
from audit.rules import MODES, STATES, Action, FormFacts, Mode, Place, State, Visitor
from audit.targets import EmailLinks, Fixtures, Target

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Cookie, Page, Request, Response
    from playwright.sync_api import StorageState as PlaywrightStorageState

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A desktop Chrome: headless Chromium's own user agent reads as a robot, and robots are never
# given a device, which would hide exactly the writes the audit looks for.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
TIMEOUT = 10.0
TIMEOUT_MS = int(TIMEOUT * 1000)
LOOPBACK = ("localhost", "127.0.0.1")
# Answered by Chromium itself in the scenario's tab, to read an origin's storage.
PROBE = "/__consentry_cookie_audit_probe__"
LEGACY_VALUES = {
    "mtc_id": "42",
    "mtc_sid": "s0m3s3ss10n",
    "mautic_device_id": "abcdef0123456789",
    "mautic_referer_id": "7",
    "mautic_session_id": "f00dfeedbeef",
}


class AuditSetupError(RuntimeError):
    """Chromium or Playwright is missing, or the target could not be prepared."""


class StepFailed(RuntimeError):
    """A step did not happen as scripted (a timeout, a failed request)."""


# -- the host site ------------------------------------------------------------------------

HOST_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><h1>{title}</h1>{body}<p>The host page's own content.</p></body>
</html>
"""
BLANK = HOST_PAGE.format(title="Offer", head="", body="<p>A blank page.</p>")
# The Mautic-style embed snippet that site owners paste (as quoted in the RFC).
SNIPPET = """<script>
(function(w,d,t,u,n,a,m){{w['MauticTrackingObject']=n;
 w[n]=w[n]||function(){{(w[n].q=w[n].q||[]).push(arguments)}},a=d.createElement(t),
 m=d.getElementsByTagName(t)[0];a.async=1;a.src=u;m.parentNode.insertBefore(a,m)
}})(window,document,'script','{tracker}/mtc.js','mt');
{commands}
</script>"""


class HostSite:
    """The customer's website: another origin of the same site as the tracker (same host,
    another port), served by a small HTTP server of the audit's own. Against a deployment,
    `public` names a site the deployment tracks: on loopback, the audit serves it on that very
    port; elsewhere Chromium answers that origin's pages itself, with the same HTML (such pages
    count as public to Chromium, whose local-network rules then refuse a tracker on loopback
    or a private network). Email links always lead to the local server's blank page."""

    def __init__(self, host: str, public: str | None = None) -> None:
        self.pages: dict[str, bytes] = {"/blank": BLANK.encode()}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(urlsplit(self.path).path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # a quiet server: the report is the output

        wanted = urlsplit(public) if public else None
        loopback = wanted is not None and wanted.hostname in LOOPBACK
        port = (wanted.port or 80) if wanted is not None and loopback else 0
        bind = wanted.hostname if wanted is not None and loopback else host
        self.server = ThreadingHTTPServer((bind or host, port), Handler)
        self.server.daemon_threads = True
        self.local = f"http://{bind}:{self.server.server_address[1]}"
        self.origin = self.local if public is None or loopback else public.rstrip("/")
        self.routed = self.origin != self.local
        self.blank = f"{self.local}/blank"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()

    def serve(self, path: str, page: str) -> str:
        self.pages[path] = page.encode()
        return self.origin + path

    def attach(self, context: BrowserContext) -> None:
        if not self.routed:
            return
        pages = self.pages

        def answer(route: Any) -> None:
            body = pages.get(urlsplit(route.request.url).path)
            if body is None:
                route.fulfill(status=404, body="")
            else:
                route.fulfill(status=200, content_type="text/html; charset=utf-8", body=body)

        context.route(f"{self.origin}/**", answer)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def publish_pages(site: HostSite, tracker: str, fx: Fixtures) -> None:
    """The host site's pages, each embedding one surface the way site owners do."""

    def page(path: str, title: str, *, head: str = "", body: str = "") -> None:
        site.serve(path, HOST_PAGE.format(title=title, head=head, body=body))

    page(
        "/script",
        "Pricing",
        head=SNIPPET.format(tracker=tracker, commands="mt('send', 'pageview');"),
    )
    page(
        "/script-grant",
        "Welcome",
        head=SNIPPET.format(
            tracker=tracker, commands="mt('consent', 'grant');\nmt('send', 'pageview');"
        ),
    )
    pixel = f"{tracker}/mtracking.gif?page_url={quote(site.origin + '/pixel', safe='')}"
    page("/pixel", "No script", body=f'<img src="{pixel}" width="1" height="1" alt="">')
    for path, form, kiosk in (
        ("/form-on", fx.form_on, False),
        ("/form-off", fx.form_off, False),
        ("/form-kiosk", fx.form_on, True),
    ):
        query = f"id={form}" + ("&kiosk=1" if kiosk else "")
        page(path, "Contact", body=f'<script src="{tracker}/form/generate.js?{query}"></script>')
    page("/focus", "Sale", body=f'<script src="{tracker}/focus/{fx.focus}.js" async></script>')
    page(
        "/asset",
        "Downloads",
        body=f'<p><a id="download" href="{tracker}/asset/{fx.asset}">The brochure</a></p>',
    )


# -- one browser in one scenario ----------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _set_cookies(header: str) -> list[tuple[str, str, bool]]:
    """(name, value, sets a value) for each cookie of a Set-Cookie header (Chromium joins
    several with newlines)."""
    found = []
    for line in header.split("\n"):
        if "=" not in line:
            continue
        name, rest = line.split("=", 1)
        attributes = line.lower().replace(" ", "")
        expired = ";max-age=0" in attributes or "expires=thu,01jan197000:00:00" in attributes
        found.append((name.strip(), rest.split(";", 1)[0].strip(), not expired))
    return found


CookieKey = tuple[str, str, str]  # name, domain, path


def _jar(context: BrowserContext) -> dict[CookieKey, Cookie]:
    return {(c["name"], c["domain"], c["path"]): c for c in context.cookies()}


@dataclass
class _Seen:
    cookie: Cookie
    days: int | None
    preset: bool
    why: str = ""
    permitted: bool = True
    rewritten: bool = False


def _keeper(places: list[Place]) -> Place:
    """The surface to blame for a cookie kept: a no-tracking page if the step reached one
    (it must expire it), else the last surface that could have expired it."""
    deciding = [p for p in places if p not in (Place.STATIC, Place.SCRIPT_FILE)]
    return next((p for p in deciding if p in rules.NO_TRACKING), None) or (
        deciding[-1] if deciding else Place.OTHER
    )


def _answer_probe(route: Any) -> None:
    route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>probe")


class AuditBrowser:
    """One person's browser (a fresh Chromium context) with one tab, whose every step is
    recorded and judged."""

    def __init__(
        self, run: ScenarioRun, label: str, state: State, *, dnc: bool | None = None
    ) -> None:
        auditor = run.auditor
        self.run = run
        self.label = label
        self.state = state
        self.tracker = auditor.tracker
        self.visitor = Visitor.starting(run.result.mode, state)
        if dnc is not None:
            self.visitor.dnc = dnc
        self.context = auditor.chromium.new_context(
            user_agent=USER_AGENT,
            storage_state=auditor.prepared.get(state),
            extra_http_headers={"Sec-GPC": "1"} if state is State.GPC else None,
            accept_downloads=True,
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        auditor.site.attach(self.context)
        self.page: Page = self.context.new_page()
        self.responses: list[Response] = []
        self.finished: list[Request] = []
        self.failed: list[Request] = []
        # Playwright needs Python callables of its own making here, not bound built-ins.
        self.context.on("response", lambda response: self.responses.append(response))
        self.context.on("requestfinished", lambda request: self.finished.append(request))
        self.context.on("requestfailed", lambda request: self.failed.append(request))
        # Origins this tab showed a document of (any frame): the only ones that can store.
        self.documents: set[str] = set()
        self.page.on("framenavigated", lambda frame: self.documents.add(_origin(frame.url)))
        self.seen: dict[CookieKey, _Seen] = {}
        self._note_jar(_jar(self.context), preset=True)
        self._step_start = 0
        self._failed_start = 0

    # -- what the browser holds -----------------------------------------------------------

    def carry(self, cookies: dict[str, str]) -> None:
        """Cookies this browser already holds for the tracker's host (before any step)."""
        self.context.add_cookies(
            [{"name": name, "value": value, "url": self.tracker} for name, value in cookies.items()]
        )
        self._note_jar(_jar(self.context), preset=True)

    def _note_jar(self, jar: dict[CookieKey, Cookie], *, preset: bool) -> None:
        now = time.time()
        for key, cookie in jar.items():
            seen = self.seen.get(key)
            if seen is not None:
                # The same name with another value: the cookie was written again.
                seen.rewritten = seen.rewritten or seen.cookie["value"] != cookie["value"]
                seen.cookie = cookie
                continue
            expires = cookie.get("expires", -1)
            days = None if expires is None or expires < 0 else round((expires - now) / 86400)
            self.seen[key] = _Seen(cookie=cookie, days=days, preset=preset)

    # -- steps ----------------------------------------------------------------------------

    def step(
        self,
        label: str,
        do: Callable[[], None],
        *,
        actions: tuple[Action, ...] = (),
        form: FormFacts | None = None,
    ) -> None:
        """Do one thing a person does, then judge what it wrote and what the browser kept."""
        before = _jar(self.context)
        start = len(self.responses)
        self._step_start = len(self.finished)
        self._failed_start = len(self.failed)
        do()
        after = _jar(self.context)
        responses = self.responses[start:]
        chose = self.visitor.apply(actions + (form.actions() if form else ()))
        result = self.run.result

        places: list[Place] = []  # in the order the tracker answered
        reasons: list[str] = []
        # cookie name, where, the response's path, the value written
        writes: list[tuple[str, Place, str, str]] = []
        unreadable = False
        server_errors: list[str] = []
        for response in responses:
            if _origin(response.url) != self.tracker:
                continue
            path = urlsplit(response.url).path
            place = rules.place_of(path)
            places.append(place)
            if response.status >= 500:
                # An error page decides nothing: the step did not happen as a visitor's would.
                server_errors.append(f"HTTP {response.status} from {path}")
            try:
                headers = response.headers_array()
            except Exception:  # a response Chromium dropped (a cancelled download, say)
                unreadable = True
                continue
            for header in headers:
                name = header["name"].lower()
                if name == "x-consentry-decision":
                    reasons.append(header["value"])
                elif name == "set-cookie":
                    writes.extend(
                        (cookie, place, path, value)
                        for cookie, value, sets in _set_cookies(header["value"])
                        if sets and (cookie, place, path, value) not in writes
                    )
        # A cookie that changed in the jar without any Set-Cookie header naming it.
        written = {name for name, _, _, _ in writes}
        for key, cookie in after.items():
            old = before.get(key)
            changed = old is None or (old["value"], old["expires"]) != (
                cookie["value"],
                cookie["expires"],
            )
            if changed and key[0] not in written:
                writes.append(
                    (key[0], Place.OTHER if unreadable else Place.PAGE_SCRIPT, "", cookie["value"])
                )
                written.add(key[0])

        # Cookies new in the jar are noted first, so that each write's verdict lands on them.
        self._note_jar(after, preset=False)
        flagged: set[str] = set()
        for name, place, path, value in writes:
            verdict = rules.judge_write(
                name, place, self.visitor, chose=chose, form=form, path=path, value=value
            )
            self._why(name, verdict)
            if not verdict.ok:
                flagged.add(name)
                self._finding(label, name, str(place), "written", verdict.why)
        for key in after:
            name = key[0]
            held = rules.judge_held(name, self.visitor, places=frozenset(places))
            if held is None or name in flagged:
                continue
            self._why(name, held)
            if not held.ok:
                self._finding(label, name, str(_keeper(places)), "kept", held.why)
        result.steps.append(
            StepRecord(
                browser=self.label,
                label=label,
                reasons=tuple(reasons),
                writes=tuple(f"{name} at {place}" for name, place, _, _ in writes),
                held=tuple(sorted({key[0] for key in after})),
            )
        )
        if server_errors:
            raise StepFailed(f"the tracker failed: {server_errors[0]}")

    def _why(self, name: str, verdict: rules.Verdict) -> None:
        for key, seen in self.seen.items():
            if key[0] == name and seen.permitted:
                seen.why, seen.permitted = verdict.why, verdict.ok
        if not any(key[0] == name for key in self.seen):
            # Written and gone within the step: remember the verdict for the report anyway.
            self.run.transient.append((self.label, name, verdict))

    def _finding(self, step: str, subject: str, place: str, kind: str, rule: str) -> None:
        result = self.run.result
        finding = Finding(
            scenario=result.id,
            mode=str(result.mode),
            state=result.state.label,
            surface=result.surface,
            browser=self.label,
            step=step,
            subject=subject,
            place=place,
            kind=kind,
            rule=rule,
        )
        if finding not in result.findings:
            result.findings.append(finding)

    # -- waiting, event-driven -----------------------------------------------------------

    def until(self, check: Callable[[], bool], what: str) -> None:
        """Wait for `check`, letting Playwright deliver its events meanwhile (it only does so
        while it is called): short waits in the page, never a fixed sleep."""
        deadline = time.monotonic() + TIMEOUT
        while not check():
            failed = [
                r.url
                for r in self.failed[self._failed_start :]
                if _origin(r.url) == self.tracker and "/asset/" not in r.url
            ]
            if failed:
                raise StepFailed(f"request failed while waiting for {what}: {failed[0]}")
            if time.monotonic() > deadline:
                raise StepFailed(f"timed out waiting for {what}")
            self.page.wait_for_timeout(15)

    def answered(self, place: Place, count: int = 1) -> None:
        """Wait until `count` requests to `place` on the tracker were answered in this step."""

        def done() -> bool:
            hits = [
                r
                for r in self.finished[self._step_start :]
                if _origin(r.url) == self.tracker and rules.place_of(urlsplit(r.url).path) is place
            ]
            return len(hits) >= count

        self.until(done, f"{count} answered request(s) to the {place}")

    # -- what people do -------------------------------------------------------------------

    def visit(self, url: str) -> None:
        self.page.goto(url)

    def host(self, path: str, *, events: int = 0) -> None:
        """Open a page of the host site and wait for its tracking script's `events`."""
        self.page.goto(self.run.auditor.site.origin + path)
        if events:
            self.answered(Place.SCRIPT_EVENT, events)

    def press(self, button: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button).click()

    def open_form(self, path: str) -> None:
        self.page.goto(self.run.auditor.site.origin + path)
        self.page.wait_for_selector("form.consentry-form", state="visible")

    def submit_form(self, email: str, *, tick: bool) -> None:
        form = self.page.locator("form.consentry-form")
        form.locator("[name=email]").fill(email)
        if tick:
            form.locator("input[name=track]").check()
        form.locator("button[type=submit]").click()
        self.answered(Place.FORM_SUBMIT)

    def download(self) -> None:
        with self.page.expect_download() as started:
            self.page.click("#download")
        started.value.path()  # waits until the whole file has arrived

    def landing(self, slug: str) -> None:
        self.page.goto(f"{self.tracker}/p/{slug}")
        # The page carries the tracking script only when the gate lets it count.
        if self.page.locator("script[data-src]").count():
            self.answered(Place.SCRIPT_EVENT)

    def focus(self) -> None:
        self.page.goto(self.run.auditor.site.origin + "/focus")
        self.answered(Place.FOCUS_VIEW)

    # -- the end --------------------------------------------------------------------------

    def storage(self) -> list[tuple[str, str]]:
        """Every storage entry of the tracker's origin and the host page's, as this tab sees
        them (sessionStorage is per tab and survives navigation within it).

        Only a document of an origin can store anything for it, so only the origins this
        tab (or a frame in it) showed a document of are read: on the page still showing it,
        or on a page Chromium answers itself in this tab."""
        found: list[tuple[str, str]] = []  # (what and key, whose origin)
        origins = (("tracker", self.tracker), ("host page", self.run.auditor.site.origin))
        routed = False
        for who, origin in origins:
            if origin not in self.documents:
                continue
            if _origin(self.page.url) != origin:
                if not routed:
                    self.page.route(f"**{PROBE}", _answer_probe)
                    routed = True
                self.page.goto(origin + PROBE)
            held: dict[str, list[str]] = self.page.evaluate(
                """async () => ({
                    localStorage: Object.keys(localStorage),
                    sessionStorage: Object.keys(sessionStorage),
                    IndexedDB: indexedDB.databases
                        ? (await indexedDB.databases()).map((db) => db.name) : [],
                })"""
            )
            for kind, keys in sorted(held.items()):
                found += [(f"{kind} `{key}`", f"{who}'s origin") for key in sorted(keys)]
        return found

    def close(self) -> list[CookieSeen]:
        """The cookies this browser held at any point, judged; then the browser is closed."""
        result = self.run.result
        held = _jar(self.context)
        for key in held:
            verdict = rules.judge_end(key[0])
            if verdict is not None and not verdict.ok:
                self._why(key[0], verdict)
                self._finding(
                    "end of the scenario", key[0], "end of the scenario", "kept", verdict.why
                )
        try:
            entries = self.storage()
        finally:
            self.context.close()
        for entry, origin in entries:
            result.findings.append(
                Finding(
                    scenario=result.id,
                    mode=str(result.mode),
                    state=result.state.label,
                    surface=result.surface,
                    browser=self.label,
                    step="end of the scenario",
                    subject=entry,
                    place=origin,
                    kind="stored",
                    rule="no storage entry is ever permitted",
                )
            )
            result.storage.append(f"{self.label}: {entry} on the {origin}")
        cookies = []
        for key, seen in sorted(self.seen.items()):
            name, domain, _ = key
            why = seen.why
            if not why:
                why = rules.why_preset(name, self.state) if seen.preset else "—"
                if seen.preset and key not in held:
                    why = "already on the browser, then expired"
            cookies.append(
                CookieSeen(
                    browser=self.label,
                    name=name,
                    domain=domain,
                    days=seen.days,
                    same_site=str(seen.cookie.get("sameSite", "")),
                    secure=bool(seen.cookie.get("secure")),
                    http_only=bool(seen.cookie.get("httpOnly")),
                    preset=seen.preset,
                    rewritten=seen.rewritten,
                    at_end=key in held,
                    permitted=seen.permitted,
                    why=why,
                )
            )
        return cookies


@dataclass
class ScenarioRun:
    auditor: Auditor
    result: ScenarioResult
    fresh: list[EmailLinks] = field(default_factory=list)
    browsers: list[AuditBrowser] = field(default_factory=list)
    transient: list[tuple[str, str, rules.Verdict]] = field(default_factory=list)

    def take_fresh(self) -> EmailLinks:
        return self.fresh.pop(0)

    @property
    def fx(self) -> Fixtures:
        return self.auditor.fixtures

    def browser(
        self, label: str = "visitor", state: State | None = None, *, dnc: bool | None = None
    ) -> AuditBrowser:
        made = AuditBrowser(self, label, self.result.state if state is None else state, dnc=dnc)
        self.browsers.append(made)
        return made

    def links(self) -> EmailLinks:
        """The email links of the contact behind this scenario's browser."""
        fx = self.fx
        return (fx.dora if self.result.state is State.DNC else fx.ada).links

    def email(self) -> str:
        fx = self.fx
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
    slug = run.fx.landing
    b.step("landing page opened", lambda: b.landing(slug))


def _choices(button: str, action: Action) -> Callable[[ScenarioRun], None]:
    def play(run: ScenarioRun) -> None:
        b = run.browser()
        url = f"{b.tracker}/privacy/choices"
        b.step("privacy choices page opened", lambda: b.visit(url))
        b.step(f"“{button}” pressed", lambda: b.press(button), actions=(action,))

    return play


SURFACES: tuple[Spec, ...] = (
    Spec("script", "tracking script and its pageview event", _script),
    Spec("script-grant", "tracking script, consent grant command", _script_grant),
    Spec("pixel", "mtracking.gif (image on the host page)", _pixel),
    Spec("link", "email link (/r/…?ct=)", _link),
    Spec("link-forwarded", "email link, forwarded (fresh browser)", _forwarded),
    Spec("open-pixel", "email open pixel", _open_pixel),
    Spec("unsubscribe-get", "unsubscribe page (GET)", _unsubscribe_get),
    Spec("unsubscribe-post", "unsubscribe (GET, then POST)", _unsubscribe_post, fresh=1),
    Spec("resubscribe", "resubscribe (GET, then POST)", _resubscribe, fresh=1),
    Spec("web-view", "email web view", _webview),
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
)


def _problem_1(run: ScenarioRun) -> None:
    # Cookies are not cleared between the steps as the RFC does: stricter, since the
    # unsubscribe page must then also expire what the link set.
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
    # As the RFC loads it (a bare URL, no page: the tracker answers 400 and counts nothing),
    # then as a page's no-script fallback asks for it, naming the page.
    b = run.browser()
    bare = f"{b.tracker}/mtracking.gif"
    page = quote(run.auditor.site.origin + "/no-script", safe="")
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


# -- the run ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    spec: Spec
    group: str
    mode: Mode
    state: State
    fresh: tuple[EmailLinks, ...]  # recipients of its own, handed out before the run


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


class Auditor:
    """Plays scenarios in one Chromium; one per worker thread."""

    def __init__(
        self,
        chromium: Browser,
        target: Target,
        site: HostSite,
        fixtures: Fixtures,
        prepared: dict[State, PlaywrightStorageState],
    ) -> None:
        self.chromium = chromium
        self.target = target
        self.site = site
        self.fixtures = fixtures
        self.tracker = _origin(target.base_url)
        self.prepared = prepared

    def context(self) -> BrowserContext:
        context = self.chromium.new_context(user_agent=USER_AGENT)
        context.set_default_timeout(TIMEOUT_MS)
        self.site.attach(context)
        return context

    def prepare(self) -> dict[str, list[str]]:
        """The browsers of the states that start with something on them, made through the
        product's own pages; returns the cookie names each holds."""
        with self.target.preparing():
            for state, button in (
                (State.GRANTED, "Allow tracking"),
                (State.REFUSED, "Refuse tracking"),
            ):
                context = self.context()
                try:
                    page = context.new_page()
                    page.goto(f"{self.tracker}/privacy/choices")
                    with page.expect_navigation():
                        page.get_by_role("button", name=button).click()
                    self.prepared[state] = context.storage_state()
                finally:
                    context.close()
            # Dora granted with the set-cookie form, which tied her browser's device to her.
            context = self.context()
            try:
                page = context.new_page()
                page.goto(self.site.origin + "/form-on")
                form = page.locator("form.consentry-form")
                form.locator("[name=email]").fill(self.fixtures.dora.email)
                form.locator("input[name=track]").check()
                with page.expect_response(lambda r: "/form/submit" in r.url) as answer:
                    form.locator("button[type=submit]").click()
                answer.value.finished()
                self.prepared[State.DNC] = context.storage_state()
            finally:
                context.close()
        # Then she unsubscribed from her mail client: Do-Not-Contact.
        one_click(self.fixtures.dora.links.unsubscribe)
        return {
            str(state): sorted({c["name"] for c in self.prepared[state]["cookies"]})
            if state in self.prepared
            else []
            for state in STATES
        }

    def play(self, job: Job) -> ScenarioResult:
        spec = job.spec
        result = _result(job)
        run = ScenarioRun(self, result, fresh=list(job.fresh))
        try:
            spec.play(run)
        except Exception as exc:  # a scenario that cannot run is reported, not fatal
            result.error = self.sanitise(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                run.finish()
            except Exception as exc:
                result.error = result.error or self.sanitise(f"{type(exc).__name__}: {exc}")
        # A write whose cookie vanished within its step still shows in the report.
        named = {(c.browser, c.name) for c in result.cookies}
        for browser, name, verdict in run.transient:
            if (browser, name) not in named:
                named.add((browser, name))
                result.cookies.append(
                    CookieSeen(
                        browser=browser,
                        name=name,
                        domain="(written, then expired within the step)",
                        days=None,
                        same_site="",
                        secure=False,
                        http_only=False,
                        preset=False,
                        rewritten=False,
                        at_end=False,
                        permitted=verdict.ok,
                        why=verdict.why,
                    )
                )
        return result

    def sanitise(self, message: str) -> str:
        """One line, without ports or tokens: the report must not change from run to run."""
        line = message.strip().splitlines()[0] if message.strip() else "error"
        for origin, name in (
            (self.tracker, "{tracker}"),
            (self.site.origin, "{site}"),
            (self.site.local, "{site}"),
        ):
            line = line.replace(origin, name)
        line = re.sub(r"/(r|email/[a-z]+|email)/[A-Za-z0-9_:?=.-]+", r"/\1/…", line)
        return line[:300]


def _result(job: Job) -> ScenarioResult:
    matrix = job.group == "matrix"
    return ScenarioResult(
        id=f"{job.mode}/{job.state}/{job.spec.id}" if matrix else f"{job.mode}/{job.spec.id}",
        group=job.group,
        mode=job.mode,
        state=job.state,
        surface=job.spec.title,
        title=job.spec.title,
    )


def _launch(playwright: Any, chromium: Path) -> Browser:
    browser: Browser = playwright.chromium.launch(
        executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS
    )
    return browser


def _playwright() -> Any:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise AuditSetupError(
            "Playwright for Python is not installed; it is a development extra: "
            "`.venv/bin/pip install -e '.[dev]'`"
        ) from exc
    return sync_playwright


def run_audit(
    target: Target,
    *,
    modes: Sequence[Mode] | None = None,
    states: Sequence[State] = STATES,
    surfaces: Sequence[str] | None = None,
    problems: Sequence[str] | None = None,
    chromium: Path = CHROMIUM,
    site: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit `target` in each of `modes` (default: all the target can switch to), for each
    state and surface (ids of SURFACES; default all) and each RFC problem (ids of PROBLEMS;
    default all). `site` is the host site's origin against a deployment (one it tracks).

    The tracking mode is switched between modes only, when no scenario is running."""
    sync_playwright = _playwright()
    if not chromium.exists():
        raise AuditSetupError(
            f"Chromium is not at {chromium}: install it (`apt-get install chromium`) "
            "or pass --chromium PATH"
        )
    chosen_modes = [m for m in MODES if m in (modes or target.modes)]
    if not set(chosen_modes) <= set(target.modes):
        raise AuditSetupError(f"this target can only be audited in {list(target.modes)}")
    specs = [s for s in SURFACES if surfaces is None or s.id in surfaces]
    named = [s for s in PROBLEMS if problems is None or s.id in problems]
    unknown = set(surfaces or ()) - {s.id for s in SURFACES}
    unknown |= set(problems or ()) - {s.id for s in PROBLEMS}
    if unknown:
        raise AuditSetupError(f"unknown scenarios: {sorted(unknown)}")
    plan = [
        (
            mode,
            [("matrix", state, spec) for state in states for spec in specs]
            + [("rfc", State.NONE, spec) for spec in named],
        )
        for mode in chosen_modes
    ]
    fresh = sum(spec.fresh for _, jobs in plan for _, _, spec in jobs)
    say = progress or (lambda _: None)
    result = AuditResult(target=target.description, modes=chosen_modes)
    # Another port of the tracker's own host (same site: its SameSite=Lax cookies travel with
    # the embeds' requests); against a deployment, a loopback server for the blank page.
    host = urlsplit(target.base_url).hostname or "localhost"
    host_site = HostSite(host if host in LOOPBACK else "127.0.0.1", site)
    try:
        with target.run(site=host_site.origin):
            with target.preparing():
                fixtures = target.make_fixtures(
                    site=host_site.origin, blank=host_site.blank, fresh=fresh
                )
            try:
                publish_pages(host_site, _origin(target.base_url), fixtures)
                # One Chromium for the whole run, a fresh context (or two) per scenario. One
                # scenario at a time: the local run's SQLite serialises writes anyway, and
                # concurrent writers make it answer "database is locked".
                with sync_playwright() as playwright:
                    browser = _launch(playwright, chromium)
                    try:
                        auditor = Auditor(browser, target, host_site, fixtures, {})
                        result.prepared = auditor.prepare()
                        for mode, scenarios in plan:
                            started = time.monotonic()
                            with target.mode(mode):
                                for group, state, spec in scenarios:
                                    job = Job(
                                        spec=spec,
                                        group=group,
                                        mode=mode,
                                        state=state,
                                        fresh=tuple(
                                            fixtures.take_fresh() for _ in range(spec.fresh)
                                        ),
                                    )
                                    result.scenarios.append(auditor.play(job))
                            elapsed = time.monotonic() - started
                            say(f"mode {mode}: {len(scenarios)} scenarios in {elapsed:.0f} s")
                    finally:
                        browser.close()
            finally:
                result.notes += target.remove_fixtures()
    finally:
        host_site.close()
    return result
