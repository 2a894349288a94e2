"""Mautic's snippets pasted into a host page on another origin of the same site, in Chromium:
the legacy mtc.js with callbacks, Mautic 7's essential-then-tracking loader, and a focus item's
display.js with tracking enabled after consent."""

from __future__ import annotations

from typing import Any

import pytest

from focus.models import FocusEvent, FocusItem
from tests.support.browser import HostSite, Person, browsing, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.tracker.snippets.mautic_snippets import (
    ESSENTIAL,
    FOCUS_DISPLAY,
    LEGACY,
    TRACKING_ADDON,
)
from tracker.models import AnonymousHit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class Visitor(Person):
    requests: list[str]

    def watch(self) -> None:
        self.requests = []
        self.page.on("request", lambda r: self.requests.append(r.url))

    def nothing_stored(self) -> None:
        assert self.cookies() == {}
        assert self.storage() == {"cookie": "", "local": 0, "session": 0, "indexed": 0}


def visit(chromium: Any, site: HostSite, path: str, page: str) -> Visitor:
    site.serve(path, page)
    visitor = Visitor.start(chromium, tracker=site.tracker)
    visitor.watch()
    visitor.page.goto(site.origin + path)
    return visitor


def test_the_legacy_snippet_runs_onload_after_the_hit_is_stored(chromium, site):
    page = host_page("Callbacks", body=LEGACY.format(url=site.tracker))
    with browsing(visit(chromium, site, "/legacy", page)) as visitor:
        visitor.until(lambda: visitor.page.evaluate("window.loaded === 1"), "onload ran")
        assert visitor.page.evaluate("window.failed") is None
        assert AnonymousHit.objects.filter(path="/legacy").count() == 1
        visitor.nothing_stored()


def test_essential_alone_sends_nothing_and_the_add_on_counts_after_consent(chromium, site):
    page = host_page("Split", body=ESSENTIAL.format(url=site.tracker))
    with browsing(visit(chromium, site, "/split", page)) as visitor:
        visitor.until(
            lambda: visitor.page.evaluate("!!(window.MauticJS && MauticJS.runtimeReady)"),
            "the runtime is ready",
        )
        visitor.page.wait_for_timeout(300)
        assert not [u for u in visitor.requests if "/mtc/event" in u or "mtracking" in u]
        assert visitor.page.evaluate("MauticJS.trackingEnabled") is False
        assert not AnonymousHit.objects.exists()
        visitor.nothing_stored()

        # The site's banner says yes: it pastes Mautic's tracking add-on.
        addon = TRACKING_ADDON.format(url=site.tracker).removeprefix("<script>")
        visitor.page.evaluate(
            "(code) => { document.addEventListener('mautic:tracking-enabled', function () {"
            " window.enabledEvents = (window.enabledEvents || 0) + 1; });"
            " (0, eval)(code); }",
            addon.removesuffix("</script>"),
        )
        visitor.until(lambda: AnonymousHit.objects.filter(path="/split").exists(), "a hit")
        assert visitor.page.evaluate("MauticJS.trackingEnabled") is True
        assert visitor.page.evaluate("window.enabledEvents") == 1
        # The gate, not the add-on, decides: without a grant the hit is anonymous, no cookie.
        visitor.nothing_stored()


def test_a_focus_item_displays_without_a_view_and_counts_once_tracking_is_enabled(chromium, site):
    item = FocusItem.objects.create(name="Bar", headline="Autumn sale", text="<p>20% off</p>")
    page = host_page("Focus", body=FOCUS_DISPLAY.format(url=site.tracker, id=item.pk))
    with browsing(visit(chromium, site, "/focus", page)) as visitor:
        visitor.until(
            lambda: visitor.page.evaluate(f"!!(window.MauticFocusItems||{{}})[{item.pk}]"),
            "the item is displayed",
        )
        assert visitor.page.locator("[data-consentry-focus]").count() == 1
        visitor.page.wait_for_timeout(300)
        assert not [u for u in visitor.requests if "viewpixel" in u]
        assert not FocusEvent.objects.exists()

        visitor.page.evaluate(f"window.MauticFocus.enableTracking({item.pk})")
        visitor.until(lambda: FocusEvent.objects.filter(focus_id=item.pk).count() == 1, "a view")
        assert FocusEvent.objects.get().device is None
