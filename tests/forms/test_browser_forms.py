"""Embeddable forms in a real Chromium: on a host page of another origin of the same site, and
as the tracker's standalone page with JavaScript off.

Nothing is mocked: the host page is served by a plain HTTP server of its own and carries the
snippet site owners paste (`<script src=".../form/generate.js?id=N">`); the script injects the
form and submits it with fetch to the live Django server (real request cycle, real database,
real consent gate), and what the browser ends up holding is read back from Chromium itself.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Locator, Response, expect

from consent.models import ConsentRecord
from contacts.models import Contact, Device
from forms.models import Field, Form, Submission
from tests.support.browser import CONSENT, DEVICE, TIMEOUT_MS, HostSite, Person, browsing, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make

pytestmark = [pytest.mark.browser]

SUCCESS = "Thank you, we received your message."
CORRECT = "Please correct the highlighted fields."
BAD_EMAIL = "Enter a valid email address."
REQUIRED = "This field is required."
# Every alias of tests.support.forming.form_make that a visitor types into.
TEXT_ALIASES = ["email", "first_name", "message", "size", "age", "visit"]


def contact_page(site: HostSite, path: str, title: str, *, script: str = "") -> str:
    """A page of the host site, with the embed snippet as the admin hands it out (if any)."""
    embed = f'<script src="{script}"></script>\n' if script else ""
    return site.serve(
        path, host_page(title, body=f'{embed}<p id="after">More of the host page.</p>')
    )


def embed(site: HostSite, form: Form, *, kiosk: bool = False) -> str:
    """A page of the host site that embeds `form`; returns its path."""
    query = f"id={form.pk}" + ("&kiosk=1" if kiosk else "")
    path = f"/{'kiosk' if kiosk else 'contact'}-{form.pk}"
    return contact_page(site, path, "Contact", script=f"{site.tracker}/form/generate.js?{query}")


@dataclass(kw_only=True)
class Visitor(Person):
    """A person in Chromium, on the host site or on the tracker's own form pages."""

    site: HostSite  # the host site, e.g. http://localhost:P2

    def open_embed(self, form: Form, *, kiosk: bool = False, query: str = "") -> None:
        """Load a host page embedding `form` and wait until the script has injected it."""
        self.page.goto(self.site.origin + embed(self.site, form, kiosk=kiosk) + query)
        expect(self.form).to_be_visible(timeout=TIMEOUT_MS)
        # Anything set on the window survives only as long as the page is not navigated away.
        self.page.evaluate("() => { window.stillTheSamePage = true; }")

    @property
    def form(self) -> Locator:
        return self.page.locator("form.consentry-form")

    def fill(self, **values: str) -> None:
        for alias, value in values.items():
            if alias == "size":
                self.form.locator("select[name=size]").select_option(value)
            else:
                self.form.locator(f"[name={alias}]").fill(value)

    def tick(self, alias: str, value: str = "1") -> None:
        self.form.locator(f"input[name={alias}][value='{value}']").check()

    def submit_by_script(self) -> Response:
        """Click submit on the embed; the script's fetch to the tracker, once answered."""

        def is_submit(response: Response) -> bool:
            return (
                response.url.startswith(f"{self.tracker}/form/submit?")
                and response.request.method == "POST"
            )

        with self.page.expect_response(is_submit, timeout=TIMEOUT_MS) as answer:
            self.form.locator("button[type=submit]").click()
        response = answer.value
        response.finished()
        return response

    def submit_natively(self) -> Response:
        """Click submit on a page without script; the page the browser navigated to."""
        with self.page.expect_navigation(timeout=TIMEOUT_MS) as navigation:
            self.form.locator("button[type=submit]").click()
        response = navigation.value
        assert response is not None
        return response

    def same_page(self) -> bool:
        return self.page.evaluate("() => window.stillTheSamePage === true") is True

    def errors(self) -> dict[str, str]:
        shown: dict[str, str] = self.form.evaluate(
            """(form) => Object.fromEntries(
                Array.from(form.querySelectorAll('.consentry-error[data-for]'))
                    .filter((el) => el.textContent.trim())
                    .map((el) => [el.dataset.for, el.textContent.trim()]))"""
        )
        return shown

    def values(self) -> dict[str, Any]:
        """What the visitor's form holds: text-like fields, ticked boxes, chosen topics."""
        held: dict[str, Any] = self.form.evaluate(
            """(form) => {
                const out = {};
                for (const el of form.elements) {
                    if (!el.name || el.name === 'cs_hp' || el.type === 'submit') continue;
                    if (el.type === 'checkbox' || el.type === 'radio') {
                        if (el.name === 'topics') {
                            out.topics = out.topics || [];
                            if (el.checked) out.topics.push(el.value);
                        } else {
                            out[el.name] = el.checked;
                        }
                    } else {
                        out[el.name] = el.value;
                    }
                }
                return out;
            }"""
        )
        return held


