"""The form builder in the admin: every setting explains itself, a configuration that cannot work
is refused with a message on the box that holds it, and deleting a form names what loses it."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from focus.models import FocusItem
from forms.admin import FIELD_HELP, FORM_HELP
from forms.models import Field, Form
from pages.models import LandingPage
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db
EMAIL = {"label": "Email", "alias": "email", "type": "email", "required": "on"}


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def builder(fields=(EMAIL,), **values) -> dict[str, str]:
    """The builder's add page as a browser posts it: the form's settings and its fields."""
    data = {
        "name": "Contact us",
        "published": "on",
        "submit_label": "Submit",
        "success_message": "Thanks",
        "redirect_url": "",
        "allowed_origins": "",
        "fields-TOTAL_FORMS": str(len(fields)),
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "1000",
    }
    for n, spec in enumerate(fields):
        row = {"order": str(n), "default": "", "options": "", "contact_field": "", **spec}
        data.update({f"fields-{n}-{key}": value for key, value in row.items()})
    data.update(values)
    return data


def save(staff, fields=(EMAIL,), **values):
    return staff.post("/admin/forms/form/add/", builder(fields, **values))


def errors(page) -> list[str]:
    """Every error message the page shows, as text."""
    found = re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page.content.decode(), re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in found]


def field_error(page, name: str) -> str:
    """The message shown above one box of the builder (a field of the form or of a row)."""
    text = page.content.decode()
    match = re.search(
        rf'<ul class="errorlist"[^>]*id="id_{name}_error"[^>]*>(.*?)</ul>', text, re.S
    )
    assert match, f"no error on {name}: {errors(page)}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def test_every_setting_of_the_builder_has_help_text_with_an_example(staff):
    page = staff.get("/admin/forms/form/add/").content.decode()
    editable = {f.name for f in Form._meta.get_fields() if getattr(f, "editable", False)}
    assert editable - {"id", "created_at", "updated_at"} == set(FORM_HELP)
    rows = {f.name for f in Field._meta.concrete_fields} - {"id", "form"}
    assert rows == set(FIELD_HELP)
    for text in [*FORM_HELP.values(), *FIELD_HELP.values()]:
        assert len(text) > 40
    assert "E.g." in FIELD_HELP["alias"] or "e.g." in FIELD_HELP["alias"]
    # Shown beside the boxes: the form's and the empty row a new field starts from.
    assert 'id="id_allowed_origins_helptext"' in page
    assert 'id="id_fields-__prefix__-contact_field_helptext"' in page
    assert "E.g. https://shop.example.com" in page


def test_a_form_with_an_email_field_is_saved_with_no_warning(staff):
    response = save(staff)
    assert response.status_code == 302
    page = staff.get(response["Location"]).content.decode()
    assert "no email field" not in page
    assert Field.objects.get().alias == "email"


def test_a_form_without_an_email_field_is_saved_with_a_warning(staff):
    # A poll: allowed, as in Mautic, but the operator is told what it will not do.
    poll = {"label": "Which day suits you?", "alias": "day", "type": "radio", "options": "Mon\nTue"}
    response = save(staff, fields=[poll])
    assert response.status_code == 302
    page = staff.get(response["Location"]).content.decode()
    assert "This form has no email field" in page
    assert 'class="warning"' in page
    assert Form.objects.count() == 1


@pytest.mark.parametrize(
    ("row", "box", "message"),
    [
        ({"label": "Size", "alias": "size", "type": "select"}, "options", "needs options"),
        ({"label": "Day", "alias": "day", "type": "radio", "options": " \n "}, "options", "needs"),
        (
            {"label": "Topics", "alias": "topics", "type": "checkbox_group"},
            "options",
            "needs options",
        ),
        (
            {"label": "Name", "alias": "name", "type": "text", "options": "a\nb"},
            "options",
            "would never show them",
        ),
        (
            {"label": "Size", "alias": "size", "type": "select", "options": "a\nb\na"},
            "options",
            "Listed twice: a.",
        ),
        (
            {"label": "Size", "alias": "size", "type": "select", "options": "a\nb", "default": "c"},
            "default",
            "must be one of the options",
        ),
        (
            {"label": "Age", "alias": "age", "type": "number", "min_value": "10", "max_value": "5"},
            "max_value",
            "maximum is below the minimum",
        ),
        (
            {"label": "Name", "alias": "name", "type": "text", "min_value": "1"},
            "min_value",
            "Only number fields",
        ),
        (
            {"label": "Age", "alias": "age", "type": "number", "default": "many"},
            "default",
            "Enter a number",
        ),
        (
            {"label": "Age", "alias": "age", "type": "number", "max_value": "9", "default": "10"},
            "default",
            "At most 9",
        ),
        (
            {"label": "Day", "alias": "day", "type": "date", "default": "tomorrow"},
            "default",
            "YYYY-MM-DD",
        ),
        (
            {"label": "Track", "alias": "track", "type": "tracking_consent", "default": "1"},
            "default",
            "always starts unticked",
        ),
        (
            {"label": "News", "alias": "news", "type": "email_consent", "contact_field": "news"},
            "contact_field",
            "recorded as consent",
        ),
        (
            {"label": "Mail", "alias": "mail", "type": "text", "contact_field": "email"},
            "contact_field",
            "Only a field of type Email",
        ),
        (
            {"label": "Size", "alias": "size", "type": "text", "contact_field": "Company Size"},
            "contact_field",
            "lower-case letters",
        ),
        (
            {"label": "Name", "alias": "name", "type": "text", "notice_version": "2026-09"},
            "notice_version",
            "Only a tracking-consent box",
        ),
        (
            {"label": "Source", "alias": "source", "type": "hidden", "required": "on"},
            "required",
            "Visitors cannot fill in a hidden field",
        ),
        (
            {"label": "Size", "alias": "size", "type": "select", "options": "a", "max_length": "9"},
            "max_length",
            "text, email, text-area and hidden fields only",
        ),
    ],
)
def test_a_field_that_cannot_work_is_refused_with_a_message_on_its_box(staff, row, box, message):
    page = save(staff, fields=[EMAIL, row])
    assert page.status_code == 200
    assert message in field_error(page, f"fields-1-{box}")
    assert not Form.objects.exists()


@pytest.mark.parametrize(
    ("rows", "values", "message"),
    [
        ([], {}, "A published form needs at least one field"),
        (
            [{"label": "News", "alias": "news", "type": "email_consent"}],
            {},
            "this form has none: the consent would be kept for no one",
        ),
        ([EMAIL], {"double_opt_in": "on"}, "Double opt-in is on, but no field is an email"),
        (
            [EMAIL, {"label": "Work email", "alias": "work", "type": "email"}],
            {},
            "Email and Work email both fill the contact's email",
        ),
        (
            [
                EMAIL,
                {"label": "A", "alias": "a", "type": "tracking_consent"},
                {"label": "B", "alias": "b", "type": "tracking_consent"},
            ],
            {},
            "Only one tracking consent box per form is read",
        ),
    ],
)
def test_fields_that_cannot_work_together_are_refused_above_the_fields(
    staff, rows, values, message
):
    page = save(staff, fields=rows, **values)
    assert page.status_code == 200
    assert any(message in error for error in errors(page)), errors(page)
    assert not Form.objects.exists()


def test_a_draft_may_be_saved_before_its_fields(staff):
    assert save(staff, fields=[], published="").status_code == 302
    assert Form.objects.get().published is False


def test_double_opt_in_with_an_email_consent_box_is_saved(staff):
    news = {"label": "Send me news", "alias": "news", "type": "email_consent"}
    assert save(staff, fields=[EMAIL, news], double_opt_in="on").status_code == 302
    assert Form.objects.get().double_opt_in is True


def test_a_kiosk_form_that_would_set_a_cookie_is_refused_on_the_switch(staff):
    page = save(staff, kiosk="on", set_cookie_on_submission="on")
    assert "A kiosk form never sets a cookie" in field_error(page, "set_cookie_on_submission")
    assert not Form.objects.exists()


@override_settings(TRACKED_SITES=[])
@pytest.mark.parametrize(
    ("origins", "message"),
    [
        ("https://shop.example.com/contact", "write https://shop.example.com"),
        ("shop.example.com", "is not an origin."),
        ("https://Shop.example.com:443", "write https://shop.example.com"),
    ],
)
def test_an_allowed_origin_no_browser_would_send_is_refused(staff, origins, message):
    page = save(staff, allowed_origins=origins)
    assert message in field_error(page, "allowed_origins")
    assert not Form.objects.exists()


@override_settings(TRACKED_SITES=["https://www.example.com"])
def test_an_off_site_redirect_is_refused_by_the_rule_the_submission_follows(staff):
    page = save(staff, redirect_url="https://elsewhere.example/thanks")
    assert "elsewhere.example is none of them" in field_error(page, "redirect_url")
    assert not Form.objects.exists()
    saved = save(staff, redirect_url="https://www.example.com/thanks")
    assert saved.status_code == 302
    # Saved, so followed: the submission sends the visitor there.
    form = Form.objects.get()
    answer = staff.post(
        f"/form/submit?formId={form.pk}",
        {"email": "ada@example.com"},
        headers={"Accept": "application/json"},
    )
    assert answer.json()["redirect"] == "https://www.example.com/thanks"


def test_deleting_a_form_names_the_focus_items_and_landing_pages_that_use_it(staff):
    form = form_make()
    other = form_make(name="Unused")
    FocusItem.objects.create(name="Autumn <b>bar</b>", headline="Sale", form=form)
    LandingPage.objects.create(title="Webinar", slug="webinar", form=form, published=True)
    page = staff.get(f"/admin/forms/form/{form.pk}/delete/").content.decode()
    assert "Still in use" in page
    assert "Focus item: " in page
    assert "Autumn &lt;b&gt;bar&lt;/b&gt;" in page
    assert "Landing page: " in page
    assert "Webinar</a> (published)" in page
    assert "Still in use" not in staff.get(f"/admin/forms/form/{other.pk}/delete/").content.decode()

    listing = staff.post(
        "/admin/forms/form/",
        {"action": "delete_selected", "_selected_action": [form.pk, other.pk]},
    )
    assert listing.status_code == 200
    assert "Webinar</a>" in listing.content.decode()
    assert Form.objects.count() == 2  # only asked, not deleted yet


def preview(client, fields=(EMAIL,), **values):
    """The builder's values, as its page posts them to the preview view."""
    return client.post("/admin/forms/form/preview/", builder(fields, **values))


