"""Mautic's form embeds, pasted verbatim (tests/forms/mautic_snippets.py) into a page of a host
site on another origin of the same site, in a real Chromium against the live tracker: the
builder's manual copy with /media/js/mautic-form.js and a page's MauticFormCallback hooks, the
form details' iframe, and its script embed. Each submission is stored with the right fields,
the visitor sees the thank-you, nothing fails in the page, and nothing is kept on the device
without consent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, expect

from forms.models import Form, Submission
from tests.forms.mautic_snippets import IFRAME, MANUAL_COPY_FORM, MANUAL_COPY_SCRIPT, SCRIPT
from tests.support.browser import TIMEOUT_MS, HostSite, Person, browsing, eventually, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import mautic_form_make

pytestmark = [pytest.mark.browser]

THANKS = "Thank you, we received your message."

# A page's own hooks, defined before the snippet as Mautic's documentation says; each call is
# written down with its argument, and none handles anything (Mautic's default behaviour runs).
HOOKS = """<script>
window.hookCalls = [];
if (typeof MauticFormCallback == 'undefined') {
    var MauticFormCallback = {};
}
MauticFormCallback['contactus'] = {};
['onValidate', 'onValidateStart', 'onValidateEnd', 'onErrorMark', 'onErrorClear',
 'onResponse', 'onResponseStart', 'onResponseEnd', 'onMessageSet',
 'onSubmitButtonDisable', 'onSubmitButtonEnable'].forEach(function (name) {
    MauticFormCallback['contactus'][name] = function (data) {
        window.hookCalls.push([name, data === null ? null : JSON.parse(JSON.stringify(data))]);
    };
});
</script>"""


@dataclass(kw_only=True)
class Visitor(Person):
    site: HostSite
    # Console errors a test expects: Chromium reports every 4xx answer it loads, the 400 that
    # names a field in error included.
    expected: list[str] = field(default_factory=list)

    def open(self, path: str, body: str, head: str = "") -> None:
        self.site.serve(path, host_page("Contact", head=head, body=body))
        self.page.goto(self.site.origin + path)

    def hooks(self) -> list[list[Any]]:
        calls: list[list[Any]] = self.page.evaluate("() => window.hookCalls")
        return calls

    def hook_names(self) -> list[str]:
        return [name for name, _ in self.hooks()]

    def keeps_nothing(self) -> None:
        assert self.cookies() == {}
        assert self.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    person = Visitor.start(chromium, tracker=site.tracker, site=site)

    def console(message: ConsoleMessage) -> None:
        # The host site has no favicon: Chromium's own request, not the page's.
        if message.type != "error" or message.location.get("url", "").endswith("/favicon.ico"):
            return
        if not any(text in message.text for text in person.expected):
            person.problems.append(f"console error: {message.text} {message.location}")

    person.page.on("console", console)
    with browsing(person):
        yield person


def stored(form: Form) -> dict[str, Any]:
    eventually(lambda: Submission.objects.filter(form=form).exists(), "the submission is stored")
    data: dict[str, Any] = Submission.objects.get(form=form).data
    return data


def test_the_builders_manual_copy_submits_shows_the_thanks_and_runs_the_hooks(
    visitor: Visitor,
) -> None:
    form = mautic_form_make()
    values = {"tracker": visitor.tracker, "form_id": form.pk}
    visitor.open(
        "/manual",
        MANUAL_COPY_SCRIPT.substitute(values) + "\n" + MANUAL_COPY_FORM.substitute(values),
        head=HOOKS,
    )
    page = visitor.page
    # The script has prepared the form: the answer will land in its hidden iframe.
    expect(page.locator("iframe#mauticiframe_contactus")).to_be_attached(timeout=TIMEOUT_MS)
    submit = page.locator("#mauticform_input_contactus_submit")

    # Checked in the page first: nothing is sent without the required email.
    submit.click()
    error = page.locator("#mauticform_contactus_email .mauticform-errormsg")
    expect(error).to_be_visible()
    expect(error).to_have_text("This is required.")
    assert visitor.hook_names()[:3] == ["onValidate", "onSubmitButtonDisable", "onValidateStart"]
    assert [
        "onErrorMark",
        {
            "containerId": "mauticform_contactus_email",
            "valid": False,
            "validationMessage": "This is required.",
        },
    ] in visitor.hooks()
    assert ["onValidateEnd", False] in visitor.hooks()
    assert not Submission.objects.exists()

    page.evaluate("() => { window.hookCalls = []; window.stillTheSamePage = true; }")
    page.fill("#mauticform_input_contactus_email", "ada@example.com")
    page.fill("#mauticform_input_contactus_first_name", "Ada")
    submit.click()
    expect(page.locator("#mauticform_contactus_message")).to_have_text(THANKS, timeout=TIMEOUT_MS)
    assert stored(form) == {"email": "ada@example.com", "first_name": "Ada", "topics": []}
    expect(error).to_be_hidden()
    # The form is cleared for another message, on the same page.
    expect(page.locator("#mauticform_input_contactus_email")).to_have_value("")
    assert page.evaluate("() => window.stillTheSamePage") is True
    expect(submit).to_be_enabled()
    expect(submit).to_have_text("Submit")
    names = visitor.hook_names()
    for name in (
        "onValidateStart",
        "onErrorClear",
        "onSubmitButtonDisable",
        "onResponse",
        "onResponseStart",
        "onMessageSet",
        "onResponseEnd",
        "onSubmitButtonEnable",
    ):
        assert name in names, (name, names)
    assert ["onValidateEnd", True] in visitor.hooks()
    response = next(data for name, data in visitor.hooks() if name == "onResponse")
    assert response == {"success": 1, "successMessage": THANKS, "formName": "contactus"}
    assert ["onMessageSet", {"message": THANKS, "type": "message"}] in visitor.hooks()
    assert names.index("onResponseStart") < names.index("onResponseEnd")
    visitor.keeps_nothing()


def test_the_server_names_a_field_the_page_could_not_check(visitor: Visitor) -> None:
    form = mautic_form_make()
    values = {"tracker": visitor.tracker, "form_id": form.pk}
    visitor.open(
        "/manual-errors",
        MANUAL_COPY_SCRIPT.substitute(values) + "\n" + MANUAL_COPY_FORM.substitute(values),
        head=HOOKS,
    )
    page = visitor.page
    expect(page.locator("iframe#mauticiframe_contactus")).to_be_attached(timeout=TIMEOUT_MS)
    visitor.expected.append("the server responded with a status of 400")
    # An address to the browser and to the page's check, not to the server (no such domain).
    page.fill("#mauticform_input_contactus_email", "ada@example.c0m")
    page.locator("#mauticform_input_contactus_submit").click()
    error = page.locator("#mauticform_contactus_email .mauticform-errormsg")
    expect(error).to_have_text("Enter a valid email address.", timeout=TIMEOUT_MS)
    expect(error).to_be_visible()
    expect(page.locator("#mauticform_input_contactus_submit")).to_be_enabled()
    assert not Submission.objects.exists()
    visitor.keeps_nothing()


def test_the_iframe_embed_shows_the_thanks_inside_the_frame(visitor: Visitor) -> None:
    form = mautic_form_make()
    visitor.open("/framed", IFRAME.substitute(tracker=visitor.tracker, form_id=form.pk))
    frame = visitor.page.frame_locator("iframe")
    frame.locator("input[name=email]").fill("grace@example.com", timeout=TIMEOUT_MS)
    frame.locator("input[name=first_name]").fill("Grace")
    frame.locator("button[type=submit]").click()
    expect(frame.get_by_role("status")).to_have_text(THANKS, timeout=TIMEOUT_MS)
    assert stored(form) == {"email": "grace@example.com", "first_name": "Grace", "topics": []}
    framed = visitor.page.frames[1]
    assert framed.url.startswith(f"{visitor.tracker}/form/submit?formId={form.pk}")
    visitor.keeps_nothing()


def test_the_iframe_embed_shows_errors_and_follows_the_redirect_inside_the_frame(
    visitor: Visitor,
) -> None:
    form = mautic_form_make(redirect_url=f"{visitor.site.origin}/thanks")
    visitor.site.serve("/thanks", host_page("Thanks", body="<p id='done'>Thanks!</p>"))
    visitor.open("/framed-redirect", IFRAME.substitute(tracker=visitor.tracker, form_id=form.pk))
    visitor.expected.append("the server responded with a status of 400")
    frame = visitor.page.frame_locator("iframe")
    frame.locator("input[name=email]").fill("not an address", timeout=TIMEOUT_MS)
    frame.locator("button[type=submit]").click()
    expect(frame.locator("[data-for=email]")).to_have_text(
        "Enter a valid email address.", timeout=TIMEOUT_MS
    )
    frame.locator("input[name=email]").fill("alan@example.com")
    frame.locator("button[type=submit]").click()
    expect(frame.locator("#done")).to_have_text("Thanks!", timeout=TIMEOUT_MS)
    assert stored(form) == {"email": "alan@example.com", "topics": []}
    visitor.keeps_nothing()


def test_the_form_details_script_embed_still_works(visitor: Visitor) -> None:
    form = mautic_form_make()
    visitor.open("/scripted", SCRIPT.substitute(tracker=visitor.tracker, form_id=form.pk))
    injected = visitor.page.locator("form.consentry-form")
    expect(injected).to_be_visible(timeout=TIMEOUT_MS)
    injected.locator("[name=email]").fill("ada@example.com")
    injected.locator("button[type=submit]").click()
    expect(injected.locator(".consentry-message")).to_have_text(THANKS, timeout=TIMEOUT_MS)
    assert stored(form) == {"email": "ada@example.com", "topics": []}
    visitor.keeps_nothing()
