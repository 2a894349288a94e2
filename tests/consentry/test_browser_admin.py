"""The admin and the visitor's privacy pages in a real Chromium, as an operator and a visitor use
them: the operator logs in, builds a form, reads the reports; the visitor submits the form on a
host site of another origin and makes choices on /privacy/choices.

Nothing is mocked: the admin is the live Django server (real request cycle, real database, real
consent gate and Content-Security-Policy), the host site is a plain HTTP server of its own, and
what each browser holds or shows is read back from Chromium itself.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self, TypeVar

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, ConsoleMessage, Locator, Response, expect

from consent.gate import Choice, read_choice
from consent.models import ConsentRecord
from contacts.models import Device
from contacts.services import contact_upsert, device_link
from forms.models import Field, Form, Submission
from tests.support.browser import (
    CONSENT,
    DEVICE,
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    TIMEOUT_MS,
    HostSite,
    Person,
    admin_log_in,
    browsing,
    eventually,
    host_page,
    tracking_snippet,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]

CSP = "Content Security Policy"
SUCCESS = "Thank you, we received your message."
ALLOWED = "You allowed tracking"
REFUSED = "You refused tracking"
# Values from the public surface that would run as script if the admin showed them as markup.
HOSTILE_TITLE = '<img src=x onerror="window.pwned=1">'
HOSTILE_NAME = "<script>window.pwned=2</script>"
DASHBOARD_COPY = Path("/tmp/consentry-dashboard.png")


@dataclass(kw_only=True)
class Someone(Person):
    """A person in Chromium whose console is listened to for Content-Security-Policy
    violations (Chromium reports every blocked script, style or frame there)."""

    violations: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, chromium: Browser, *, javascript: bool = True, **fields: Any) -> Self:
        person = super().start(chromium, javascript=javascript, **fields)

        def heard(message: ConsoleMessage) -> None:
            if CSP in message.text:
                person.violations.append(f"{person.page.url}: {message.text}")

        person.page.on("console", heard)
        return person

    def visit(self, url: str) -> Response:
        response = self.page.goto(url)
        assert response is not None
        assert response.status == 200, f"{url}: {response.status}"
        return response

    def click_through(self, target: Locator) -> None:
        """Click a link or button that loads another page, and wait until it has loaded."""
        with self.page.expect_navigation(timeout=TIMEOUT_MS):
            target.click()


@dataclass(kw_only=True)
class Operator(Someone):
    """The site's operator, in the admin of the tracker."""

    def log_in(self, username: str = OPERATOR_USERNAME, password: str = OPERATOR_PASSWORD) -> None:
        """Open /admin/, get sent to the login form, fill it in like a person would."""
        self.visit(f"{self.tracker}/admin/")
        expect(self.page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
        admin_log_in(self.page, self.tracker, username=username, password=password)

    def home(self) -> None:
        self.click_through(self.page.locator("#site-name a"))
        expect(self.page).to_have_url(f"{self.tracker}/admin/")

    def reports(self) -> None:
        """From the admin's home page, the Reports link."""
        self.home()
        self.click_through(self.page.get_by_role("link", name="Reports", exact=True))
        expect(self.page).to_have_url(f"{self.tracker}/admin/reports/")

    def total(self, which: str) -> str:
        return self.page.locator(f"#total-{which}").inner_text().strip()


@dataclass(kw_only=True)
class Visitor(Someone):
    """A visitor of the host site and of the tracker's own privacy pages."""

    site: HostSite

    def is_event(self, response: Response) -> bool:
        return (
            response.url.startswith(f"{self.tracker}/mtc/event")
            and response.request.method == "POST"
        )

    def open(self, path: str, *, reload: bool = False) -> dict[str, Any]:
        """Load (or reload) a host page carrying the tracking snippet; the tracker's reply to
        its pageview."""
        with self.page.expect_response(self.is_event, timeout=TIMEOUT_MS) as answer:
            if reload:
                self.page.reload()
            else:
                self.visit(self.site.origin + path)
        response = answer.value
        assert response.status == 200, response.text()
        reply: dict[str, Any] = response.json()
        return reply

    def choose(self, button: str) -> None:
        """On the tracker's choices page, press one of its buttons."""
        if self.page.url != f"{self.tracker}/privacy/choices":
            self.visit(f"{self.tracker}/privacy/choices")
        self.click_through(self.page.get_by_role("button", name=button, exact=True))
        expect(self.page.locator("p[role=status]")).to_have_text("Your choice is saved.")

    def choice(self) -> Choice | None:
        cookie = self.cookies().get(CONSENT)
        stored = read_choice(cookie["value"] if cookie else None, int(time.time()))
        return stored.choice if stored else None


S = TypeVar("S", bound=Someone)


@contextmanager
def using(person: S) -> Iterator[S]:
    """`browsing`, and the test must have caused no Content-Security-Policy violation."""
    with browsing(person):
        yield person
        assert person.violations == [], person.violations


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with using(Operator.start(chromium, tracker=site.tracker)) as person:
        yield person


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    """A second browser (its own context: no cookie or session shared with the operator)."""
    with using(Visitor.start(chromium, tracker=site.tracker, site=site)) as person:
        yield person


def pageview_page(site: HostSite, path: str, title: str, body: str = "") -> str:
    """A page of the host site with the tracking snippet sending a pageview; returns the path."""
    snippet = tracking_snippet(site.tracker, "mt('send', 'pageview');")
    return site.serve(path, host_page(title, head=snippet, body=body))


def test_an_operator_builds_a_form_in_the_admin_and_sees_a_visitors_submission_in_the_reports(
    operator, visitor, site, tmp_path
):
    operator.log_in()
    operator.reports()
    assert operator.total("submissions") == "0"
    assert operator.total("hits") == "0"

    # Forms → Add: a name, then one field in the inline.
    operator.home()
    operator.click_through(operator.page.locator("tr.model-form a.addlink"))
    expect(operator.page).to_have_url(f"{operator.tracker}/admin/forms/form/add/")
    operator.page.locator("#id_name").fill("Newsletter sign-up")
    operator.page.locator("#fields-group .add-row a").click()
    operator.page.locator("#id_fields-0-label").fill("Email")
    operator.page.locator("#id_fields-0-alias").fill("email")
    operator.page.locator("#id_fields-0-type").select_option(label="Email")
    operator.page.locator("#id_fields-0-required").check()
    operator.click_through(operator.page.locator("input[name=_save]"))
    expect(operator.page.locator("ul.messagelist")).to_contain_text("was added successfully")
    form = Form.objects.get()
    assert (form.name, form.published, form.set_cookie_on_submission) == (
        "Newsletter sign-up",
        True,
        False,
    )
    field = Field.objects.get()
    assert (field.form, field.label, field.alias, field.type, field.required) == (
        form,
        "Email",
        "email",
        "email",
        True,
    )

    # Its change page shows the form as visitors will see it, in the live preview.
    operator.click_through(operator.page.locator("#result_list a", has_text="Newsletter sign-up"))
    expect(operator.page).to_have_url(f"{operator.tracker}/admin/forms/form/{form.pk}/change/")
    preview = operator.page.frame_locator("iframe[title=preview]")
    expect(preview.locator("form.consentry-form")).to_be_visible(timeout=TIMEOUT_MS)
    expect(preview.locator("form.consentry-form")).to_contain_text("Email")
    expect(preview.locator("input[name=email]")).to_have_attribute("type", "email")
    expect(operator.page.locator(".field-embed_code code")).to_have_text(
        f'<script src="{operator.tracker}/form/generate.js?id={form.pk}"></script>'
    )

    # The visitor, in a browser of their own, on a host page of another origin that embeds
    # the form with the snippet the admin hands out (and counts its pageview).
    embed = f'<script src="{site.tracker}/form/generate.js?id={form.pk}"></script>'
    path = pageview_page(site, "/sign-up", "Sign up", body=embed)
    assert visitor.open(path) == {"consent": "none", "counted": True, "reason": "no_choice"}
    embedded = visitor.page.locator("form.consentry-form")
    expect(embedded).to_be_visible(timeout=TIMEOUT_MS)
    embedded.locator("input[name=email]").fill("ada@example.com")
    with visitor.page.expect_response(
        lambda r: r.url == f"{site.tracker}/form/submit?formId={form.pk}", timeout=TIMEOUT_MS
    ) as answer:
        embedded.locator("button[type=submit]").click()
    assert answer.value.status == 200, answer.value.text()
    expect(embedded.locator(".consentry-message")).to_have_text(SUCCESS)
    assert Submission.objects.get().data == {"email": "ada@example.com"}
    eventually(lambda: AnonymousHit.objects.count() == 1, "the pageview is counted")
    assert visitor.context.cookies() == []

    # Back to the operator: the submission is listed, and the reports count it.
    operator.home()
    operator.click_through(operator.page.locator("tr.model-submission th a"))
    rows = operator.page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.field-form")).to_have_text("Newsletter sign-up")
    expect(rows.first.locator("td.field-contact")).to_have_text("ada@example.com")

    operator.reports()
    assert operator.total("submissions") == "1"
    assert operator.total("hits") == "1"
    bars = operator.page.locator("#form-chart svg rect > title")
    expect(bars).to_have_count(1)
    expect(bars).to_have_text(re.compile(r"^\d{4}-\d\d-\d\d submissions: 1$"))

    dashboard = tmp_path / "dashboard.png"
    operator.page.screenshot(path=dashboard, full_page=True)
    assert dashboard.exists()
    assert dashboard.stat().st_size > 10_000
    assert operator.total("submissions") != "0"  # the picture shows data, not an empty page
    shutil.copyfile(dashboard, DASHBOARD_COPY)  # for a person to look at


def test_the_admin_and_the_public_pages_run_without_a_content_security_policy_violation(
    operator, visitor
):
    form = form_make()
    operator.log_in()
    operator.reports()
    operator.visit(f"{operator.tracker}/admin/forms/form/{form.pk}/change/")
    preview = operator.page.frame_locator("iframe[title=preview]")
    expect(preview.locator("form.consentry-form")).to_be_visible(timeout=TIMEOUT_MS)
    operator.visit(f"{operator.tracker}/admin/privacy-settings/")
    visitor.visit(f"{visitor.tracker}/privacy/choices")
    expect(visitor.page.locator("h1")).to_have_text("Your privacy choices")
    visitor.choose("Allow tracking")  # the page after a POST, too
    visitor.visit(f"{visitor.tracker}/privacy/cookies")
    expect(visitor.page.locator("body")).to_contain_text(DEVICE)
    # Let anything the pages do late (deferred scripts, the iframe) report itself.
    operator.page.wait_for_timeout(200)
    visitor.page.wait_for_timeout(200)
    assert operator.violations == []
    assert visitor.violations == []

    # The control: the console does report a violation when one happens on these pages.
    visitor.page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.ran = 1'; document.body.append(s); }"""
    )
    visitor.until(lambda: visitor.violations != [], "the blocked inline script is reported")
    assert visitor.page.evaluate("() => window.ran") is None
    visitor.violations.clear()


