"""Signed cookies, Mautic's legacy cookies, lifetimes that never renew, and the safety net."""

from __future__ import annotations

import logging
import time
from email.utils import parsedate_to_datetime

import pytest
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from consent import registry
from consent.cookies import apply
from consent.gate import Choice, Surface, decide, read_browser, read_choice, read_device
from consent.models import ConsentRecord
from consent.services import choice_make
from tests.support.browsers import FORGED_CONSENT, consent_cookie, device_cookie
from tests.support.public_urls import SAMPLES, public_patterns, sample_paths

DAY = 86400


def _expired(response, name):
    morsel = response.cookies.get(name)
    return morsel is not None and morsel["max-age"] == 0 and morsel.value == ""


def _live_cookies(response):
    return {m.key for m in response.cookies.values() if m["max-age"] != 0}


@pytest.mark.parametrize("value", FORGED_CONSENT)
def test_a_forged_or_unsigned_consent_cookie_reads_as_no_choice(value):
    assert read_choice(value, int(time.time())) is None


@pytest.mark.parametrize(
    "value",
    [
        "dev-1.1700000000",  # unsigned
        consent_cookie("g"),  # another cookie's signed value
        device_cookie(issued_at=int(time.time()) - 396 * DAY),  # older than 13 months
        device_cookie(issued_at=int(time.time()) + 30 * DAY),  # issued in the future
        device_cookie("dev-1")[:-3],  # truncated signature
    ],
)
def test_a_forged_foreign_or_stale_device_cookie_reads_as_absent(value):
    assert read_device(value, int(time.time())) is None


@pytest.mark.django_db
def test_a_forged_grant_identifies_no_one_and_is_expired():
    request = RequestFactory().get("/")
    request.COOKIES[registry.CONSENT.name] = FORGED_CONSENT[2]
    request.COOKIES[registry.DEVICE.name] = "dev-1.1700000000"
    decision = decide(request, surface=Surface.PAGE)
    assert decision.device_id is None
    assert not decision.identify
    response = HttpResponse()
    apply(response, decision, device_id="new-device")
    assert _expired(response, registry.DEVICE.name)


@pytest.mark.django_db
def test_every_public_url_pattern_has_a_sample_to_check():
    names = {name for _route, name in public_patterns()}
    assert names <= set(SAMPLES), f"add samples for {names - set(SAMPLES)}"


@pytest.mark.django_db
@pytest.mark.parametrize("path", sample_paths())
def test_mautic_cookies_are_expired_on_every_public_url(client, path):
    client.cookies["mtc_id"] = "7"
    client.cookies["mautic_device_id"] = "x"
    response = client.get(path)
    assert response.status_code < 500
    assert _expired(response, "mtc_id")
    assert _expired(response, "mautic_device_id")
    assert _live_cookies(response) == set()


@pytest.mark.django_db
def test_mautic_cookies_set_on_the_parent_domain_are_expired_there_too(client):
    client.cookies["mtc_sid"] = "1"
    with override_settings(COOKIE_DOMAIN=".example.com"):
        response = client.get("/healthz")
    headers = [m.OutputString() for m in response.cookies.values()]
    assert any("mtc_sid=" in h and "Domain=.example.com" in h for h in headers)
    assert any("mtc_sid=" in h and "Domain" not in h for h in headers)


@pytest.mark.django_db
def test_a_new_choice_keeps_the_first_expiry_of_the_consent_cookie():
    first_issued = int(time.time()) - 100 * DAY
    request = RequestFactory().get("/")
    request.COOKIES[registry.CONSENT.name] = consent_cookie("r", issued_at=first_issued)
    response = HttpResponse()
    choice_make(request=request, response=response, choice=Choice.GRANTED, source="test")
    morsel = response.cookies[registry.CONSENT.name]
    expires = parsedate_to_datetime(morsel["expires"]).timestamp()
    assert expires == pytest.approx(first_issued + 395 * DAY, abs=1)
    assert morsel["max-age"] <= 295 * DAY + 1
    # The new value says granted, and keeps the first issue time.
    after = RequestFactory().get("/")
    after.COOKIES[registry.CONSENT.name] = morsel.value
    stored = read_browser(after).choice
    assert stored is not None
    assert stored.choice is Choice.GRANTED
    assert stored.issued_at == first_issued
    assert ConsentRecord.objects.get().action == "grant"


@pytest.mark.django_db
def test_a_present_device_cookie_is_never_rewritten_so_never_renewed():
    request = RequestFactory().get("/")
    request.COOKIES[registry.CONSENT.name] = consent_cookie("g")
    request.COOKIES[registry.DEVICE.name] = device_cookie("dev-1", issued_at=int(time.time()) - DAY)
    response = HttpResponse()
    apply(response, decide(request, surface=Surface.PAGE), device_id="dev-1")
    assert registry.DEVICE.name not in response.cookies


def test_every_registered_cookie_lives_at_most_thirteen_months():
    assert all(spec.max_age <= 395 * DAY for spec in registry.REGISTRY)
    with pytest.raises(ValueError, match="lifetime"):
        registry.CookieSpec(
            name="x",
            category=registry.Category.TRACKING,
            purpose="",
            when="",
            lifetime_days=400,
            salt="x",
        )


@pytest.mark.django_db
@pytest.mark.urls("tests.support.leaky_urls")
def test_the_safety_net_strips_cookies_the_gate_did_not_write(client, caplog):
    client.cookies["mautic_device_id"] = "old"
    with caplog.at_level(logging.ERROR, logger="consent.guard"):
        response = client.get("/leak")
    assert _live_cookies(response) == set()
    # The legacy cookie the browser carried is still expired, by the gate's own hand.
    assert _expired(response, "mautic_device_id")
    stripped = {r.args[0] for r in caplog.records}
    assert stripped == {"consentry_device", "some_library_cookie"}


@pytest.mark.django_db
@pytest.mark.urls("tests.support.leaky_urls")
def test_operator_pages_keep_their_own_cookies_but_never_a_tracking_one(client):
    response = client.get("/admin/leak")
    assert _live_cookies(response) == {"some_library_cookie"}


@pytest.mark.django_db
def test_a_cacheable_response_that_expires_a_cookie_is_kept_out_of_shared_caches(client):
    assert "public" in client.get("/mtc.js")["Cache-Control"]
    client.cookies["mtc_id"] = "7"
    response = client.get("/mtc.js")
    assert _expired(response, "mtc_id")
    assert "private" in response["Cache-Control"]
    assert "public" not in response["Cache-Control"]


@pytest.mark.django_db
def test_every_gate_decision_is_visible_as_a_reason_code(client):
    assert client.get("/mtracking.gif?page_url=http://testserver/")["X-Consentry-Decision"] == (
        "no_choice"
    )
    assert client.get("/mtracking.gif", headers={"Sec-GPC": "1"})["X-Consentry-Decision"] == "gpc"
