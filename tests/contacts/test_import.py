from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from consent.models import ConsentRecord
from contacts.imports import ImportRefused, ImportReport, contacts_import
from contacts.models import Contact, DoNotContact
from contacts.selectors import contact_list
from contacts.services import contact_upsert, dnc_add

pytestmark = pytest.mark.django_db

# Mautic's contact export writes its field aliases as the header (firstname, lastname, email,
# plus its own bookkeeping such as id and date_added); the consent and DNC columns are ours.
EXPORT = (
    "id,email,firstname,lastname,city,date_added,consent_purpose,consent_action,consent_at,"
    "consent_source,consent_notice,dnc_email\n"
    "7,ada@example.com,Ada,Lovelace,London,2023-01-02 10:00:00,email,granted,"
    "2023-01-02T10:00:00Z,mautic-form,2022-11,0\n"
    "8,grace@example.com,Grace,Hopper,,2023-02-03 11:00:00,email,withdrawn,2023-03-01,"
    ",,yes\n"
    "9,alan@example.com,Alan,Turing,Wilmslow,2023-02-03 11:00:00,,,,,,\n"
)


def _import(text: str, **options: Any) -> ImportReport:
    return contacts_import(data=text.encode(), file_name="mautic-export.csv", **options)


def test_an_import_with_consent_evidence_appears_in_the_consent_log_marked_imported():
    report = _import(EXPORT)
    assert (report.created, report.refused, report.consents, report.dnc) == (3, 0, 2, 1)
    ada = Contact.objects.get(email="ada@example.com")
    assert (ada.first_name, ada.last_name, ada.fields) == ("Ada", "Lovelace", {"city": "London"})
    record = ConsentRecord.objects.get(contact=ada)
    assert (record.purpose, record.action, record.source, record.notice_version) == (
        "email",
        "grant",
        "mautic-form",
        "2022-11",
    )
    assert record.imported
    assert record.import_file == "mautic-export.csv"
    # The evidence keeps the time the choice was made, not the time of the import.
    assert record.created_at == dt.datetime(2023, 1, 2, 10, tzinfo=dt.UTC)
    grace = ConsentRecord.objects.get(contact__email="grace@example.com")
    assert (grace.action, grace.source, grace.created_at.date()) == (
        "withdraw",
        "import",
        dt.date(2023, 3, 1),
    )
    # Records made here are not marked as imported.
    assert not ConsentRecord._meta.get_field("imported").default


def test_imported_evidence_is_listed_in_the_consent_log_api(client, django_user_model):
    _import(EXPORT)
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    records = client.get("/api/v1/consent/records/?purpose=email").json()["results"]
    assert {(r["action"], r["source"], r["imported"], r["import_file"]) for r in records} == {
        ("grant", "mautic-form", True, "mautic-export.csv"),
        ("withdraw", "import", True, "mautic-export.csv"),
    }


def test_a_dry_run_reports_what_would_change_and_writes_nothing():
    report = _import(EXPORT, dry_run=True)
    assert (report.created, report.consents, report.dnc) == (3, 2, 1)
    assert "would be created" in report.summary()
    assert Contact.objects.count() == 0
    assert ConsentRecord.objects.count() == 0
    assert DoNotContact.objects.count() == 0


def test_a_second_import_of_the_same_file_changes_nothing():
    _import(EXPORT)
    before = list(Contact.objects.order_by("id").values_list("id", "updated_at", "fields"))
    again = _import(EXPORT)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert (again.consents, again.dnc) == (0, 0)
    assert list(Contact.objects.order_by("id").values_list("id", "updated_at", "fields")) == before
    assert ConsentRecord.objects.count() == 2
    assert DoNotContact.objects.count() == 1


def test_an_existing_contact_is_matched_by_email_whatever_its_case_and_updated():
    contact_upsert(email="ADA@example.com", first_name="Augusta", fields={"team": "A"})
    report = _import(EXPORT)
    assert (report.created, report.updated) == (2, 1)
    ada = Contact.objects.get(email="ADA@example.com")
    assert ada.first_name == "Ada"
    assert ada.fields == {"team": "A", "city": "London"}


