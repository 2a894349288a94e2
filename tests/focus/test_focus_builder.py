"""The focus builder in the admin: help on every setting, colour pickers, configurations that
cannot work refused with a message on their box, and a live preview of unsaved values that
stores nothing and counts nothing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from emails.models import TrackedLink
from focus.admin import FOCUS_HELP
from focus.colours import colour_contrast, colour_text_on
from focus.models import FocusEvent, FocusItem
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db

VALUES = {
    "name": "Autumn sale",
    "published": "on",
    "style": "modal",
    "headline": "20% off",
    "text": "<p>Use code <strong>AUTUMN</strong></p>",
    "background": "#1f2937",
    "foreground": "#ffffff",
    "button_colour": "#2563eb",
    "button_label": "Shop now",
    "button_url": "https://shop.example.com/sale",
    "form": "",
    "trigger": "immediately",
    "trigger_value": "0",
    "frequency": "every_page",
    "frequency_minutes": "60",
}


@pytest.fixture(autouse=True)
def direct():
    with override_settings(REDIS_URL=None):
        yield


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def save(staff, **values):
    return staff.post("/admin/focus/focusitem/add/", {**VALUES, **values})


def field_error(page, name: str) -> str:
    match = re.search(
        rf'<ul class="errorlist"[^>]*id="id_{name}_error"[^>]*>(.*?)</ul>',
        page.content.decode(),
        re.S,
    )
    assert match, f"no error on {name}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def preview(client, **values):
    return client.post("/admin/focus/focusitem/preview/", {**VALUES, **values})


def preview_config(response) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="consentry-focus-preview">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert found
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def test_every_setting_of_the_builder_has_help_text_with_an_example(staff):
    editable = {
        f.name
        for f in FocusItem._meta.get_fields()
        if getattr(f, "editable", False) and not f.auto_created
    }
    assert editable - {"created_at", "updated_at"} == set(FOCUS_HELP)
    page = staff.get("/admin/focus/focusitem/add/").content.decode()
    for name in FOCUS_HELP:
        assert f'id="id_{name}_helptext"' in page
    assert "percent for “At N % scroll” (e.g. 50)" in page


def test_colour_fields_are_pickers_beside_their_code(staff):
    page = staff.get("/admin/focus/focusitem/add/").content.decode()
    for name in ("background", "foreground", "button_colour"):
        assert re.search(
            rf'<input type="color" value="#[0-9a-f]{{6}}" data-colour-for="id_{name}"', page
        )
        assert re.search(
            rf'<input type="text" name="{name}"[^>]*pattern="#\[0-9a-fA-F\]\{{6\}}"', page
        )
    assert "/static/focus/builder.js" in page


def test_a_colour_is_saved_as_lower_case_rrggbb_and_anything_else_is_refused(staff):
    refused = save(staff, background="blue")
    assert "Enter a colour like #1a2b3c" in field_error(refused, "background")
    assert "a colour like" in field_error(save(staff, button_colour="#12345"), "button_colour")
    assert save(staff, background="#1F2937").status_code == 302
    assert FocusItem.objects.get().background == "#1f2937"


def test_a_sound_item_is_saved(staff):
    assert save(staff).status_code == 302
    form = form_make()
    saved = save(staff, name="With a form", button_url="", form=str(form.pk))
    assert saved.status_code == 302
    assert FocusItem.objects.count() == 2


@pytest.mark.parametrize(
    ("values", "box", "message"),
    [
        ({"trigger": "immediately", "trigger_value": "5"}, "trigger_value", "takes no value"),
        ({"trigger": "exit_intent", "trigger_value": "3"}, "trigger_value", "takes no value"),
        ({"trigger": "delay", "trigger_value": "0"}, "trigger_value", "from 1 to 600"),
        ({"trigger": "delay", "trigger_value": "3600"}, "trigger_value", "from 1 to 600"),
        ({"trigger": "scroll", "trigger_value": "0"}, "trigger_value", "from 1 to 100"),
        ({"trigger": "scroll", "trigger_value": "150"}, "trigger_value", "from 1 to 100"),
        ({"frequency": "minutes", "frequency_minutes": "0"}, "frequency_minutes", "At least 1"),
        ({"foreground": "#202a36"}, "foreground", "hard to read on this background: contrast"),
        ({"button_url": "", "button_label": "Go"}, "button_label", "needs a link or a form"),
        (
            {"text": '<p onclick="x()">Hi <img src="x.png"></p>'},
            "text",
            "removed before the text is shown: <img>, onclick=",
        ),
    ],
)
def test_a_configuration_that_cannot_work_is_refused_with_a_message_on_its_box(
    staff, values, box, message
):
    page = save(staff, **values)
    assert page.status_code == 200
    assert message in field_error(page, box)
    assert not FocusItem.objects.exists()


def test_an_item_with_both_a_link_and_a_form_is_refused(staff):
    form = form_make()
    page = save(staff, form=str(form.pk))
    assert "either a link or a form, not both" in field_error(page, "form")
    assert not FocusItem.objects.exists()


def test_a_published_item_cannot_open_an_unpublished_form(staff):
    form = form_make(published=False)
    page = save(staff, button_url="", form=str(form.pk))
    assert "“Contact us” is not published" in field_error(page, "form")
    # A draft item may wait for its form.
    assert save(staff, button_url="", form=str(form.pk), published="").status_code == 302


def test_the_preview_shows_unsaved_values_and_stores_and_counts_nothing(staff):
    item = FocusItem.objects.create(name="Saved", headline="Saved headline", button_label="x")
    response = preview(
        staff,
        item=str(item.pk),
        headline="Not saved yet",
        background="#fef3c7",
        foreground="#111111",
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    config = preview_config(response)
    assert (config["headline"], config["bg"], config["fg"]) == (
        "Not saved yet",
        "#fef3c7",
        "#111111",
    )
    assert config["pixel"] == ""
    assert config["preview"] is True
    # The link is shown as it is, not through a tracked redirect that would count a click.
    assert config["href"] == "https://shop.example.com/sale"
    assert '<script src="/admin/focus/focusitem/preview.js">' in response.content.decode()
    assert FocusItem.objects.get().headline == "Saved headline"
    assert (TrackedLink.objects.count(), FocusEvent.objects.count()) == (0, 0)
    script = staff.get("/admin/focus/focusitem/preview.js")
    assert script.status_code == 200
    assert "consentry-focus-preview" in script.content.decode()


def test_the_preview_of_an_item_with_a_form_loads_the_form_from_this_server(staff):
    form = form_make()
    config = preview_config(preview(staff, item="7", button_url="", form=str(form.pk)))
    assert config["form"] == f"/form/generate.js?id={form.pk}&focus=7"
    assert config["href"] == ""


def test_the_preview_lists_what_would_be_refused(staff):
    page = preview(staff, trigger="scroll", trigger_value="0").content.decode()
    assert "from 1 to 100" in page
    hostile = preview(staff, headline="</script><script>alert(1)</script>").content.decode()
    assert "<script>alert(1)" not in hostile


def test_the_preview_is_for_staff_only_and_needs_the_pages_csrf_token(staff):
    anonymous = Client()
    assert anonymous.post("/admin/focus/focusitem/preview/", VALUES).status_code == 302
    assert anonymous.get("/admin/focus/focusitem/preview.js").status_code == 302
    User.objects.create_user("eve", "eve@example.com", "pw")
    outsider = Client()
    outsider.login(username="eve", password="pw")
    assert outsider.post("/admin/focus/focusitem/preview/", VALUES).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.get(username="boss"))
    assert strict.post("/admin/focus/focusitem/preview/", VALUES).status_code == 403
    assert staff.get("/admin/focus/focusitem/preview/").status_code == 405


def test_opening_the_change_page_three_times_counts_no_view(staff):
    item = FocusItem.objects.create(name="Bar", headline="Sale", button_label="")
    for _ in range(3):
        page = staff.get(f"/admin/focus/focusitem/{item.pk}/change/").content.decode()
        assert "/viewpixel.gif" not in page
        assert f"/focus/{item.pk}.js" not in page.replace(f'/focus/{item.pk}.js" async', "")
        preview(staff, item=str(item.pk), headline="Sale", button_url="", button_label="")
    assert FocusEvent.objects.count() == 0


def test_the_staff_preview_of_the_public_script_fires_no_view_pixel(staff):
    item = FocusItem.objects.create(name="Bar", headline="Sale", published=False)
    body = staff.get(f"/focus/{item.pk}.js?preview=1").content.decode()
    config = json.loads(re.search(r"var c = (\{.*?\});\n", body).group(1))
    assert config["pixel"] == ""


def test_the_button_label_is_white_or_black_whichever_reads_better():
    assert colour_text_on("#2563eb") == "#ffffff"
    assert colour_text_on("#fde047") == "#111827"
    assert round(colour_contrast("#000000", "#ffffff"), 1) == 21.0
    assert colour_contrast("#777777", "#777777") == 1.0
