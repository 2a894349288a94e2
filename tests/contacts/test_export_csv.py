"""The contacts CSV from the API and the admin, and the data-subject export in the admin."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User

from consent.services import consent_grant, consent_withdraw
from contacts.imports import contacts_import
from contacts.models import Contact, DataSubjectRequest
from contacts.services import contact_upsert, dnc_add
from tests.support.apiclients import api_client

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://evil.example","x")'


@pytest.fixture
def people() -> dict[str, Contact]:
    eve = contact_upsert(email="eve@example.com", first_name=FORMULA, fields={"city": "@SUM(A1)"})
    ada = contact_upsert(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    consent_grant(contact=ada, purpose="email", source="form")
    consent_grant(contact=ada, purpose="tracking", source="form")
    bob = contact_upsert(email="bob@example.com", first_name="Bob")
    consent_grant(contact=bob, purpose="email", source="form")
    consent_withdraw(contact=bob, purpose="email", source="preferences")
    dnc_add(contact=bob, channel="email", reason="unsubscribed")
    return {"eve": eve, "ada": ada, "bob": bob}


def _rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def _streamed(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def test_the_api_export_is_a_csv_download_that_no_spreadsheet_runs(people):
    response = api_client("contacts.view_contact").get("/api/v1/contacts/export.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="contacts-')
    rows = {row["email"]: row for row in _rows(_streamed(response))}
    assert set(rows) == {"eve@example.com", "ada@example.com", "bob@example.com"}
    assert rows["eve@example.com"]["firstname"] == "'" + FORMULA
    assert rows["eve@example.com"]["city"] == "'@SUM(A1)"
    assert (
        rows["ada@example.com"]["email_consent"],
        rows["ada@example.com"]["tracking_consent"],
    ) == (
        "grant",
        "grant",
    )
    assert rows["bob@example.com"]["email_consent"] == "withdraw"
    assert (rows["bob@example.com"]["dnc_email"], rows["ada@example.com"]["dnc_email"]) == (
        "1",
        "0",
    )


def test_the_api_export_takes_the_contact_list_filters(people):
    client = api_client("contacts.view_contact")
    dnc = _rows(_streamed(client.get("/api/v1/contacts/export.csv?dnc=true")))
    assert [row["email"] for row in dnc] == ["bob@example.com"]
    granted = _rows(_streamed(client.get("/api/v1/contacts/export.csv?consent=grant")))
    assert [row["email"] for row in granted] == ["ada@example.com"]
    one = _rows(_streamed(client.get("/api/v1/contacts/export.csv?email=EVE@example.com")))
    assert [row["firstname"] for row in one] == ["'" + FORMULA]


def test_a_bad_filter_is_a_400_naming_it():
    response = api_client("contacts.view_contact").get("/api/v1/contacts/export.csv?consent=maybe")
    assert response.status_code == 400
    assert "consent" in response.json()["fields"]


def test_the_export_needs_sight_of_contacts(people):
    assert api_client().get("/api/v1/contacts/export.csv").status_code == 403


def test_an_export_read_back_by_the_import_changes_nothing(people):
    content = _streamed(api_client("contacts.view_contact").get("/api/v1/contacts/export.csv"))
    before = list(Contact.objects.order_by("id").values("first_name", "fields", "updated_at"))
    report = contacts_import(data=content, file_name="contacts.csv")
    assert (report.created, report.updated, report.refused, report.consents) == (0, 0, 0, 0)
    assert list(Contact.objects.order_by("id").values("first_name", "fields", "updated_at")) == (
        before
    )


def _staff(client: Any, *perms: str) -> Any:
    user = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client.force_login(user)
    return client


def test_the_admin_exports_the_selected_contacts_as_formula_safe_csv(client, people):
    staff = _staff(client, "contacts.view_contact")
    response = staff.post(
        "/admin/contacts/contact/",
        {"action": "export_csv", "_selected_action": [people["eve"].pk, people["bob"].pk]},
    )
    assert response.status_code == 200
    rows = _rows(_streamed(response))
    assert [row["email"] for row in rows] == ["eve@example.com", "bob@example.com"]
    assert rows[0]["firstname"] == "'" + FORMULA


def test_the_admin_data_subject_export_is_one_contacts_document_and_is_logged(client, people):
    staff = _staff(client, "contacts.view_contact", "contacts.add_datasubjectrequest")
    response = staff.post(
        "/admin/contacts/contact/",
        {"action": "export_personal_data", "_selected_action": [people["ada"].pk]},
    )
    assert response.status_code == 200
    document = json.loads(response.content)
    assert document["contact"]["email"] == "ada@example.com"
    assert {r["purpose"] for r in document["consent_records"]} == {"email", "tracking"}
    log = DataSubjectRequest.objects.get()
    assert (log.kind, log.contact_ref, log.requested_by) == ("export", people["ada"].pk, "clerk")
    assert log.completed_at is not None


def test_the_admin_data_subject_export_is_of_one_person_and_needs_the_log_permission(
    client, people
):
    staff = _staff(client, "contacts.view_contact", "contacts.add_datasubjectrequest")
    two = staff.post(
        "/admin/contacts/contact/",
        {
            "action": "export_personal_data",
            "_selected_action": [people["ada"].pk, people["bob"].pk],
        },
        follow=True,
    )
    assert "Choose one contact" in two.content.decode()
    assert not DataSubjectRequest.objects.exists()
    client.logout()
    User.objects.all().delete()
    viewer = _staff(client, "contacts.view_contact")
    page = viewer.get("/admin/contacts/contact/").content.decode()
    assert "export_personal_data" not in page
    assert "export_csv" in page


def test_the_api_export_takes_a_saved_audience():
    from audiences.models import Audience
    from contacts.models import Contact
    from tests.support.apiclients import api_client

    Contact.objects.create(email="pro@example.com", fields={"plan": "pro"})
    Contact.objects.create(email="free@example.com", fields={"plan": "free"})
    audience = Audience.objects.create(
        name="Pro", filters={"fields": [{"name": "plan", "op": "equals", "value": "pro"}]}
    )
    url = f"/api/v1/contacts/export.csv?audience={audience.pk}"
    refused = api_client("contacts.view_contact").get(url, HTTP_ACCEPT="text/csv")
    assert refused.status_code == 403
    answer = api_client("contacts.view_contact", "audiences.view_audience").get(
        url, HTTP_ACCEPT="text/csv"
    )
    assert answer.status_code == 200
    body = b"".join(answer.streaming_content).decode()
    assert "pro@example.com" in body
    assert "free@example.com" not in body
