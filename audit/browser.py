"""Chromium, through Playwright: launching it (one helper, shared by the audit and the browser
tests), and one person's browser in a scenario, whose every step is recorded and judged by
`audit.rules`.

Playwright is an optional extra: it is imported inside `playwright_import` (and only for the
type checker here), never at module level, so the rest of the product (and `manage.py help`)
works without it.

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

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from audit import rules
from audit.host import HostSite
from audit.report import CookieSeen, Finding, ScenarioResult, StepRecord
from audit.rules import Action, FormFacts, Place, State, Visitor

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Cookie, Page, Request, Response
    from playwright.sync_api import StorageState as PlaywrightStorageState

# Debian's Chromium, headless.
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
# Answered by Chromium itself in the scenario's tab, to read an origin's storage.
PROBE = "/__consentry_cookie_audit_probe__"


class AuditSetupError(RuntimeError):
    """Chromium or Playwright is missing, or the target could not be prepared."""


class StepFailed(RuntimeError):
    """A step did not happen as scripted (a timeout, a failed request)."""


def playwright_import() -> Any:
    """Playwright's `sync_playwright`, or a setup error that says how to install it."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise AuditSetupError(
            "Playwright for Python is not installed; it is a development extra: "
            "`.venv/bin/pip install -e '.[dev]'`"
        ) from exc
    return sync_playwright


@contextmanager
def chromium_open(*, executable: Path = CHROMIUM) -> Iterator[Browser]:
    """One headless Chromium for as long as the block runs, then closed; every person in it is
    a fresh context (incognito)."""
    sync_playwright = playwright_import()
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


class Scene(Protocol):
    """What a person's browser needs of the scenario it plays in (`audit.scenarios`)."""

    chromium: Browser
    tracker: str  # the tracker's origin
    site: HostSite
    prepared: dict[State, PlaywrightStorageState]  # the browser each state starts with
    result: ScenarioResult
    transient: list[tuple[str, str, rules.Verdict]]


# -- one browser in one scenario ----------------------------------------------------------


def origin_of(url: str) -> str:
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
    deciding = [p for p in places if p not in (Place.STATIC, Place.SCRIPT_FILE, Place.VIDEO_SCRIPT)]
    return next((p for p in deciding if p in rules.NO_TRACKING), None) or (
        deciding[-1] if deciding else Place.OTHER
    )


def _answer_probe(route: Any) -> None:
    route.fulfill(status=200, content_type="text/html", body="<!doctype html><title>probe")


class AuditBrowser:
    """One person's browser (a fresh Chromium context) with one tab, whose every step is
    recorded and judged."""

    def __init__(self, run: Scene, label: str, state: State, *, dnc: bool | None = None) -> None:
        self.run = run
        self.label = label
        self.state = state
        self.tracker = run.tracker
        self.visitor = Visitor.starting(run.result.mode, state)
        if dnc is not None:
            self.visitor.dnc = dnc
        self.context = run.chromium.new_context(
            user_agent=USER_AGENT,
            storage_state=run.prepared.get(state),
            extra_http_headers={"Sec-GPC": "1"} if state is State.GPC else None,
            accept_downloads=True,
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        run.site.attach(self.context)
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
        self.page.on("framenavigated", lambda frame: self.documents.add(origin_of(frame.url)))
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
            if origin_of(response.url) != self.tracker:
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
                if origin_of(r.url) == self.tracker and "/asset/" not in r.url
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
                if origin_of(r.url) == self.tracker
                and rules.place_of(urlsplit(r.url).path) is place
            ]
            return len(hits) >= count

        self.until(done, f"{count} answered request(s) to the {place}")

    # -- what people do -------------------------------------------------------------------

    def visit(self, url: str) -> None:
        self.page.goto(url)

    def host(self, path: str, *, events: int = 0) -> None:
        """Open a page of the host site and wait for its tracking script's `events`."""
        self.page.goto(self.run.site.origin + path)
        if events:
            self.answered(Place.SCRIPT_EVENT, events)

    def press(self, button: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role("button", name=button).click()

    def open_form(self, path: str) -> None:
        self.page.goto(self.run.site.origin + path)
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
        self.page.goto(self.run.site.origin + "/focus")
        self.answered(Place.FOCUS_VIEW)

    # -- the end --------------------------------------------------------------------------

    def storage(self) -> list[tuple[str, str]]:
        """Every storage entry of the tracker's origin and the host page's, as this tab sees
        them (sessionStorage is per tab and survives navigation within it).

        Only a document of an origin can store anything for it, so only the origins this
        tab (or a frame in it) showed a document of are read: on the page still showing it,
        or on a page Chromium answers itself in this tab."""
        found: list[tuple[str, str]] = []  # (what and key, whose origin)
        origins = (("tracker", self.tracker), ("host page", self.run.site.origin))
        routed = False
        for who, origin in origins:
            if origin not in self.documents:
                continue
            if origin_of(self.page.url) != origin:
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
