"""CRUD for forms, focus items, emails, assets and landing pages; stats by kind."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from tests.support.apiclients import ALL, api_client, model_perms
from tests.support.emailing import sent_to
from tests.support.tracking import CHROME, send

pytestmark = pytest.mark.django_db

OBJECTS = [
    (
        "forms",
        "forms",
        "form",
        {"name": "Contact", "set_cookie_on_submission": True},
        {"name": "Contact us"},
    ),
    (
        "focus",
        "focus",
        "focusitem",
        {"name": "Bar", "headline": "Sale", "text": "<p>Hi <strong>there</strong></p>"},
        {"headline": "Big sale"},
    ),
    (
        "emails",
        "emails",
        "email",
        {"name": "News", "subject": "Hi", "from_email": "news@example.com", "html": "<p>Hello</p>"},
        {"subject": "Hello"},
    ),
    (
        "pages",
        "pages",
        "landingpage",
        {"title": "Autumn", "slug": "autumn", "body": "<p>x</p>"},
        {"published": True},
    ),
]


@pytest.mark.parametrize(("path", "app", "model", "create", "change"), OBJECTS)
def test_objects_can_be_created_read_updated_and_deleted(path, app, model, create, change):
    client = api_client(*model_perms(app, model, *ALL))
    created = client.post(f"/api/v1/{path}/", create, format="json")
    assert created.status_code == 201, created.json()
    url = f"/api/v1/{path}/{created.json()['id']}/"
    assert client.get(f"/api/v1/{path}/").json()["count"] == 1
    updated = client.patch(url, change, format="json")
    assert updated.status_code == 200
    for key, value in change.items():
        assert updated.json()[key] == value
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(("path", "app", "model", "create", "change"), OBJECTS)
def test_a_read_only_user_cannot_change_objects(path, app, model, create, change):
    client = api_client(*model_perms(app, model, "view"))
    assert client.get(f"/api/v1/{path}/").status_code == 200
    assert client.post(f"/api/v1/{path}/", create, format="json").status_code == 403
    nobody = api_client()
    assert nobody.get(f"/api/v1/{path}/").status_code == 403


def test_focus_text_is_returned_sanitised_alongside_the_source():
    from focus.models import FocusItem

    # Saved before the builder refused such text, or written straight to the database.
    item = FocusItem.objects.create(name="Old", headline="Sale", text="<p>Hi<script>x()</script>")
    client = api_client(*model_perms("focus", "focusitem", *ALL))
    body = client.get(f"/api/v1/focus/{item.pk}/").json()
    assert "<script>" in body["text"]
    assert "<script>" not in body["text_safe"]


def test_form_fields_are_managed_under_their_form():
    client = api_client(*model_perms("forms", "form", *ALL), *model_perms("forms", "field", *ALL))
    form = client.post("/api/v1/forms/", {"name": "Contact"}, format="json").json()
    field = client.post(
        f"/api/v1/forms/{form['id']}/fields/",
        {"label": "Email", "alias": "email", "type": "email", "required": True},
        format="json",
    )
    assert field.status_code == 201
    reserved = client.post(
        f"/api/v1/forms/{form['id']}/fields/", {"label": "x", "alias": "kiosk"}, format="json"
    )
    assert reserved.status_code == 400
    assert "alias" in reserved.json()["fields"]
    assert [f["alias"] for f in client.get(f"/api/v1/forms/{form['id']}/").json()["fields_"]] == [
        "email"
    ]


def test_assets_are_uploaded_with_the_same_checks_as_the_admin(tmp_path):
    client = api_client(*model_perms("pages", "asset", *ALL))
    with override_settings(MEDIA_ROOT=tmp_path):
        ok = client.post(
            "/api/v1/assets/",
            {
                "title": "Prices",
                "slug": "prices",
                "file": SimpleUploadedFile("prices.pdf", b"%PDF"),
            },
            format="multipart",
        )
        bad = client.post(
            "/api/v1/assets/",
            {"title": "Shell", "slug": "shell", "file": SimpleUploadedFile("x.php.pdf", b"<?php")},
            format="multipart",
        )
    assert ok.status_code == 201
    assert (ok.json()["original_name"], ok.json()["content_type"]) == (
        "prices.pdf",
        "application/pdf",
    )
    assert bad.status_code == 400
    assert "file" in bad.json()["fields"]


@override_settings(REDIS_URL=None)
def test_stats_report_anonymous_and_identified_apart_with_the_consent_rate(client):
    from tests.support.tracking import consent

    send(client)
    consent(client, "grant")
    send(client)
    sent = sent_to("ada@example.com", consented=True)
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    # Rolling today up on read is a write: only a user who may change the rollups gets it
    # (a view-only reader sees the scheduler's last rollup: test_api_permissions.py).
    reader = api_client("tracker.view_dailystat", "tracker.change_dailystat")
    today = dt.datetime.now(tz=dt.UTC).date().isoformat()
    pages = reader.get("/api/v1/stats/", {"kind": "page", "start": today, "end": today}).json()
    day = pages["days"][0]
    assert (day["anonymous_hits"], day["identified_hits"], day["all_visitors"]) == (1, 1, 1)
    assert pages["consent"]["granted"] == 1
    assert pages["consent"]["rate"] == 1.0
    emails = reader.get(
        "/api/v1/stats/", {"kind": "email", "object": sent.email.pk, "start": today, "end": today}
    ).json()
    assert emails["days"][0]["human_opens"] == 1
    assert emails["days"][0]["identified_opens"] == 1
    bad = reader.get("/api/v1/stats/", {"kind": "page", "start": "2026-02-01", "end": "2025-01-01"})
    assert bad.status_code == 400
    assert api_client().get("/api/v1/stats/").status_code == 403


def test_an_email_that_was_sent_cannot_be_deleted_and_says_why():
    from contacts.services import contact_upsert
    from emails.services import email_send
    from tests.support.emailing import email_make

    email = email_make()
    email_send(email=email, contacts=[contact_upsert(email="a@example.com")])
    client = api_client(*model_perms("emails", "email", *ALL))
    response = client.delete(f"/api/v1/emails/{email.pk}/")
    assert response.status_code == 409
    assert response.json()["error"] == "protected"
