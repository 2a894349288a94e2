"""Mautic 7's split focus scripts: /focus/{id}/display.js shows the item with no view pixel;
/focus/{id}/tracking.js hands it the pixel, whose request the gate decides on as for
/focus/{id}.js."""

from __future__ import annotations

import json
import re

import pytest
from django.test import override_settings

from focus.models import FocusEvent, FocusItem
from tests.support.tracking import live

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(REDIS_URL=None):
        yield


def item_make() -> FocusItem:
    return FocusItem.objects.create(name="Sale bar", headline="Autumn sale", text="<p>20% off</p>")


def config(response):
    return json.loads(re.search(r"var c = (\{.*?\});\n", response.content.decode()).group(1))


def test_display_shows_the_item_without_a_view_pixel(client):
    item = item_make()
    response = client.get(f"/focus/{item.pk}/display.js")
    assert response.status_code == 200
    c = config(response)
    assert c["headline"] == "Autumn sale"
    assert c["pixel"] == ""
    assert c["split"] is True
    assert c["tracking"].endswith(f"/focus/{item.pk}/tracking.js")
    assert "MauticFocusItems" in response.content.decode()
    assert live(response) == {}
    assert not FocusEvent.objects.exists()


def test_the_legacy_script_keeps_its_view_pixel(client):
    item = item_make()
    c = config(client.get(f"/focus/{item.pk}.js"))
    assert c["pixel"].endswith(f"/focus/{item.pk}/viewpixel.gif")
    assert c["split"] is False


def test_tracking_hands_the_item_its_view_pixel_and_writes_nothing(client):
    item = item_make()
    response = client.get(f"/focus/{item.pk}/tracking.js")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    body = response.content.decode()
    assert f"MauticFocusItems[{item.pk}]" in body
    assert f"/focus/{item.pk}/viewpixel.gif" in body
    assert live(response) == {}
    assert not FocusEvent.objects.exists()


@pytest.mark.parametrize("path", ["display.js", "tracking.js"])
def test_unknown_unpublished_and_malformed_items_are_404(client, path):
    item = item_make()
    item.published = False
    item.save()
    for focus_id in (str(item.pk), "999999", "x1"):
        assert client.get(f"/focus/{focus_id}/{path}").status_code == 404