def test_on_the_choices_page_a_visitor_allows_then_refuses_and_the_device_cookie_goes(
    visitor, site
):
    visitor.visit(f"{visitor.tracker}/privacy/choices")
    expect(visitor.page.locator("#current")).to_contain_text("You have not chosen")
    assert visitor.context.cookies() == []

    visitor.choose("Allow tracking")
    expect(visitor.page.locator("#current")).to_contain_text(ALLOWED)
    assert set(visitor.cookies()) == {CONSENT}
    assert visitor.choice() == Choice.GRANTED
    record = ConsentRecord.objects.get()
    assert (record.purpose, record.action, record.source) == ("tracking", "grant", "choices")

    # A tracked page of the host site, after the grant: the pageview stores the device.
    path = pageview_page(site, "/pricing", "Pricing")
    assert visitor.open(path) == {"consent": "granted", "counted": True, "reason": "granted"}
    assert set(visitor.cookies()) == {CONSENT, DEVICE}
    device = visitor.device_id()
    eventually(lambda: PageHit.objects.filter(device__public_id=device).count() == 1, "a hit")

    visitor.choose("Refuse tracking")
    expect(visitor.page.locator("#current")).to_contain_text(REFUSED)
    assert set(visitor.cookies()) == {CONSENT}  # the choice is remembered, the device is gone
    assert visitor.choice() == Choice.REFUSED
    records = ConsentRecord.objects.order_by("pk")
    assert [(r.action, r.source) for r in records] == [
        ("grant", "choices"),
        ("withdraw", "choices"),
    ]
    assert records[0].browser_key == records[1].browser_key != ""  # the same browser

    # And the next pageview is counted anonymously, storing nothing.
    assert visitor.open(path) == {"consent": "refused", "counted": True, "reason": "refused"}
    assert set(visitor.cookies()) == {CONSENT}
    eventually(lambda: AnonymousHit.objects.count() == 1, "the hit after refusing is counted")
    assert PageHit.objects.count() == 1


