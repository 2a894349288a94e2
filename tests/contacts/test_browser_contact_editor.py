"""The contact editor and the erasure confirmation in a real Chromium, on a laptop and on a
phone: custom fields are labelled inputs with their help in view, nothing is wider than the
screen, and erasing from the list asks first and erases once confirmed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from consent.services import consent_grant
from contacts.models import Contact
from contacts.services import contact_upsert, dnc_add
from tests.consentry.test_browser_admin import Operator, using
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    HostSite,
    fits,
    within_width,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make

pytestmark = [pytest.mark.browser]

WIDTHS = {"laptop": 1366, "phone": 390}
CHANGELIST = "/admin/contacts/contact/"


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Operator]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with using(Operator.start(chromium, tracker=site.tracker)) as person:
        yield person


def test_the_operator_edits_custom_fields_as_fields_at_laptop_and_phone_widths(operator):
    form_make()  # maps "Company size" (a select) to company_size
    ada = contact_upsert(
        email="ada@example.com",
        first_name="Ada",
        fields={"company_size": "11-50", "favourite_colour_of_the_season": "Winter white"},
    )
    consent_grant(contact=ada, source="form")
    dnc_add(contact=ada)
    operator.log_in()
    page = operator.page
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": 900})
        operator.visit(f"{operator.tracker}{CHANGELIST}{ada.pk}/change/")
        expect(page.get_by_label("Company size")).to_have_value("11-50")
        expect(page.get_by_label("favourite colour of the season")).to_have_value("Winter white")
        for field in ("email", "first_name", "custom__company_size", "new_field_name"):
            expect(page.locator(f"#id_{field}_helptext")).to_be_visible()
            within_width(operator.page, f"#id_{field}", width)
            within_width(operator.page, f"#id_{field}_helptext", width)
        assert fits(page, name="contact-change", width=width).stat().st_size > 10_000

    page.get_by_label("Company size").select_option("51+")
    page.get_by_label("New field").fill("company")
    page.get_by_label("Its value").fill("Analytical Engines Ltd")
    operator.click_through(page.locator("input[name=_continue]"))
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    ada.refresh_from_db()
    assert ada.fields == {
        "company_size": "51+",
        "favourite_colour_of_the_season": "Winter white",
        "company": "Analytical Engines Ltd",
    }

    # A duplicate address is refused in a sentence with a way to the contact that has it.
    contact_upsert(email="bob@example.com")
    page.locator("#id_email").fill("BOB@example.com")
    operator.click_through(page.locator("input[name=_continue]"))
    error = page.locator(".field-email .errorlist")
    expect(error).to_contain_text("A contact with this email already exists.")
    operator.click_through(error.get_by_role("link", name="Open that contact"))
    expect(page.locator("#id_email")).to_have_value("bob@example.com")


def test_erasing_from_the_list_asks_first_at_laptop_and_phone_widths(operator):
    ada = contact_upsert(email="ada@example.com")
    consent_grant(contact=ada, source="form")
    contact_upsert(email="bob@example.com")
    operator.log_in()
    page = operator.page
    for width in WIDTHS.values():
        page.set_viewport_size({"width": width, "height": 900})
        operator.visit(f"{operator.tracker}{CHANGELIST}")
        page.locator(f'input[name=_selected_action][value="{ada.pk}"]').check()
        page.locator("select[name=action]").select_option("erase")
        operator.click_through(page.locator("button[name=index]"))
        expect(page.locator("#content")).to_contain_text("Erase 1 contact? This cannot be undone.")
        section = page.locator(f'section[data-contact="{ada.pk}"]')
        expect(section.locator("h2")).to_have_text("ada@example.com")
        expect(section.locator('td[data-count="consent records"]')).to_have_text("1")
        within_width(operator.page, f'section[data-contact="{ada.pk}"] table', width)
        fits(page, name="erase-confirm", width=width)
        # Cancel: back to the list, nothing erased.
        operator.click_through(page.get_by_role("link", name="No, take me back"))
        assert Contact.objects.filter(pk=ada.pk).exists()

    page.locator(f'input[name=_selected_action][value="{ada.pk}"]').check()
    page.locator("select[name=action]").select_option("erase")
    operator.click_through(page.locator("button[name=index]"))
    operator.click_through(page.get_by_role("button", name="Yes, erase 1 contact"))
    expect(page.locator("ul.messagelist")).to_contain_text("Erased 1 contact")
    assert list(Contact.objects.values_list("email", flat=True)) == ["bob@example.com"]
