"""/mtc-consent/{name}.js: each bridge to a site's consent banner is served on its own, like
/mtc.js, so a page loads only the one it names; the core script stays within its budget."""

from __future__ import annotations

import gzip

import pytest

from tracker.banners import BRIDGES

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize("name", sorted(BRIDGES))
def test_each_bridge_is_served_cacheable_to_any_site_and_revalidates(client, name):
    response = client.get(f"/mtc-consent/{name}.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=86400" in response["Cache-Control"]
    assert not response.cookies
    # It reports through the tracker's own consent command, and touches no storage.
    body = response.content.decode()
    assert "consentBridge" in body
    for absent in ("localStorage", "sessionStorage", ".cookie=", "indexedDB"):
        assert absent not in body
    again = client.get(f"/mtc-consent/{name}.js", headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_a_banner_without_a_bridge_is_a_404_and_names_never_reach_the_disk(client):
    for path in ("/mtc-consent/unknown.js", "/mtc-consent/..%2Fmtc.min.js", "/mtc-consent/.js"):
        assert client.get(path).status_code == 404


def test_the_core_script_names_no_banner_and_stays_small(client):
    core = client.get("/mtc.js").content
    assert len(gzip.compress(core, 9)) < 3136
    for banner in ("__tcfapi", "Cookiebot", "OnetrustActiveGroups", "klaro", "cc:onChange"):
        assert banner.encode() not in core