def test_the_preview_shows_the_unsaved_form_and_saves_nothing(staff):
    size = {"label": "Company size", "alias": "size", "type": "select", "options": "1-10\n11+"}
    page = preview(staff, fields=[EMAIL, size], submit_label="Sign me up").content.decode()
    assert 'type="email" name="email" value="" required>' in page
    assert '<option value="11+">11+</option>' in page
    assert '<button type="submit">Sign me up</button>' in page
    assert (Form.objects.count(), Field.objects.count()) == (0, 0)


def test_the_preview_of_a_saved_form_follows_its_changed_rows_and_lists_the_problems(staff):
    form = form_make()
    rows = list(form.fields.all())
    data = {
        "item": str(form.pk),
        "fields-INITIAL_FORMS": str(len(rows)),
        "fields-TOTAL_FORMS": str(len(rows)),
    }
    specs = []
    for row in rows:
        spec = {
            "id": str(row.pk),
            "form": str(form.pk),
            "label": row.label,
            "alias": row.alias,
            "type": row.type,
            "options": row.options,
            "contact_field": row.contact_field,
            "notice_version": row.notice_version,
        }
        if row.alias == "first_name":
            spec["label"] = "Your first name"
        if row.alias == "size":
            spec["options"] = ""
        specs.append(spec)
    page = preview(staff, fields=specs, **data).content.decode()
    assert "Your first name" in page
    assert "Company size: A select field needs options" in html.unescape(page)
    assert Field.objects.get(alias="first_name").label == "First name"


def test_the_form_preview_is_for_staff_only_and_needs_the_pages_csrf_token(staff):
    from django.test import Client

    assert preview(Client()).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.get(username="boss"))
    assert preview(strict).status_code == 403
