"""The form builder in a real Chromium: it fits a desktop and a phone without sideways
scrolling, and a configuration that cannot work comes back with its message on the box.

Nothing is mocked: the admin is the live Django server, read back from Chromium itself."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect

from forms.models import Field
from tests.support.browser import (
    OPERATOR_PASSWORD,
    OPERATOR_USERNAME,
    HostSite,
    Person,
    admin_log_in,
    browsing,
    fits,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.forming import form_make

pytestmark = [pytest.mark.browser]


@pytest.fixture
def operator(chromium: Browser, site: HostSite) -> Iterator[Person]:
    User.objects.create_superuser(OPERATOR_USERNAME, "operator@example.com", OPERATOR_PASSWORD)
    with browsing(Person.start(chromium, tracker=site.tracker)) as person:
        admin_log_in(person.page, person.tracker)
        yield person


def test_the_form_builder_fits_previews_changes_and_refuses_a_select_without_options(
    operator: Person,
) -> None:
    form = form_make()
    page = operator.page
    page.goto(f"{operator.tracker}/admin/forms/form/{form.pk}/change/")
    expect(page.locator("#id_fields-0-contact_field_helptext")).to_contain_text("custom field")
    for width in (1366, 390):
        assert fits(page, name="form-builder", width=width).stat().st_size > 10_000

    page.set_viewport_size({"width": 1366, "height": 900})
    # The preview follows a change before it is saved.
    preview = page.frame_locator("iframe[title=preview]")
    expect(preview.locator("form.consentry-form")).to_contain_text("First name")
    first = next(n for n, f in enumerate(form.fields.all()) if f.alias == "first_name")
    page.locator(f"#id_fields-{first}-label").fill("Your first name")
    expect(preview.locator("label[for$=-first_name]")).to_have_text("Your first name")
    assert Field.objects.get(form=form, alias="first_name").label == "First name"

    size = Field.objects.get(form=form, alias="size")
    row = next(n for n, f in enumerate(form.fields.all()) if f.pk == size.pk)
    page.locator(f"#id_fields-{row}-options").fill("")
    with page.expect_navigation():
        page.locator("input[name=_save]").click()
    expect(page.locator(f"#id_fields-{row}-options_error")).to_contain_text(
        "A select field needs options to choose from"
    )
    size.refresh_from_db()
    assert size.options == "1-10\n11-50\n51+"  # nothing saved
    assert fits(page, name="form-builder-errors", width=390).stat().st_size > 10_000
