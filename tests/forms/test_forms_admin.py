"""The form builder and submissions in the admin: hostile values shown as text, CSV export
that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import User
from django.test import override_settings

from forms.exports import cell_safe
from forms.models import Submission
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.fixture
def hostile_submission(client):
    form = form_make()
    with override_settings(REDIS_URL=None):
        response = client.post(
            f"/form/submit?formId={form.pk}",
            {
                "email": "eve@example.com",
                "first_name": HOSTILE,
                "message": '=HYPERLINK("http://evil","x")',
            },
            headers={"Accept": "application/json"},
        )
    assert response.status_code == 200
    return Submission.objects.get()


def test_the_form_builder_shows_fields_inline_with_a_live_preview(staff):
    form = form_make()
    page = staff.get(f"/admin/forms/form/{form.pk}/change/").content.decode()
    assert "Company size" in page
    assert f'src="/form/embed/{form.pk}"' in page
    assert "set_cookie_on_submission" in page


def test_staff_preview_unpublished_forms(staff, client):
    form = form_make(published=False)
    assert staff.get(f"/form/embed/{form.pk}").status_code == 200


def test_hostile_values_are_text_in_the_admin(staff, hostile_submission):
    listing = staff.get("/admin/forms/submission/").content.decode()
    detail = staff.get(f"/admin/forms/submission/{hostile_submission.pk}/change/").content.decode()
    for page in (listing, detail):
        assert "<script>alert(2)</script>" not in page
        assert '<img src=x onerror="alert(1)">' not in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in detail


def test_the_csv_export_neutralises_formulas(staff, hostile_submission):
    response = staff.post(
        "/admin/forms/submission/",
        {"action": "export_csv", "_selected_action": [hostile_submission.pk]},
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert rows[0]["message"] == '\'=HYPERLINK("http://evil","x")'
    assert rows[0]["contact_email"] == "eve@example.com"


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_every_formula_start_is_neutralised(value):
    assert cell_safe(value) == "'" + value


def test_ordinary_values_are_left_alone():
    assert cell_safe("Ada") == "Ada"
    assert cell_safe(["a", "b"]) == "a, b"
