"""Slots, items and variants through the REST API: created, read, changed and deleted, with
the rules the admin keeps (one default item per slot, a filter in the small language)."""

from __future__ import annotations

import pytest

from dwc.models import Item, Variant
from tests.support.apiclients import api_client

pytestmark = pytest.mark.django_db

EDITOR = tuple(
    f"dwc.{action}_{model}"
    for action in ("view", "add", "change", "delete")
    for model in ("slot", "item", "variant")
)


def test_an_editor_builds_a_personalised_slot_through_the_api():
    api = api_client(*EDITOR)
    slot = api.post("/api/v1/dwc/slots/", {"name": "hero"}, format="json")
    assert slot.status_code == 201, slot.content
    item = api.post(
        "/api/v1/dwc/items/",
        {
            "slot": slot.json()["id"],
            "name": "All",
            "is_default": True,
            "content": '<p onmouseover="x()">Hi</p>',
        },
        format="json",
    )
    assert item.status_code == 201, item.content
    assert item.json()["content_safe"] == "<p>Hi</p>"
    variant = api.post(
        "/api/v1/dwc/variants/",
        {
            "item": item.json()["id"],
            "name": "French",
            "content": "<p>Salut</p>",
            "filters": [{"field": "country", "op": "eq", "value": "FR"}],
        },
        format="json",
    )
    assert variant.status_code == 201, variant.content
    assert variant.json()["filters"] == [
        {"field": "country", "op": "eq", "value": "FR", "glue": "and"}
    ]
    changed = api.patch(
        f"/api/v1/dwc/variants/{variant.json()['id']}/", {"priority": 5}, format="json"
    )
    assert changed.json()["priority"] == 5
    assert api.get("/api/v1/dwc/slots/").json()["results"][0]["name"] == "hero"
    assert api.delete(f"/api/v1/dwc/slots/{slot.json()['id']}/").status_code == 204
    assert not Item.objects.exists()
    assert not Variant.objects.exists()


def test_a_second_default_item_and_a_bad_filter_are_refused_naming_the_field():
    api = api_client(*EDITOR)
    slot = api.post("/api/v1/dwc/slots/", {"name": "hero"}, format="json").json()
    body = {"slot": slot["id"], "name": "A", "is_default": True, "content": "a"}
    first = api.post("/api/v1/dwc/items/", body, format="json").json()
    second = api.post("/api/v1/dwc/items/", {**body, "name": "B"}, format="json")
    assert second.status_code == 400
    assert "is_default" in second.json()["fields"]
    bad = api.post(
        "/api/v1/dwc/variants/",
        {
            "item": first["id"],
            "name": "x",
            "content": "x",
            "filters": [{"field": "x", "op": "eval", "value": "1"}],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert "filters" in bad.json()["fields"]
    named = api.post("/api/v1/dwc/slots/", {"name": "a b"}, format="json")
    assert named.status_code == 400
    assert "name" in named.json()["fields"]
