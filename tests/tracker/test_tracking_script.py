"""/mtc.js: small, cacheable, revalidated by ETag, and it writes nothing on the host site."""

from __future__ import annotations

import gzip
import re

import pytest

from tracker.views import ESSENTIAL_SCRIPT, SCRIPT

pytestmark = pytest.mark.django_db


def test_the_script_is_served_with_a_long_cache_and_an_etag(client):
    response = client.get("/mtc.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "max-age=86400" in response["Cache-Control"]
    etag = response["ETag"]
    again = client.get("/mtc.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_the_minified_scripts_stay_within_their_budgets_gzipped():
    # /mtc.js carries the MauticJS runtime that Mautic's integrators call (3 KiB) and only the
    # loaders of the parts a page may not need (a banner's bridge, the dynamic-content filler);
    # the essential script is that runtime alone.
    assert len(gzip.compress(SCRIPT.read_bytes(), 9)) < 3136
    assert len(gzip.compress(ESSENTIAL_SCRIPT.read_bytes(), 9)) < 1536
    assert len(gzip.compress((SCRIPT.parent / "dwc.min.js").read_bytes(), 9)) < 1536


def test_the_script_never_touches_cookies_or_storage():
    source = SCRIPT.read_text()
    assert not re.search(r"document\.cookie|localStorage|sessionStorage|indexedDB", source)


def test_the_script_knows_the_consent_commands():
    source = SCRIPT.read_text()
    for command in ("setCookieConsentGiven", "forgetCookieConsentGiven", "optOut", "consent"):
        assert command in source
