"""Saved, consent-aware audiences: filters kept as checked data, the contacts they choose,
the admin's live count, the API, and sends to an audience that still honour email consent."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from audiences.models import Audience
from audiences.selectors import audience_contacts_for
from audiences.services import audience_create
from consent.services import consent_grant, consent_withdraw
from contacts.models import Contact
from contacts.services import contact_upsert, dnc_add
from emails.models import Recipient
from forms.models import Submission
from tests.emails import test_email_sending as sending
from tests.support.apiclients import api_client
from tests.support.emailing import email_make
from tests.support.forming import form_make

pytestmark = pytest.mark.django_db

inbox = sending.inbox
eager = sending.eager


@pytest.fixture
def crowd():
    news = contact_upsert(email="news@example.com", fields={"city": "Berlin", "tags": ["vip"]})
    consent_grant(contact=news, purpose="email", source="form")
    tracked = contact_upsert(email="tracked@example.com", fields={"city": "Wien"})
    consent_grant(contact=tracked, source="banner")
    left = contact_upsert(email="left@example.com", fields={"tags": ["customer", "vip"]})
    consent_grant(contact=left, purpose="email", source="form")
    consent_withdraw(contact=left, purpose="email", source="preferences")
    blocked = contact_upsert(email="blocked@example.com")
    consent_grant(contact=blocked, purpose="email", source="form")
    dnc_add(contact=blocked, channel="email", reason="bounced")
    return {"news": news, "tracked": tracked, "left": left, "blocked": blocked}


def _emails(filters):
    return sorted(c.email for c in audience_contacts_for(filters=filters))


def test_each_filter_chooses_the_contacts_it_names(crowd):
    form = form_make()
    Submission.objects.create(form=form, contact=crowd["tracked"], data={})
    assert _emails({"email_consent": "grant"}) == ["blocked@example.com", "news@example.com"]
    assert _emails({"email_consent": "withdraw"}) == ["left@example.com"]
    assert _emails({"email_consent": "none"}) == ["tracked@example.com"]
    assert _emails({"tracking_consent": "grant"}) == ["tracked@example.com"]
    assert _emails({"email_consent": "grant", "dnc": {"email": False}}) == ["news@example.com"]
    assert _emails({"dnc": {"email": True}}) == ["blocked@example.com"]
    assert _emails({"form": form.pk}) == ["tracked@example.com"]
    assert _emails({"fields": [{"name": "city", "op": "equals", "value": "Wien"}]}) == [
        "tracked@example.com"
    ]
    assert _emails({"fields": [{"name": "city", "op": "contains", "value": "ERL"}]}) == [
        "news@example.com"
    ]
    assert _emails({"fields": [{"name": "city", "op": "empty", "value": ""}]}) == [
        "blocked@example.com",
        "left@example.com",
    ]
    assert _emails({"tags": ["vip"]}) == ["left@example.com", "news@example.com"]
    assert _emails({"tags": ["vip", "customer"]}) == ["left@example.com"]
    today = timezone.now().date().isoformat()
    assert len(_emails({"created_after": today, "updated_before": today})) == 4
    assert _emails({"created_before": "2000-01-01"}) == []


def test_a_field_named_like_a_lookup_is_read_as_a_field(crowd):
    contact_upsert(email="odd@example.com", fields={"contains": "x"})
    assert _emails({"fields": [{"name": "contains", "op": "equals", "value": "x"}]}) == [
        "odd@example.com"
    ]


@pytest.mark.parametrize(
    ("filters", "key"),
    [
        ({"email_consent": "maybe"}, "email_consent"),
        ({"dnc": {"fax": True}}, "dnc"),
        ({"dnc": {"email": "yes"}}, "dnc"),
        ({"form": "1; DROP TABLE"}, "form"),
        ({"fields": [{"name": "a b", "op": "equals", "value": ""}]}, "fields"),
        ({"fields": [{"name": "city", "op": "regex", "value": ".*"}]}, "fields"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"__class__": 1}, "filters"),
    ],
)
def test_filters_are_data_in_a_closed_shape(filters, key):
    with pytest.raises(ValidationError) as caught:
        audience_create(name="Bad", filters=filters)
    assert key in caught.value.message_dict
    assert not Audience.objects.exists()


@pytest.fixture
def staff(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def test_the_admin_form_counts_as_the_filters_change(staff, crowd):
    page = staff.get("/admin/audiences/audience/add/")
    html = page.content.decode()
    assert page.status_code == 200
    # The count is asked by a script file, never inline script (the admin's CSP).
    assert 'src="/static/audiences/live_count.js"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html)
    count_url = re.search(r'data-count-url="([^"]+)"', html).group(1)
    assert staff.post(count_url, {"email_consent": "grant"}).json() == {"count": 2}
    assert staff.post(count_url, {"email_consent": "grant", "dnc_email": "no"}).json() == {
        "count": 1
    }
    assert staff.post(count_url, {"tags": "vip"}).json() == {"count": 2}
    bad = staff.post(count_url, {"created_after": "not a date"})
    assert bad.status_code == 400
    assert "created_after" in bad.json()["errors"]


def test_the_count_is_refused_to_who_may_not_see_contacts(client, crowd):
    user = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(user)
    response = client.post("/admin/audiences/audience/count/", {"email_consent": "grant"})
    assert response.status_code in (302, 403)
    assert b"count" not in response.content


def test_an_audience_saved_in_the_admin_keeps_its_filters_as_data(staff, crowd):
    staff.post(
        "/admin/audiences/audience/add/",
        {"name": "Opted in", "email_consent": "grant", "dnc_email": "no", "field_op": "equals"},
    )
    audience = Audience.objects.get()
    assert audience.filters == {"email_consent": "grant", "dnc": {"email": False}}
    listing = staff.get("/admin/audiences/audience/").content.decode()
    assert "Opted in" in listing


def test_the_api_creates_lists_and_counts_audiences(crowd):
    client = api_client(
        "audiences.add_audience",
        "audiences.view_audience",
        "audiences.change_audience",
        "audiences.delete_audience",
        "contacts.view_contact",
    )
    made = client.post(
        "/api/v1/audiences/",
        {"name": "News", "filters": {"email_consent": "grant", "dnc": {"email": False}}},
        format="json",
    )
    assert made.status_code == 201, made.content
    audience_id = made.json()["id"]
    contacts = client.get(f"/api/v1/audiences/{audience_id}/contacts/").json()
    assert contacts["count"] == 1
    assert contacts["results"][0]["email"] == "news@example.com"
    counted = client.post("/api/v1/audiences/count/", {"filters": {"tags": ["vip"]}}, format="json")
    assert counted.json() == {"count": 2}
    bad = client.patch(
        f"/api/v1/audiences/{audience_id}/", {"filters": {"email_consent": 1}}, format="json"
    )
    assert bad.status_code == 400
    assert "email_consent" in str(bad.json())
    twin = client.post("/api/v1/audiences/", {"name": "News"}, format="json")
    assert twin.status_code == 400
    assert client.delete(f"/api/v1/audiences/{audience_id}/").status_code == 204


def test_a_send_to_an_audience_from_the_api_still_honours_email_consent(
    inbox, eager, crowd, django_capture_on_commit_callbacks
):
    # An audience that ignores consent: the send rule still applies.
    audience = audience_create(name="Everyone", filters={})
    email = email_make()
    client = api_client("emails.add_emailsend")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/api/v1/emails/{email.pk}/send/", {"audience": audience.pk}, format="json"
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["by_basis"]["consent"] == 1
    assert body["skipped_dnc"] == 1
    assert body["skipped_consent"] == 2
    assert [m["To"] for m in inbox.messages] == ["news@example.com"]
    both = client.post(
        f"/api/v1/emails/{email.pk}/send/",
        {"audience": audience.pk, "contacts": [crowd["news"].pk]},
        format="json",
    )
    assert both.status_code == 400


def test_a_send_to_an_audience_from_the_admin_shows_the_plan_then_sends(
    staff, inbox, eager, crowd, django_capture_on_commit_callbacks
):
    audience = audience_create(name="Everyone", filters={})
    email = email_make()
    chosen = {"action": "send_email", "_selected_action": [audience.pk], "email_id": email.pk}
    page = staff.post("/admin/audiences/audience/", chosen).content.decode()
    assert 'data-basis="consent">1<' in page
    assert 'data-skipped="dnc">1<' in page
    assert inbox.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        staff.post("/admin/audiences/audience/", {**chosen, "confirm": "yes"})
    assert [m["To"] for m in inbox.messages] == ["news@example.com"]
    assert Recipient.objects.filter(status="sent").get().basis == "consent"
    assert Contact.objects.count() == 4


def test_the_email_admin_names_the_basis_of_a_send(staff):
    email = email_make()
    page = staff.get(f"/admin/emails/email/{email.pk}/change/").content.decode()
    assert 'name="basis"' in page
    assert "Soft opt-in (existing customers)" in page