def test_hostile_values_from_a_tracked_page_are_shown_as_text_in_the_admin(operator, visitor, site):
    visitor.choose("Allow tracking")
    path = pageview_page(site, "/hostile", HOSTILE_TITLE)
    assert visitor.open(path) == {"consent": "granted", "counted": True, "reason": "granted"}
    assert visitor.page.title() == HOSTILE_TITLE
    eventually(lambda: PageHit.objects.count() == 1, "the pageview is identified")
    contact = contact_upsert(email="target@example.com", first_name=HOSTILE_NAME)
    device_link(device=Device.objects.get(public_id=visitor.device_id()), contact=contact)
    # The device now belongs to the contact, and so does the hit it made before.
    assert PageHit.objects.get(contact=contact).title == HOSTILE_TITLE

    operator.log_in()
    operator.visit(f"{operator.tracker}/admin/contacts/contact/")
    expect(operator.page.locator("#result_list td.field-first_name")).to_have_text(HOSTILE_NAME)
    operator.click_through(operator.page.locator("#result_list a", has_text="target@example.com"))
    expect(operator.page).to_have_url(
        f"{operator.tracker}/admin/contacts/contact/{contact.pk}/change/"
    )
    page = operator.page
    expect(page.locator("#id_first_name")).to_have_value(HOSTILE_NAME)
    expect(page.locator(".field-timeline td", has_text="page hit")).to_have_count(1)
    expect(page.locator(".field-timeline td", has_text=f"title: {HOSTILE_TITLE}")).to_be_visible()
    page.wait_for_load_state("networkidle")  # an <img src=x> would have failed to load by now
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    # Text, not markup: no such element exists at all (not merely blocked by the CSP).
    assert page.locator("img[src=x]").count() == 0
    assert page.locator("script", has_text="pwned").count() == 0
    assert "window.pwned" not in "".join(
        page.evaluate("() => Array.from(document.scripts, (s) => s.textContent)")
    )
