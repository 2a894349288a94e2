"""Mautic 7's split embed: /mautic-essential.js (the runtime, before consent) and
/mautic-tracking.js (the tracking add-on), served like /mtc.js beside the legacy script."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.django_db]


@pytest.mark.parametrize("path", ["/mtc.js", "/mautic-essential.js", "/mautic-tracking.js"])
def test_each_script_is_served_cacheable_to_any_site_and_revalidates(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=86400" in response["Cache-Control"]
    assert not response.cookies
    again = client.get(path, headers={"If-None-Match": response["ETag"]})
    assert again.status_code == 304


def test_essential_is_the_runtime_alone_and_tracking_is_the_legacy_script(client):
    essential = client.get("/mautic-essential.js").content.decode()
    tracking = client.get("/mautic-tracking.js").content
    assert tracking == client.get("/mtc.js").content
    assert "runtimeReady" in essential
    # Nothing in the essential script can send a hit or read an identity.
    for absent in ("mtc/event", "mtracking.gif", "fetch(", "localStorage", ".cookie", "mtc_id"):
        assert absent not in essential
    assert client.get("/mautic-essential.js").headers["ETag"] != client.get("/mtc.js")["ETag"]


def test_a_post_to_a_script_is_refused(client):
    assert client.post("/mautic-essential.js").status_code == 405
