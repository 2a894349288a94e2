"""A database constraint that an operator can run into speaks in a sentence: Django words the
ones it cannot name by fields (a condition, an expression, a check) as "Constraint
“name” is violated" unless the constraint carries its own message."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.db import models

from dwc.models import Item, Slot

pytestmark = pytest.mark.django_db


def _edited_in_the_admin() -> set[type[models.Model]]:
    edited = set()
    for model, model_admin in admin.site._registry.items():
        edited.add(model)
        edited.update(inline.model for inline in model_admin.inlines)
    return edited


def _named_only_by_django(constraint: models.BaseConstraint) -> bool:
    if isinstance(constraint, models.CheckConstraint):
        return True
    return isinstance(constraint, models.UniqueConstraint) and bool(
        constraint.condition or constraint.expressions
    )


def test_every_constraint_an_operator_can_meet_has_its_own_message():
    generic = []
    for model in _edited_in_the_admin():
        for constraint in model._meta.constraints:
            if (
                _named_only_by_django(constraint)
                and constraint.violation_error_message == constraint.default_violation_error_message
            ):
                generic.append(f"{model._meta.label}.{constraint.name}")
    assert generic == []


def test_a_second_default_item_is_refused_in_a_sentence(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    slot = Slot.objects.create(name="hero")
    Item.objects.create(slot=slot, name="Welcome", content="<p>Hi</p>", is_default=True)
    response = client.post(
        "/admin/dwc/item/add/",
        {
            "slot": slot.pk,
            "name": "Other",
            "published": "on",
            "is_default": "on",
            "content": "<p>Other</p>",
            "variants-TOTAL_FORMS": "0",
            "variants-INITIAL_FORMS": "0",
        },
    )
    html = response.content.decode()
    assert "This slot already has a default item" in html
    assert "dwc_one_default_item" not in html
    assert Item.objects.count() == 1


def test_two_default_items_ticked_in_one_save_are_refused_in_a_sentence(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    rows = {
        f"items-{n}-{key}": value
        for n, name in enumerate(["Welcome", "Spring"])
        for key, value in {"name": name, "published": "on", "is_default": "on"}.items()
    }
    response = client.post(
        "/admin/dwc/slot/add/",
        {
            "name": "hero",
            "description": "",
            "items-TOTAL_FORMS": "2",
            "items-INITIAL_FORMS": "0",
            **rows,
        },
    )
    assert response.status_code == 200
    assert "Welcome and Spring are both ticked" in response.content.decode()
    assert not Slot.objects.exists()
