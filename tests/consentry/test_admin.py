"""The admin: every object, read-only consent, reports with charts, the privacy settings,
and values from the public surface shown as text everywhere."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from consent.models import ConsentRecord
from consent.services import consent_grant
from contacts.models import Contact, DataSubjectRequest
from contacts.services import contact_upsert
from emails.models import EmailSend
from tests.support.emailing import email_make
from tests.support.tracking import consent, send

pytestmark = pytest.mark.django_db
XSS = "<script>alert(1)</script>"


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    "model",
    [
        "contacts/contact",
        "contacts/datasubjectrequest",
        "consent/consentrecord",
        "emails/email",
        "emails/emailsend",
        "emails/recipient",
        "forms/form",
        "forms/submission",
        "focus/focusitem",
        "pages/asset",
        "pages/landingpage",
    ],
)
def test_every_object_has_an_admin_page(staff, model):
    assert staff.get(f"/admin/{model}/").status_code == 200


def test_consent_records_are_read_only_in_the_admin(staff):
    record = consent_grant(contact=contact_upsert(email="a@example.com"), source="form")
    assert staff.get("/admin/consent/consentrecord/add/").status_code == 403
    staff.post(f"/admin/consent/consentrecord/{record.pk}/change/", {"action": "withdraw"})
    staff.post(f"/admin/consent/consentrecord/{record.pk}/delete/", {"post": "yes"})
    assert ConsentRecord.objects.get().action == "grant"


def test_deleting_a_contact_in_the_admin_erases_it(staff):
    contact = contact_upsert(email="gone@example.com")
    consent_grant(contact=contact, source="form")
    staff.post(f"/admin/contacts/contact/{contact.pk}/delete/", {"post": "yes"})
    assert not Contact.objects.exists()
    assert DataSubjectRequest.objects.get().kind == "erase"
    assert ConsentRecord.objects.get().action == "erased"


def test_an_email_can_be_sent_to_the_selected_contacts(staff):
    email = email_make()
    contacts = [contact_upsert(email=f"p{i}@example.com") for i in range(2)]
    staff.post(
        "/admin/contacts/contact/",
        {
            "action": "send_email",
            "_selected_action": [c.pk for c in contacts],
            "email_id": email.pk,
            "confirm": "yes",
        },
    )
    assert EmailSend.objects.get().recipients.count() == 2


@override_settings(REDIS_URL=None)
def test_the_reports_draw_charts_from_the_days_figures(staff):
    visitor = Client()  # the operator's own hits are never counted
    send(visitor, page_url=f"http://testserver/{XSS}")
    consent(visitor, "grant")
    send(visitor)
    page = staff.get(reverse("admin:reports"))
    html = page.content.decode()
    assert page.status_code == 200
    assert html.count("<svg") >= 5
    assert 'id="total-hits">2<' in html
    assert XSS not in html
    assert "&lt;script&gt;" in html
    assert "script-src 'self'" in page["Content-Security-Policy"]


def test_the_privacy_settings_page_shows_the_effective_values(staff):
    html = staff.get(reverse("admin:privacy-settings")).content.decode()
    assert "Tracking mode" in html
    assert "consentry_device" in html
    assert "not set: the choices page names no one" in html


@override_settings(
    CONTROLLER_NAME="Example Shop Ltd",
    CONTROLLER_CONTACT="privacy@shop.example",
    PRIVACY_POLICY_URL="https://shop.example/privacy",
)
def test_the_privacy_settings_page_names_what_the_choices_page_tells_visitors(staff):
    html = staff.get(reverse("admin:privacy-settings")).content.decode()
    for value in ("Example Shop Ltd", "privacy@shop.example", "https://shop.example/privacy"):
        assert value in html
    assert "not set" not in html


@override_settings(REDIS_URL=None)
def test_a_tracked_title_is_text_in_the_contacts_timeline(staff):
    from consent import registry
    from contacts.models import Device
    from contacts.services import device_link
    from tests.support.browsers import consent_cookie

    visitor = Client()  # not the operator's browser, whose own hits count nowhere
    visitor.cookies[registry.CONSENT.name] = consent_cookie("g")
    send(visitor, page_title=XSS)
    contact = contact_upsert(email="ada@example.com", first_name='<img src=x onerror="x()">')
    device_link(device=Device.objects.get(), contact=contact)
    from tracker.models import PageHit

    PageHit.objects.update(contact=contact)
    html = staff.get(f"/admin/contacts/contact/{contact.pk}/change/").content.decode()
    assert XSS not in html
    assert '<img src=x onerror="x()">' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_admin_state_changes_need_post_with_csrf(client):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create_superuser("boss2", "b2@example.com", "pw"))
    response = strict.post("/admin/contacts/contact/add/", {"email": "x@example.com"})
    assert response.status_code == 403
    assert not Contact.objects.exists()