def _visitor(chromium: Browser, site: HostSite, *, script: bool = True) -> Iterator[Visitor]:
    person = Visitor.start(chromium, javascript=script, tracker=site.tracker, site=site)
    with browsing(person):
        yield person


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    yield from _visitor(chromium, site)


@pytest.fixture
def scriptless(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    """A visitor whose browser runs no JavaScript at all."""
    yield from _visitor(chromium, site, script=False)


def test_an_embedded_form_shows_errors_in_place_then_thanks_and_sets_no_cookie_anywhere(
    visitor,
):
    form = form_make()
    Field.objects.filter(form=form, alias="first_name").update(required=True)
    visitor.open_embed(form)
    # Injected where the snippet stands, on the host page, with every kind of field.
    assert visitor.page.locator("script + .consentry-form-box + #after").count() == 1
    assert set(visitor.values()) == {*TEXT_ALIASES, "topics", "source", "track", "newsletter"}
    assert visitor.page.url.startswith(visitor.site.origin)

    visitor.fill(email="not-an-email", message="Hello", age="-5")
    response = visitor.submit_by_script()
    assert response.status == 400
    expect(visitor.form.locator(".consentry-message")).to_have_text(CORRECT)
    assert visitor.errors() == {
        "email": BAD_EMAIL,
        "first_name": REQUIRED,
        "age": "At least 0.",
    }
    assert visitor.same_page()  # no navigation: the errors came in place
    assert visitor.values()["message"] == "Hello"  # what was typed is still there
    assert Submission.objects.count() == Contact.objects.count() == 0
    assert ConsentRecord.objects.count() == 0

    visitor.fill(email="ada@example.com", first_name="Ada", age="36", visit="2026-11-02")
    visitor.fill(size="11-50")
    visitor.tick("topics", "pricing")
    response = visitor.submit_by_script()
    assert response.status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)
    assert visitor.errors() == {}
    assert visitor.same_page()
    assert visitor.values()["email"] == ""  # the form is ready for the next message

    submission = Submission.objects.select_related("contact").get()
    assert submission.data == {
        "email": "ada@example.com",
        "first_name": "Ada",
        "message": "Hello",
        "size": "11-50",
        "topics": ["pricing"],
        "age": "36",
        "visit": "2026-11-02",
    }
    assert (submission.identified, submission.kiosk) == (False, False)
    contact = Contact.objects.get()
    assert submission.contact == contact
    assert (contact.email, contact.first_name) == ("ada@example.com", "Ada")
    assert contact.fields == {"company_size": "11-50"}
    assert ConsentRecord.objects.count() == Device.objects.count() == 0
    # The form's switch is off and the mode is consent: nothing on either origin.
    assert visitor.context.cookies() == []
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


