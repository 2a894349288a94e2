"""GET /mtracking.gif: the no-script fallback counts without a cookie (the RFC's Problem 4)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from consent import registry
from tests.support.browsers import consent_cookie
from tests.support.tracking import CHROME, live
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.django_db]

URL = "/mtracking.gif?page_url=http://testserver/landing&page_title=Welcome"


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def test_the_pixel_is_a_43_byte_gif_never_cached_and_sets_no_cookie(client):
    response = client.get(URL, headers={"User-Agent": CHROME})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    assert len(response.content) == 43
    assert response.content.startswith(b"GIF89a")
    assert response["Cache-Control"] == "no-store"
    assert live(response) == {}
    hit = AnonymousHit.objects.get()
    assert (hit.path, hit.title, hit.machine) == ("/landing", "Welcome", False)


def test_the_pixel_expires_mautics_cookies(client):
    client.cookies["mtc_id"] = "7"
    client.cookies["mautic_referer_id"] = "3"
    response = client.get(URL, headers={"User-Agent": CHROME})
    assert {m.key for m in response.cookies.values() if m["max-age"] == 0} == {
        "mtc_id",
        "mautic_referer_id",
    }
    assert live(response) == {}


def test_the_pixel_identifies_only_with_a_grant(client):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = client.get(URL, headers={"User-Agent": CHROME})
    assert registry.DEVICE.name in live(response)
    client.get(URL, headers={"User-Agent": CHROME})
    assert PageHit.objects.count() == 2


def test_the_page_comes_from_the_referer_when_not_given(client):
    client.get("/mtracking.gif", headers={"User-Agent": CHROME, "Referer": "http://testserver/r"})
    assert AnonymousHit.objects.get().path == "/r"


@pytest.mark.parametrize(
    ("headers", "method"),
    [
        (
            {
                "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
            },
            "get",
        ),
        ({"User-Agent": "curl/8.5.0"}, "get"),
        ({"User-Agent": CHROME, "Sec-Purpose": "prefetch;prerender"}, "get"),
        ({"User-Agent": CHROME, "Purpose": "prefetch"}, "get"),
        ({"User-Agent": CHROME}, "head"),
    ],
)
def test_crawlers_prefetches_and_head_are_counted_as_machines_not_people(client, headers, method):
    getattr(client, method)(URL, headers=headers)
    hit = AnonymousHit.objects.get()
    assert hit.machine is True


def test_a_machine_is_never_identified_even_with_a_grant(client):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.get(URL, headers={"User-Agent": "curl/8.5.0"})
    assert PageHit.objects.count() == 0
    assert AnonymousHit.objects.get().machine


def test_an_untracked_site_is_not_counted(client):
    response = client.get("/mtracking.gif?page_url=https://elsewhere.example/")
    assert response.status_code == 400
    assert response["Content-Type"] == "image/gif"
    assert AnonymousHit.objects.count() == 0


@override_settings(TRACKING_MODE="off")
def test_mode_off_counts_nothing(client):
    client.get(URL, headers={"User-Agent": CHROME})
    assert AnonymousHit.objects.count() == 0
