"""The contact editor: custom fields as labelled inputs, help on every field, and a
duplicate email refused in a sentence (in the admin and the API alike)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from contacts.models import Contact
from contacts.services import contact_upsert
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db
ADD = "/admin/contacts/contact/add/"
DUPLICATE = "A contact with this email already exists."


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def change(contact):
    return f"/admin/contacts/contact/{contact.pk}/change/"


def posted(contact, **values):
    """The change form as the page sends it, with `values` typed in."""
    return {
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "dnc_entries-TOTAL_FORMS": "0",
        "dnc_entries-INITIAL_FORMS": "0",
        "consent_records-TOTAL_FORMS": "0",
        "consent_records-INITIAL_FORMS": "0",
        **values,
    }


def test_custom_fields_are_labelled_inputs_typed_as_the_form_that_collects_them(staff):
    form_make()  # maps "Company size" (a select) to company_size
    ada = contact_upsert(email="ada@example.com", fields={"company_size": "11-50", "city": "Oslo"})
    response = staff.get(change(ada))
    form = response.context["adminform"].form
    html = response.content.decode()
    assert 'name="fields"' not in html  # no raw JSON
    size = form["custom__company_size"]
    assert size.label == "Company size"
    assert size.value() == "11-50"
    assert [value for value, _ in size.field.choices] == ["", "1-10", "11-50", "51+"]
    # A field no form collects, held from an import or the API: shown by its name, as text.
    assert form["custom__city"].label == "City"
    assert form["custom__city"].value() == "Oslo"


def test_editing_a_custom_field_changes_it_and_blank_removes_it(staff):
    form_make()
    ada = contact_upsert(email="ada@example.com", fields={"company_size": "11-50", "city": "Oslo"})
    response = staff.post(change(ada), posted(ada, custom__company_size="51+", custom__city=""))
    assert response.status_code == 302
    ada.refresh_from_db()
    assert ada.fields == {"company_size": "51+"}


def test_values_the_inputs_do_not_touch_keep_their_type(staff):
    ada = contact_upsert(email="ada@example.com", fields={"score": 5, "tags": ["a", "b"]})
    staff.post(change(ada), posted(ada, custom__score="5", custom__tags='["a", "b"]'))
    ada.refresh_from_db()
    assert ada.fields == {"score": 5, "tags": ["a", "b"]}


def test_a_new_custom_field_is_added_by_name_and_value(staff):
    ada = contact_upsert(email="ada@example.com")
    staff.post(change(ada), posted(ada, new_field_name="company", new_field_value="Acme"))
    ada.refresh_from_db()
    assert ada.fields == {"company": "Acme"}
    assert staff.get(change(ada)).context["adminform"].form["custom__company"].value() == "Acme"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"new_field_name": "Company Name", "new_field_value": "x"},
            "new_field_name",
            "A field name is lower-case letters, digits and _",
        ),
        (
            {"new_field_name": "company", "new_field_value": ""},
            "new_field_value",
            "Give the new field a value",
        ),
        (
            {"new_field_name": "email", "new_field_value": "x"},
            "new_field_name",
            "email is one of the contact's own fields above.",
        ),
        ({"custom__company_size": "9000"}, "custom__company_size", "Select a valid choice"),
    ],
)
def test_a_wrong_custom_field_is_refused_with_a_readable_message(staff, values, field, message):
    form_make()
    ada = contact_upsert(email="ada@example.com", fields={"company_size": "1-10"})
    response = staff.post(change(ada), posted(ada, **values))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    ada.refresh_from_db()
    assert ada.fields == {"company_size": "1-10"}


def test_every_contact_field_in_the_editor_has_help_text(staff):
    form_make()
    ada = contact_upsert(email="ada@example.com", fields={"city": "Oslo"})
    form = staff.get(change(ada)).context["adminform"].form
    assert {"email", "first_name", "last_name", "custom__company_size", "custom__city"} <= set(
        form.fields
    )
    for name, field in form.fields.items():
        assert field.help_text, f"{name} has no help text"


@pytest.mark.parametrize("typed", ["ada@example.com", "ADA@Example.com"])
def test_a_duplicate_email_is_refused_in_a_sentence_that_links_to_the_contact(staff, typed):
    ada = contact_upsert(email="ada@example.com")
    response = staff.post(ADD, posted(Contact(), email=typed))
    assert response.status_code == 200
    html = response.content.decode()
    assert DUPLICATE in html
    assert "contact_email_ci_unique" not in html
    assert f'href="{change(ada)}"' in html
    assert Contact.objects.count() == 1


def test_changing_an_email_to_another_contacts_is_refused_too(staff):
    contact_upsert(email="ada@example.com")
    bob = contact_upsert(email="bob@example.com")
    response = staff.post(change(bob), posted(bob, email="Ada@example.com"))
    assert DUPLICATE in response.content.decode()
    bob.refresh_from_db()
    assert bob.email == "bob@example.com"


def test_the_constraint_itself_speaks_the_same_sentence():
    contact_upsert(email="ada@example.com")
    with pytest.raises(ValidationError) as refused:
        Contact(email="ADA@example.com").validate_constraints()
    assert refused.value.messages == [DUPLICATE]


def test_a_field_name_from_an_import_or_the_api_is_shown_as_text(staff):
    hostile = '<img src=x onerror="window.pwned=1">'
    ada = contact_upsert(email="ada@example.com", fields={hostile: hostile})
    html = staff.get(change(ada)).content.decode()
    assert hostile not in html
    assert "&lt;img src=x" in html