def test_do_not_contact_columns_add_entries_and_an_import_never_lifts_one():
    kept = contact_upsert(email="alan@example.com")
    dnc_add(contact=kept, channel="email", reason="bounced")
    _import("email,dnc_email,dnc_sms,dnc_reason\ngrace@example.com,1,yes,unsubscribed\n")
    grace = Contact.objects.get(email="grace@example.com")
    assert dict(grace.dnc_entries.values_list("channel", "reason")) == {
        "email": "unsubscribed",
        "sms": "unsubscribed",
    }
    assert contact_list(dnc=True).filter(pk=grace.pk).exists()
    _import("email,dnc_email\nalan@example.com,0\n")
    assert kept.dnc_entries.get().reason == "bounced"


def test_bad_rows_are_refused_one_by_one_with_line_column_and_reason():
    report = _import(
        "email,first_name,consent_purpose,consent_action,consent_at\n"
        "good@example.com,Good,,,\n"
        "not-an-email,Bad,,,\n"
        "evidence@example.com,Eve,email,maybe,2023-01-01\n"
        "late@example.com,Late,email,granted,2999-01-01\n"
        "short@example.com\n"
        "nul@example.com,Nu\x00l,,,\n"
    )
    assert report.refused == 5
    assert [str(e) for e in report.errors] == [
        "line 3, column email: 'not-an-email' is not an email address",
        "line 4, column consent_action: is neither granted nor withdrawn "
        "(grant, withdraw or object)",
        "line 5, column consent_at: is in the future",
        "line 6: has 1 cells, the header has 5",
        "line 7, column first_name: holds a character that is not allowed (U+0000)",
    ]
    # Nothing of a refused row is written, not even its contact.
    assert list(Contact.objects.values_list("email", flat=True)) == ["good@example.com"]
    assert ConsentRecord.objects.count() == 0


def test_consent_evidence_needs_its_time():
    report = _import("email,consent_purpose,consent_action\nx@example.com,email,granted\n")
    assert [str(e) for e in report.errors] == [
        "line 2, column consent_at: is empty: consent evidence needs the time the choice was made"
    ]
    assert not Contact.objects.exists()


def test_hostile_cells_a_formula_is_kept_as_text_and_our_own_neutralising_quote_undone():
    _import('email,first_name,company\nf@example.com,=HYPERLINK("x"),\'=SUM(A1)\n')
    contact = Contact.objects.get()
    assert contact.first_name == '=HYPERLINK("x")'
    assert contact.fields == {"company": "=SUM(A1)"}


def test_a_file_that_cannot_be_read_is_refused_as_a_whole():
    with pytest.raises(ImportRefused, match="not UTF-8"):
        contacts_import(data=b"email\n\xff@example.com\n", file_name="x.csv")
    with pytest.raises(ImportRefused, match="no column is mapped to email"):
        _import("name\nAda\n")
    with pytest.raises(ImportRefused, match="unknown target"):
        _import("email\na@example.com\n", mapping={"email": "password"})
    assert not Contact.objects.exists()


def test_columns_are_mapped_by_option(tmp_path: Path):
    path = tmp_path / "crm.csv"
    path.write_text("Mail,Given,Opt-in,Opted at,Purpose\nm@example.com,Mia,yes,2024-01-01,email\n")
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "contacts_import",
        str(path),
        "--map",
        "Mail=email",
        "--map",
        "Given=first_name",
        "--map",
        "Opt-in=consent_action",
        "--map",
        "Opted at=consent_at",
        stdout=out,
        stderr=err,
    )
    contact = Contact.objects.get(email="m@example.com")
    assert contact.first_name == "Mia"
    record = ConsentRecord.objects.get(contact=contact)
    assert (record.purpose, record.action, record.import_file) == ("email", "grant", "crm.csv")
    assert "1 contacts were created" in out.getvalue()
    assert "1/1 contacts (100%)" in err.getvalue()


