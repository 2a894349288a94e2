"""The builders' rules hold in the API as in the admin: what the admin refuses with a message on
a box, the API refuses with the same message under that field, and nothing is saved."""

from __future__ import annotations

from typing import Any

import pytest

from focus.models import FocusItem
from forms.models import Field, Form
from tests.support.apiclients import ALL, api_client, model_perms
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Any:
    return api_client(
        *model_perms("forms", "form", *ALL),
        *model_perms("forms", "field", *ALL),
        *model_perms("focus", "focusitem", *ALL),
    )


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content
    fields: dict[str, list[str]] = response.json()["fields"]
    return fields


FOCUS = {"name": "Bar", "headline": "Sale"}


@pytest.mark.parametrize(
    ("values", "box", "says"),
    [
        (
            {"button_label": "Go", "button_url": "https://a.example/", "form": "FORM"},
            "form",
            "not both",
        ),
        ({"button_label": "Go"}, "button_label", "needs a link or a form"),
        ({"trigger": "delay", "trigger_value": 0}, "trigger_value", "seconds to wait"),
        ({"trigger": "scroll", "trigger_value": 150}, "trigger_value", "percent"),
        ({"foreground": "#ffffff", "background": "#fefefe"}, "foreground", "hard to read"),
        ({"text": "<p>Hi<script>x()</script></p>"}, "text", "<script>"),
        ({"background": "red;x"}, "background", ""),
    ],
)
def test_a_focus_item_that_cannot_work_is_refused_on_create_and_on_patch(api, values, box, says):
    form = form_make(published=True)
    values = {k: (form.pk if v == "FORM" else v) for k, v in values.items()}
    refused = errors(api.post("/api/v1/focus/", {**FOCUS, **values}, format="json"))
    assert says in " ".join(refused[box])
    assert not FocusItem.objects.exists()
    # A PATCH is checked on the item as it would be saved, not only on the fields it sends.
    item = api.post("/api/v1/focus/", FOCUS, format="json").json()
    refused = errors(api.patch(f"/api/v1/focus/{item['id']}/", values, format="json"))
    assert says in " ".join(refused[box])
    assert FocusItem.objects.get().button_label == ""


def test_a_published_focus_item_cannot_open_an_unpublished_form(api):
    draft = form_make(published=False)
    body = {**FOCUS, "published": True, "button_label": "Join", "form": draft.pk}
    assert "not published" in " ".join(
        errors(api.post("/api/v1/focus/", body, format="json"))["form"]
    )
    body["published"] = False
    assert api.post("/api/v1/focus/", body, format="json").status_code == 201


def test_a_patch_that_keeps_the_other_half_of_a_contradiction_is_refused(api):
    form = form_make(published=True)
    item = api.post(
        "/api/v1/focus/",
        {**FOCUS, "button_label": "Go", "button_url": "https://a.example/"},
        format="json",
    ).json()
    # Only the form is sent; the link already saved makes the pair contradictory.
    refused = errors(api.patch(f"/api/v1/focus/{item['id']}/", {"form": form.pk}, format="json"))
    assert "not both" in refused["form"][0]


@pytest.mark.parametrize(
    ("field", "box", "says"),
    [
        ({"label": "Size", "alias": "size", "type": "select"}, "options", "needs options"),
        (
            {"label": "Name", "alias": "name", "type": "text", "options": "a\nb"},
            "options",
            "never show",
        ),
        (
            {"label": "Age", "alias": "age", "type": "number", "min_value": 9, "max_value": 1},
            "max_value",
            "below",
        ),
        (
            {"label": "Ok", "alias": "ok", "type": "email_consent", "default": "1"},
            "default",
            "unticked",
        ),
        (
            {"label": "Work", "alias": "work", "type": "text", "contact_field": "email"},
            "contact_field",
            "Email",
        ),
        (
            {"label": "Ref", "alias": "ref", "type": "hidden", "required": True},
            "required",
            "default",
        ),
    ],
)
def test_a_field_that_cannot_work_is_refused_with_the_builders_message(api, field, box, says):
    form = api.post("/api/v1/forms/", {"name": "Contact"}, format="json").json()
    refused = errors(api.post(f"/api/v1/forms/{form['id']}/fields/", field, format="json"))
    assert says in " ".join(refused[box])
    assert not Field.objects.exists()


def test_fields_that_clash_with_the_forms_others_are_refused(api):
    form = form_make()  # has an Email field, and one email-consent box
    second_email = {"label": "Work email", "alias": "work", "type": "email"}
    refused = errors(api.post(f"/api/v1/forms/{form.pk}/fields/", second_email, format="json"))
    assert "fill the contact's email" in refused["non_field_errors"][0]
    consent = {"label": "Again", "alias": "again", "type": "email_consent"}
    refused = errors(api.post(f"/api/v1/forms/{form.pk}/fields/", consent, format="json"))
    assert "box per form is read" in " ".join(refused["non_field_errors"])
    assert Field.objects.filter(form=form).count() == 10


def test_a_form_is_checked_as_the_admin_checks_it(api):
    origins = errors(
        api.post(
            "/api/v1/forms/",
            {"name": "C", "allowed_origins": "https://shop.example.com/contact"},
            format="json",
        )
    )
    assert "write https://shop.example.com" in origins["allowed_origins"][0]
    kiosk = errors(
        api.post(
            "/api/v1/forms/",
            {"name": "C", "kiosk": True, "set_cookie_on_submission": True},
            format="json",
        )
    )
    assert "kiosk form never sets a cookie" in kiosk["set_cookie_on_submission"][0]
    assert not Form.objects.exists()


def test_a_form_is_built_through_the_api_then_published(api):
    # Fields are added after the form, so a new form may stand without them for a moment...
    form = api.post("/api/v1/forms/", {"name": "Contact", "published": False}, format="json")
    url = f"/api/v1/forms/{form.json()['id']}/"
    # ...but is not published so.
    empty = errors(api.patch(url, {"published": True}, format="json"))
    assert "at least one field" in empty["non_field_errors"][0]
    field = {"label": "Email", "alias": "email", "type": "email", "required": True}
    assert api.post(f"{url}fields/", field, format="json").status_code == 201
    published = api.patch(url, {"published": True}, format="json")
    assert published.status_code == 200, published.content
    # Double opt-in with no email-consent box would never send a confirmation.
    refused = errors(api.patch(url, {"double_opt_in": True}, format="json"))
    assert "no confirmation would ever be sent" in refused["non_field_errors"][0]
    assert Form.objects.get().double_opt_in is False
