"""A site the tracker does not count for, in a real Chromium: its owner reads why in the
console, the operator finds it among the refused origins in the admin and tracks it with one
click, and the next page view counts.

Nothing is mocked: the host page is a plain HTTP server of another origin, the tracker and its
admin are the live Django server (real request cycle, database and consent gate). Without a
Redis URL the tracker writes each hit straight to the database, and the refused origins to
their small table.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, ConsoleMessage, expect

from consentry.models import TrackedSite
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    TIMEOUT_MS,
    HostSite,
    Person,
    admin_log_in,
    browsing,
    eventually,
    fits,
    host_page,
    tracking_snippet,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import tracker as tracker
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]

# The page reports what its onConsent callback heard.
COMMANDS = (
    "window.heard = []; mt('onConsent', (r) => window.heard.push(r)); mt('send', 'pageview');"
)


@dataclass(kw_only=True)
class Owner(Person):
    """The host site's owner, with the browser console open."""

    warnings: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, chromium: Browser, *, javascript: bool = True, **fields: Any) -> Owner:
        person = super().start(chromium, javascript=javascript, **fields)

        def heard(message: ConsoleMessage) -> None:
            if message.type == "warning":
                person.warnings.append(message.text)

        person.page.on("console", heard)
        return person

    def heard(self) -> list[dict[str, Any]]:
        """What the page's onConsent callback was handed, once the script has an answer."""
        self.page.wait_for_function("() => window.heard && window.heard.length > 0")
        replies: list[dict[str, Any]] = self.page.evaluate("() => window.heard")
        return replies


@pytest.fixture
def host(tracker: str, settings: Any) -> Iterator[HostSite]:
    """A host site that no one has told the tracker about."""
    settings.TRACKED_SITES = []
    host = urlsplit(tracker).hostname
    assert host is not None
    site = HostSite(host, tracker)
    site.serve("/", host_page("Shop", head=tracking_snippet(tracker, COMMANDS)))
    try:
        yield site
    finally:
        site.close()


def test_an_untracked_sites_owner_reads_why_and_once_tracked_its_next_page_view_counts(
    chromium, host, tracker
):
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    hint = (
        f"[consentry] {host.origin} is not tracked by this Consentry server: add it under "
        "Tracked sites in the admin"
    )
    with browsing(Owner.start(chromium, tracker=tracker)) as owner:
        owner.page.goto(f"{host.origin}/")
        (reply,) = owner.heard()
        # The reply as a page script reads it: the state, and the reason with the hint.
        assert (reply["consent"], reply["counted"], reply["reason"]) == (
            "none",
            False,
            "site_not_tracked",
        )
        assert (reply["error"], reply["origin"]) == ("site_not_tracked", host.origin)
        # A second command on the same page: refused too, told once.
        owner.page.evaluate("() => window.mt('send', 'pageview')")
        owner.page.wait_for_function("() => window.heard.length == 2")
        assert owner.warnings == [hint]
        assert not AnonymousHit.objects.exists()
        assert not PageHit.objects.exists()
        assert owner.cookies() == {}

        with browsing(Person.start(chromium, tracker=tracker)) as operator:
            admin_log_in(operator.page, tracker)
            operator.page.goto(f"{tracker}/admin/consentry/trackedsite/")
            refused = operator.page.locator(f'#refused-origins tr[data-origin="{host.origin}"]')
            expect(refused.locator("td").nth(1)).to_have_text("2")
            # At each width the page scrolls only down, and the refused list is in view.
            for width in (1366, 390):
                fits(operator.page, name="tracked-sites", width=width)
                expect(operator.page.get_by_role("button", name="Track this site")).to_be_visible()
            with operator.page.expect_navigation(timeout=TIMEOUT_MS):
                refused.get_by_role("button", name="Track this site").click()
            expect(operator.page.locator(".messagelist")).to_have_text(
                re.compile(f"Now tracking {re.escape(host.origin)}")
            )
            expect(operator.page.locator("#result_list")).to_contain_text(host.origin)
            assert TrackedSite.objects.get().origin == host.origin

        owner.warnings.clear()
        owner.page.reload()
        assert owner.heard() == [{"consent": "none", "counted": True, "reason": "no_choice"}]
        eventually(
            lambda: AnonymousHit.objects.filter(site=host.origin).count() == 1,
            "the page view after the site was tracked is stored",
        )
        assert owner.warnings == []