def test_the_command_prints_refused_rows_and_a_dry_run_writes_nothing(tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("email\nok@example.com\nbroken\n")
    out = io.StringIO()
    call_command("contacts_import", str(path), "--dry-run", stdout=out, stderr=io.StringIO())
    assert "refused: line 3, column email: 'broken' is not an email address" in out.getvalue()
    assert out.getvalue().rstrip().endswith("1 rows refused.")
    assert "dry run, nothing written" in out.getvalue()
    assert not Contact.objects.exists()
    (tmp_path / "bad.csv").write_text("name\nx\n")
    with pytest.raises(CommandError, match="no column is mapped to email"):
        call_command("contacts_import", str(tmp_path / "bad.csv"), stderr=io.StringIO())


def test_rows_for_the_same_email_merge_and_each_brings_its_evidence():
    report = _import(
        "email,consent_purpose,consent_action,consent_at\n"
        "d@example.com,email,granted,2023-01-01\n"
        "D@example.com,tracking,granted,2023-01-02\n"
    )
    assert (report.created, report.consents) == (1, 2)
    assert set(ConsentRecord.objects.values_list("purpose", flat=True)) == {"email", "tracking"}


def test_a_contact_the_database_refuses_costs_only_its_own_rows(monkeypatch):
    # Between the batch's lookup and its write another writer takes one of the emails: the
    # batch is rolled back whole and written again one contact at a time, so that contact is
    # matched and nothing is lost or written twice.
    from django.utils import timezone as real_timezone

    from contacts import imports

    class Racing:
        raced = False

        @classmethod
        def now(cls) -> dt.datetime:
            if not cls.raced:
                cls.raced = True
                Contact.objects.create(email="B@example.com", first_name="First")
            return real_timezone.now()

        def __getattr__(self, name: str) -> object:
            return getattr(real_timezone, name)

    monkeypatch.setattr(imports, "timezone", Racing())
    report = _import(
        "email,first_name,consent_purpose,consent_action,consent_at\n"
        "a@example.com,A,,,\nb@example.com,Bea,email,granted,2023-01-01\nc@example.com,C,,,\n"
    )
    assert Racing.raced
    assert (report.refused, report.created, report.updated) == (0, 2, 1)
    assert sorted(Contact.objects.values_list("email", "first_name")) == [
        ("B@example.com", "Bea"),
        ("a@example.com", "A"),
        ("c@example.com", "C"),
    ]
    assert ConsentRecord.objects.get().contact.email == "B@example.com"


def _clerk(client, *perms: str):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app, codename=codename)
        )
    client.force_login(user)
    return client


IMPORTER = (
    "contacts.view_contact",
    "contacts.add_contact",
    "contacts.change_contact",
    "contacts.add_donotcontact",
    "consent.add_consentrecord",
)


def test_the_admin_upload_checks_a_file_then_imports_it(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    staff = _clerk(client, *IMPORTER)
    listing = staff.get("/admin/contacts/contact/").content.decode()
    assert "/admin/contacts/contact/import/" in listing

    def upload(button: str) -> str:
        response = staff.post(
            "/admin/contacts/contact/import/",
            {
                "file": SimpleUploadedFile("crm.csv", (EXPORT + "10,broken,,,,,,,,,,\n").encode()),
                "mapping": "city=field:town",
                button: "1",
            },
        )
        assert response.status_code == 200
        return str(response.content.decode())

    checked = upload("check")
    assert "Dry run: nothing was written" in checked
    assert "3 contacts would be created" in checked
    assert "&#x27;broken&#x27; is not an email address" in checked
    assert "4 of 4 rows read" in checked
    assert not Contact.objects.exists()

    imported = upload("import")
    assert "Imported crm.csv" in imported
    assert "3 contacts were created" in imported
    assert Contact.objects.get(email="ada@example.com").fields == {"town": "London"}
    record = ConsentRecord.objects.get(contact__email="ada@example.com")
    assert (record.imported, record.import_file) == (True, "crm.csv")


def test_the_admin_upload_names_a_file_it_cannot_read_and_needs_the_import_permissions(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    viewer = _clerk(client, "contacts.view_contact")
    assert (
        "/admin/contacts/contact/import/"
        not in viewer.get("/admin/contacts/contact/").content.decode()
    )
    assert viewer.get("/admin/contacts/contact/import/").status_code == 403
    client.logout()
    from django.contrib.auth.models import User

    User.objects.all().delete()
    staff = _clerk(client, *IMPORTER)
    page = staff.post(
        "/admin/contacts/contact/import/",
        {"file": SimpleUploadedFile("x.csv", b"name\nAda\n"), "import": "1"},
    ).content.decode()
    assert "The file was not imported: no column is mapped to email" in page
    bad_map = staff.post(
        "/admin/contacts/contact/import/",
        {
            "file": SimpleUploadedFile("x.csv", b"email\na@example.com\n"),
            "mapping": "email=password",
        },
    ).content.decode()
    assert "unknown target" in bad_map
    assert not Contact.objects.exists()
