"""Mautic installs without URL rewriting hand out /index.php/… in every link and embed: each
public path answers the same under /index.php/, taken from the URL conf, so a path added later
gets its twin. The operator's admin and API have none."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
from django.test import override_settings
from django.urls import Resolver404, resolve

from consentry.handlers import HOT_PATH
from tests.support.public_urls import SAMPLES, public_patterns
from tests.support.tracking import CHROME, live
from tracker.models import AnonymousHit

pytestmark = [pytest.mark.django_db]

TWIN = "index.php/"


def _originals() -> list[tuple[str, str | None]]:
    return [(route, name) for route, name in public_patterns() if not route.startswith(TWIN)]


def _samples() -> list[str]:
    return [path for _route, name in _originals() for path in SAMPLES.get(name or "", [])]


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def test_every_public_url_pattern_has_its_index_php_twin():
    routes = [route for route, _name in public_patterns()]
    twins = {route.removeprefix(TWIN) for route in routes if route.startswith(TWIN)}
    originals = {route for route, _name in _originals()}
    assert originals, "no public patterns found"
    assert originals - twins == set(), "public paths without an /index.php/ twin"
    assert twins - originals == set()


@pytest.mark.parametrize("path", _samples())
def test_every_public_url_answers_the_same_on_its_twin(client, path):
    route = path.split("?")[0]
    with contextlib.suppress(Resolver404):  # a sample of a path that must not resolve
        assert resolve("/index.php" + route).func == resolve(route).func
    headers = {"User-Agent": CHROME}
    plain = client.get(path, headers=headers)
    client.cookies.clear()
    twin = client.get("/index.php" + path, headers=headers)
    assert twin.status_code == plain.status_code
    assert twin.get("Content-Type") == plain.get("Content-Type")
    assert twin.get("Location") == plain.get("Location")
    assert sorted(live(twin)) == sorted(live(plain))
    assert len(twin.content) == len(plain.content)


@pytest.mark.parametrize("path", ["/index.php/admin/", "/index.php/api/v1/contacts/"])
def test_the_operators_admin_and_api_have_no_twin(client, path):
    assert client.get(path).status_code == 404


def test_the_pixel_on_its_twin_records_the_page(client):
    response = client.get(
        "/index.php/mtracking.gif?page_url=http://testserver/old-install&page_title=Old",
        headers={"User-Agent": CHROME},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    hit = AnonymousHit.objects.get()
    assert (hit.path, hit.title) == ("/old-install", "Old")


def test_the_scripts_beacon_on_its_twin_records_the_page(client):
    body = {"type": "pageview", "id": str(uuid.uuid4()), "page_url": "http://testserver/a"}
    response = client.post(
        "/index.php/mtc/event",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        headers={"User-Agent": CHROME},
    )
    assert response.status_code == 200, response.content
    assert AnonymousHit.objects.get().path == "/a"


@pytest.mark.parametrize(
    "path",
    [
        "/mtracking.gif",
        "/mtc/event",
        "/email/abcdefghijklmnopqrstuvwx.gif",
        "/r/abcdefghijklmnop",
        "/focus/12/viewpixel.gif",
    ],
)
def test_the_hot_paths_twins_take_the_short_chain_too(path):
    assert HOT_PATH.fullmatch(path)
    assert HOT_PATH.fullmatch("/index.php" + path)
    assert not HOT_PATH.fullmatch("/index.php/index.php" + path)
