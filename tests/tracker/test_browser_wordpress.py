"""The WordPress plugin's pixel in a real Chromium: the `<img>` tag WP Mautic writes into every
page, pasted on a host page of another origin of the same site (no script at all), records the
page WordPress describes and stores nothing on the device."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from playwright.sync_api import Browser

from tests.support.browser import HostSite, Person, browsing, eventually, host_page
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.browser]

# WP Mautic, includes/classes/Frontend/Enqueue.php (wpmautic_inject_tracking_pixel), verbatim
# but for the PHP echoes, which the test fills in (the tracker's URL and the payload):
#   <img src="<?php echo esc_url( $base_url ); ?>/mtracking.gif?d=<?php echo esc_attr( $payload );
#   ?>" style="display:none;" alt="<?php echo esc_attr__( 'Mautic Tags', 'wp-mautic' ); ?>" />
PIXEL_TAG = (
    '<img src="{base_url}/mtracking.gif?d={payload}" style="display:none;" alt="Mautic Tags" />'
)


def _php_string(value: str) -> str:
    # PHP's serialize(): s:<length in bytes>:"<bytes>";
    return f's:{len(value.encode())}:"{value}";'


def _payload(page_url: str, title: str) -> str:
    """What wpmautic_get_url_query() and the plugin make of a post: rawurlencode(base64(
    serialize(array)))."""
    serialized = (
        "a:4:{"
        + _php_string("language")
        + _php_string("en_GB")
        + _php_string("page_url")
        + _php_string(page_url)
        + _php_string("page_title")
        + _php_string(title)
        + _php_string("referrer")
        + _php_string("")
        + "}"
    )
    return quote(base64.b64encode(serialized.encode()).decode(), safe="-_.~")


TITLE = "Hello world \u2013 Caf\u00e9"  # WordPress's en dash, and a multi-byte letter


def test_the_plugins_pixel_tag_records_the_post_and_stores_nothing(
    chromium: Browser, site: HostSite
):
    page_url = f"{site.origin}/2024/05/hello-world/"
    tag = PIXEL_TAG.format(base_url=site.tracker, payload=_payload(page_url, TITLE))
    path = site.serve("/2024/05/hello-world/", host_page("Hello world", body=tag))
    with browsing(Person.start(chromium, tracker=site.tracker, javascript=False)) as person:
        with person.page.expect_response(lambda r: "/mtracking.gif" in r.url) as answered:
            person.page.goto(site.origin + path)
        assert answered.value.status == 200
        eventually(lambda: AnonymousHit.objects.count() == 1, "the pixel's hit is stored")
        hit = AnonymousHit.objects.get()
        assert (hit.site, hit.path, hit.title) == (site.origin, "/2024/05/hello-world/", TITLE)
        assert not PageHit.objects.exists()
        assert person.context.cookies() == []
