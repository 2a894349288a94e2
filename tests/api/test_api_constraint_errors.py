"""A write the database refuses for one of its constraints is answered in the API's error
shape with a sentence, never a 500."""

from __future__ import annotations

import pytest

from contacts.models import Contact
from contacts.services import contact_upsert
from forms.models import Field
from tests.support.apiclients import ALL, api_client, model_perms
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db


# The database refuses the row inside the test's own transaction otherwise, and nothing more
# could be read in it.
@pytest.mark.django_db(transaction=True)
def test_a_second_field_with_the_same_alias_is_a_400_that_names_the_field():
    client = api_client(*model_perms("forms", "field", *ALL), *model_perms("forms", "form", *ALL))
    form = form_make()
    response = client.post(
        f"/api/v1/forms/{form.pk}/fields/",
        {"label": "Email again", "alias": "email", "type": "text"},
        format="json",
    )
    assert response.status_code == 400
    message = "Field with this Form and Alias already exists."
    assert response.json() == {
        "error": "invalid",
        "detail": message,
        "fields": {"alias": [message]},
    }
    assert Field.objects.filter(form=form, alias="email").count() == 1


def test_a_taken_email_is_refused_in_the_same_sentence_as_in_the_admin():
    client = api_client("contacts.view_contact", "contacts.change_contact")
    contact_upsert(email="ada@example.com")
    bob = contact_upsert(email="bob@example.com")
    response = client.patch(
        f"/api/v1/contacts/{bob.pk}/", {"email": "ADA@example.com"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"email": ["A contact with this email already exists."]}
    assert Contact.objects.get(pk=bob.pk).email == "bob@example.com"