def test_with_the_switch_on_ticking_the_tracking_box_sets_both_cookies_and_identifies(visitor):
    form = form_make(set_cookie_on_submission=True)
    visitor.open_embed(form)
    visitor.fill(email="ada@example.com")
    visitor.tick("track")
    before = time.time()
    assert visitor.submit_by_script().status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)

    cookies = visitor.cookies()
    assert set(cookies) == {CONSENT, DEVICE}
    tracker_host = urlsplit(visitor.tracker).hostname
    for cookie in cookies.values():
        assert cookie["domain"] == tracker_host
        assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (True, "Lax", False)
        assert cookie["expires"] > before
    # HttpOnly: the host page cannot read them, and the script stored nothing of its own.
    assert visitor.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}

    submission = Submission.objects.select_related("contact").get()
    assert submission.identified is True
    assert submission.contact is not None
    assert submission.contact.email == "ada@example.com"
    assert submission.data["track"] == "1"
    device = Device.objects.get(public_id=visitor.device_id())
    assert device.contact == submission.contact
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action, record.source) == ("tracking", "grant", "form")
    assert record.contact == submission.contact
    assert record.notice_version == "2026-09"  # the version the box's label agreed to
    assert record.browser_key != ""


def test_with_the_switch_on_leaving_the_tracking_box_unticked_sets_no_cookie(visitor):
    form = form_make(set_cookie_on_submission=True)
    visitor.open_embed(form)
    visitor.fill(email="ada@example.com")
    assert visitor.submit_by_script().status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)

    assert visitor.context.cookies() == []
    submission = Submission.objects.get()
    assert submission.identified is False
    assert submission.contact == Contact.objects.get(email="ada@example.com")
    assert ConsentRecord.objects.count() == Device.objects.count() == 0


@pytest.mark.parametrize("query", ["", "?kiosk=0&cs_focus=1"])
def test_a_kiosk_embed_sets_no_cookie_and_does_not_identify_even_with_the_box_ticked(
    visitor, query
):
    """Also when the host page's URL tries to switch the embed's own settings off."""
    form = form_make(set_cookie_on_submission=True)
    visitor.open_embed(form, kiosk=True, query=query)
    assert visitor.form.locator("input[type=hidden][name=kiosk]").get_attribute("value") == "1"
    visitor.fill(email="ada@example.com")
    visitor.tick("track")
    assert visitor.submit_by_script().status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)

    # A shared device remembers no one: neither a device id nor the choice.
    assert DEVICE not in visitor.cookies()
    assert visitor.context.cookies() == []
    submission = Submission.objects.select_related("contact").get()
    assert (submission.kiosk, submission.identified) == (True, False)
    assert Device.objects.count() == 0
    # The person's consent is still recorded, for the contact only.
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action, record.source) == ("tracking", "grant", "form")
    assert record.contact == submission.contact
    assert record.browser_key == ""


def test_without_javascript_the_standalone_page_re_renders_errors_with_the_values_kept(
    scriptless,
):
    form = form_make()
    visitor = scriptless
    visitor.page.goto(f"{visitor.tracker}/form/{form.pk}")
    expect(visitor.form).to_be_visible()

    visitor.fill(email="ada@", first_name="Ada", message="<b>Hi</b>", size="51+", age="-1")
    visitor.tick("topics", "support")
    visitor.tick("newsletter")
    response = visitor.submit_natively()
    assert response.status == 400
    assert response.url == f"{visitor.tracker}/form/submit?formId={form.pk}"
    expect(visitor.page.locator(".consentry-form > p.consentry-error")).to_have_text(CORRECT)
    assert visitor.errors() == {"email": BAD_EMAIL, "age": "At least 0."}
    assert visitor.values() == {
        "email": "ada@",
        "first_name": "Ada",
        "message": "<b>Hi</b>",
        "size": "51+",
        "topics": ["support"],
        "age": "-1",
        "visit": "",
        "source": "",
        "track": False,
        "newsletter": True,
    }
    assert visitor.page.locator(".consentry-form b").count() == 0  # kept as text, not markup
    assert Submission.objects.count() == Contact.objects.count() == 0

    visitor.fill(email="ada@example.com", age="36")
    response = visitor.submit_natively()
    assert response.status == 200
    expect(visitor.page.locator("p[role=status]")).to_have_text(SUCCESS)
    assert visitor.page.locator("form").count() == 0
    submission = Submission.objects.select_related("contact").get()
    assert submission.contact is not None
    assert submission.contact.email == "ada@example.com"
    assert submission.data["topics"] == ["support"]
    assert submission.identified is False
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action) == ("email", "grant")
    assert visitor.context.cookies() == []


