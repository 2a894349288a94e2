"""Chromium reads every redirect the way consentry.redirects says it does.

For each browser-parsing trick of tests/support/redirect_corpus.py, Chromium itself reads the
URL, on a page of an allowed origin, with the same URL parser that `location.href = x`
navigates with:
wherever the checker lets a URL through, Chromium lands on an allowed origin, at exactly the
URL the checker returned; wherever Chromium would land off-site, the checker refused. Then one
form, end to end: the reported redirect never takes a visitor to evil.example.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Response, expect

from consentry.redirects import redirect_target, url_read
from forms.models import Form, Submission
from tests.support.browser import BLANK, TIMEOUT_MS, HostSite, Person, browsing, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make
from tests.support.redirect_corpus import READINGS, REDIRECTS, fill

pytestmark = [pytest.mark.browser]

# Chromium's reading of each URL: alone, and from the page (where `location.href = x` goes).
READ_IN_CHROMIUM = """([urls, base]) => urls.map((x) => {
    const read = (...args) => {
        try {
            const url = new URL(...args);
            return {href: url.href, origin: url.origin};
        } catch (error) {
            return null;
        }
    };
    return {alone: read(x), here: read(x, base)};
})"""


@dataclass(kw_only=True)
class Visitor(Person):
    site: HostSite

    def read(self, urls: list[str]) -> list[dict[str, Any]]:
        """Chromium's readings of `urls`, all in one page of the host site."""
        path = self.site.serve("/base/page", host_page("Base"))
        self.page.goto(self.site.origin + path)
        readings: list[dict[str, Any]] = self.page.evaluate(READ_IN_CHROMIUM, [urls, self.page.url])
        return readings

    def open_embed(self, form: Form) -> None:
        script = f'<script src="{self.tracker}/form/generate.js?id={form.pk}"></script>'
        path = self.site.serve(f"/contact-{form.pk}", host_page("Contact", body=script))
        self.page.goto(self.site.origin + path)
        expect(self.page.locator("form.consentry-form")).to_be_visible(timeout=TIMEOUT_MS)

    def submit(self) -> Response:
        form = self.page.locator("form.consentry-form")
        form.locator("[name=email]").fill("ada@example.com")

        def is_submit(response: Response) -> bool:
            return response.url.startswith(f"{self.tracker}/form/submit?")

        with self.page.expect_response(is_submit, timeout=TIMEOUT_MS) as answer:
            form.locator("button[type=submit]").click()
        answer.value.finished()
        return answer.value


@pytest.fixture
def visitor(chromium: Browser, site: HostSite) -> Iterator[Visitor]:
    person = Visitor.start(chromium, tracker=site.tracker, site=site)
    with browsing(person):
        yield person


def test_chromium_lands_on_an_allowed_origin_wherever_the_checker_lets_a_redirect_through(
    visitor,
):
    site = visitor.site
    allowed = frozenset({site.origin})
    stored = [fill(template, urlsplit(site.origin).netloc) for template, _ in REDIRECTS]
    ours = [redirect_target(raw, allowed=allowed) for raw in stored]
    readings = visitor.read(stored + [url for url in ours if url])
    sent_back = iter(readings[len(stored) :])
    wrong, off_site = [], 0
    for raw, target, chromium_reads in zip(stored, ours, readings[: len(stored)], strict=True):
        landing = chromium_reads["here"]
        if landing and landing["origin"] not in allowed:
            off_site += 1
            if target is not None:
                wrong.append(f"{raw!r}: sent as {target}, Chromium lands on {landing['href']}")
        if target is not None:
            again = next(sent_back)["alone"]
            if chromium_reads["alone"] is None or chromium_reads["alone"]["href"] != target:
                wrong.append(f"{raw!r}: sent as {target}, Chromium reads {chromium_reads}")
            if again is None or again["href"] != target:
                wrong.append(f"{target!r} is read by Chromium as {again}")
            if landing is None or landing["origin"] not in allowed:
                wrong.append(f"{raw!r}: sent as {target}, but from the page it is {landing}")
    assert wrong == []
    # The corpus is made of tricks: most of them take Chromium off-site.
    assert off_site >= 50


def test_every_url_the_checker_reads_chromium_reads_alike(visitor):
    readable = [raw for raw, _ in READINGS if "\ud800" not in raw]
    readings = visitor.read(readable)
    for raw, chromium_reads in zip(readable, readings, strict=True):
        ours = url_read(raw)
        if ours is not None:
            assert chromium_reads["alone"] == {"href": ours.href, "origin": ours.origin}, raw


def test_a_form_redirect_behind_a_backslash_never_takes_the_visitor_off_site(visitor):
    tracker_host = urlsplit(visitor.tracker).netloc
    form = form_make(redirect_url=f"http://evil.example\\@{tracker_host}/")
    off_site = visitor.answer("http://evil.example/*", BLANK)
    visitor.open_embed(form)
    visitor.submit()
    visitor.page.wait_for_timeout(200)  # a navigation, had one started, would show by now
    assert off_site == []
    assert visitor.page.url.startswith(visitor.site.origin)
    expect(visitor.page.locator(".consentry-message")).to_have_text(form.success_message)
    assert Submission.objects.count() == 1


def test_a_redirect_spelled_as_browsers_tolerate_lands_where_it_was_read(visitor):
    host = urlsplit(visitor.site.origin).netloc
    visitor.site.serve("/thanks/", host_page("Thanks"))
    form = form_make(redirect_url=f"HTTP:\\\\{host}\\thanks\\.\\?from=form\t#top")
    visitor.open_embed(form)
    expected = f"{visitor.site.origin}/thanks/?from=form#top"
    with visitor.page.expect_navigation(url=expected, timeout=TIMEOUT_MS):
        visitor.submit()
    expect(visitor.page.locator("h1")).to_have_text("Thanks")
