"""Erasing contacts from the admin's list is confirmed first, on a page that names each
contact and how many of each kind of record will go or stay in the figures."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from consentry.kinds import kinds
from contacts.models import Contact, DataSubjectRequest
from contacts.services import contact_upsert, dnc_add
from tests.support.emailing import sent_to

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/contacts/contact/"


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def chosen(*contacts, **extra):
    return {"action": "erase", "_selected_action": [c.pk for c in contacts], **extra}


def counts(html: str, contact: Contact) -> dict[str, str]:
    section = html.split(f'data-contact="{contact.pk}"', 1)[1].split("</section>", 1)[0]
    return dict(re.findall(r'data-count="([^"]+)">(\d+)<', section))


def test_the_action_shows_what_will_be_erased_and_erases_nothing_yet(staff):
    ada = sent_to("ada@example.com", consented=True).contact
    dnc_add(contact=ada)
    bob = contact_upsert(email="bob@example.com")
    response = staff.post(CHANGELIST, chosen(ada, bob))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Erase 2 contacts? This cannot be undone." in html
    assert "ada@example.com" in html
    assert "bob@example.com" in html
    ada_counts = counts(html, ada)
    assert ada_counts["consent records"] == "1"
    assert ada_counts["Do-Not-Contact entries"] == "1"
    # Every counted kind is listed, under its own name, from the registry.
    for kind in kinds():
        assert str(kind.model._meta.verbose_name_plural) in ada_counts
    assert ada_counts["recipients"] == "1"
    assert set(counts(html, bob).values()) == {"0"}
    assert 'name="csrfmiddlewaretoken"' in html
    assert Contact.objects.count() == 2
    assert not DataSubjectRequest.objects.exists()


def test_after_confirming_the_contacts_are_gone(staff):
    ada = contact_upsert(email="ada@example.com")
    bob = contact_upsert(email="bob@example.com")
    kept = contact_upsert(email="kept@example.com")
    response = staff.post(CHANGELIST, chosen(ada, bob, post="yes"), follow=True)
    assert "Erased 2 contacts" in response.content.decode()
    assert list(Contact.objects.all()) == [kept]
    assert DataSubjectRequest.objects.filter(kind="erase").count() == 2


def test_cancelling_leads_back_to_the_list_and_erases_nothing(staff):
    ada = contact_upsert(email="ada@example.com")
    html = staff.post(CHANGELIST, chosen(ada)).content.decode()
    assert f'href="{CHANGELIST}" class="button cancel-link">No, take me back</a>' in html
    assert staff.get(CHANGELIST).status_code == 200
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_the_confirmation_needs_the_erase_permission(client):
    editor = User.objects.create_user("editor", password="pw", is_staff=True)
    editor.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_contact", "change_contact"])
    )
    client.force_login(editor)
    ada = contact_upsert(email="ada@example.com")
    for data in (chosen(ada), chosen(ada, post="yes")):
        response = client.post(CHANGELIST, data)
        assert "Erase 1 contact?" not in response.content.decode()
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_the_confirmation_is_refused_without_the_csrf_token():
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    ada = contact_upsert(email="ada@example.com")
    assert strict.post(CHANGELIST, chosen(ada, post="yes")).status_code == 403
    assert Contact.objects.filter(pk=ada.pk).exists()


def test_the_change_pages_delete_shows_the_same_confirmation(staff):
    ada = contact_upsert(email="ada@example.com")
    dnc_add(contact=ada)
    delete = f"{CHANGELIST}{ada.pk}/delete/"
    page = staff.get(delete)
    html = page.content.decode()
    assert "Erase 1 contact? This cannot be undone." in html
    assert counts(html, ada)["Do-Not-Contact entries"] == "1"
    assert f'href="{CHANGELIST}{ada.pk}/change/" class="button cancel-link"' in html
    assert Contact.objects.filter(pk=ada.pk).exists()
    response = staff.post(delete, {"post": "yes"}, follow=True)
    assert "Erased, with a tombstone left in the consent log." in response.content.decode()
    assert not Contact.objects.filter(pk=ada.pk).exists()
    assert DataSubjectRequest.objects.get().kind == "erase"


def test_erasing_is_the_lists_one_way_to_remove_contacts(staff):
    contact_upsert(email="ada@example.com")
    actions = [
        value for value, _ in staff.get(CHANGELIST).context["action_form"].fields["action"].choices
    ]
    assert "erase" in actions
    assert "delete_selected" not in actions