def test_url_parameters_of_the_host_page_prefill_the_embed_but_never_tick_a_consent_box(
    visitor,
):
    form = form_make(set_cookie_on_submission=True)
    visitor.open_embed(
        form, query="?email=given@example.com&first_name=Grace&source=spring&track=1&newsletter=1"
    )
    values = visitor.values()
    assert (values["email"], values["first_name"], values["source"]) == (
        "given@example.com",
        "Grace",
        "spring",
    )
    assert (values["track"], values["newsletter"]) == (False, False)

    assert visitor.submit_by_script().status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)
    submission = Submission.objects.get()
    assert submission.data == {
        "email": "given@example.com",
        "first_name": "Grace",
        "source": "spring",
        "topics": [],
    }
    assert ConsentRecord.objects.count() == 0
    assert visitor.context.cookies() == []


def test_a_tracker_cookie_identity_never_prefills_the_embed_or_the_standalone_page(visitor):
    form = form_make(set_cookie_on_submission=True)
    visitor.open_embed(form)
    visitor.fill(email="ada@example.com", first_name="Ada", message="Call me")
    visitor.tick("track")
    assert visitor.submit_by_script().status == 200
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)
    assert Submission.objects.get().identified is True
    device = visitor.cookies()[DEVICE]["value"]

    # Come back once the script's cache lifetime is over (the cache is cleared, the cookies
    # are kept), so the script is fetched again and carries the identity cookie this time.
    visitor.context.new_cdp_session(visitor.page).send("Network.clearBrowserCache")
    with visitor.page.expect_request(
        lambda request: request.url.startswith(f"{visitor.tracker}/form/generate.js")
    ) as fetched:
        visitor.page.reload()
        expect(visitor.form).to_be_visible(timeout=TIMEOUT_MS)
    assert f"{DEVICE}={device}" in (fetched.value.header_value("cookie") or "")
    empty = {alias: "" for alias in TEXT_ALIASES}
    assert visitor.values() == {
        **empty,
        "topics": [],
        "source": "",
        "track": False,
        "newsletter": False,
    }
    assert "ada@example.com" not in visitor.page.content()

    visitor.page.goto(f"{visitor.tracker}/form/{form.pk}")
    expect(visitor.form).to_be_visible()
    assert visitor.values()["email"] == ""
    assert "ada@example.com" not in visitor.page.content()
    assert set(visitor.cookies()) == {CONSENT, DEVICE}  # still identified, just not shown


def test_a_redirect_url_on_the_host_site_takes_the_browser_there_after_submitting(visitor):
    contact_page(visitor.site, "/thanks", "Thanks for writing")
    form = form_make(redirect_url=f"{visitor.site.origin}/thanks")
    visitor.open_embed(form)
    visitor.fill(email="ada@example.com")
    with visitor.page.expect_navigation(url=f"{visitor.site.origin}/thanks"):
        visitor.submit_by_script()
    expect(visitor.page.locator("h1")).to_have_text("Thanks for writing")
    assert Submission.objects.count() == 1
    assert visitor.context.cookies() == []


def test_a_redirect_url_on_an_unrelated_origin_is_ignored_and_the_message_shown(visitor):
    form = form_make(redirect_url="http://unrelated.invalid/phish")
    visitor.open_embed(form)
    visitor.fill(email="ada@example.com")
    response = visitor.submit_by_script()
    assert response.json()["redirect"] is None
    expect(visitor.form.locator(".consentry-message")).to_have_text(SUCCESS)
    assert visitor.same_page()
    assert visitor.page.url.startswith(visitor.site.origin)
    assert Submission.objects.count() == 1
