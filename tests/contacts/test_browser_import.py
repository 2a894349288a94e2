"""An operator imports contacts with their consent evidence through the admin in a real
Chromium, and finds the evidence in the consent log, marked as imported from the file.

Nothing is mocked: the admin is the live Django server (real request cycle, database and
Content-Security-Policy), and the file is chosen in the page's file input as a person would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from consent.models import ConsentRecord
from contacts.models import Contact
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    HostSite,
    Person,
    admin_log_in,
    browsing,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site

pytestmark = [pytest.mark.browser]

EXPORT = (
    "id,email,firstname,lastname,consent_purpose,consent_action,consent_at,consent_source,"
    "consent_notice,dnc_email\n"
    "7,ada@example.com,Ada,Lovelace,email,granted,2023-01-02T10:00:00Z,mautic-form,2022-11,0\n"
    "8,grace@example.com,Grace,Hopper,email,withdrawn,2023-03-01,newsletter,2022-11,1\n"
    "9,broken,Bad,Row,,,,,,\n"
)


@dataclass(kw_only=True)
class Operator(Person):
    def settle(self) -> None:
        """Let the page finish loading its icons before leaving it, as a person would (a
        request cut short by leaving counts as a problem)."""
        self.page.wait_for_load_state("networkidle")

    def go(self, path: str) -> None:
        self.page.goto(f"{self.tracker}{path}")
        self.settle()

    def log_in(self) -> None:
        admin_log_in(self.page, self.tracker)
        self.settle()

    def upload(self, path: Path, button: str) -> None:
        self.page.locator("#id_file").set_input_files(str(path))
        self.page.get_by_role("button", name=button, exact=True).click()
        expect(self.page.locator("#import-summary")).to_be_visible()
        self.settle()


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with browsing(Operator.start(chromium, tracker=site.tracker)) as person:
        yield person


def test_an_import_through_the_admin_appears_in_the_consent_log_marked_imported(
    operator: Operator, tmp_path: Path
):
    csv_file = tmp_path / "mautic-export.csv"
    csv_file.write_text(EXPORT)
    operator.log_in()
    operator.go("/admin/contacts/contact/")
    operator.page.get_by_role("link", name="Import contacts").click()
    expect(operator.page).to_have_url(re.compile(r"/admin/contacts/contact/import/$"))
    operator.settle()

    operator.upload(csv_file, "Check (dry run)")
    expect(operator.page.locator("h2")).to_contain_text("Dry run: nothing was written")
    expect(operator.page.locator("#import-summary")).to_contain_text("2 contacts would be created")
    expect(operator.page.locator("#import-errors")).to_contain_text(
        "'broken' is not an email address"
    )
    assert not Contact.objects.exists()

    operator.upload(csv_file, "Import")
    expect(operator.page.locator("#import-summary")).to_contain_text(
        "2 contacts were created, 0 updated, 0 unchanged; 2 consent records and 1 "
        "Do-Not-Contact entries were added; 1 rows refused."
    )

    operator.go("/admin/consent/consentrecord/?imported__exact=1")
    rows = operator.page.locator("#result_list tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("mautic-export.csv")
    log = operator.page.locator("#result_list").inner_text()
    assert "mautic-form" in log
    assert "newsletter" in log
    assert set(ConsentRecord.objects.values_list("import_file", flat=True)) == {"mautic-export.csv"}
