"""POST /form/submit: stored, the contact created or updated, consent recorded for each box
ticked, and the browser's cookie only when switch, embed and gate all allow it."""

from __future__ import annotations

import itertools
import re

import pytest
from django.test import override_settings

from consent import registry
from consent.models import ConsentRecord
from contacts.models import Contact, Device
from forms.models import Submission
from tests.support.browsers import consent_cookie, device_cookie
from tests.support.forming import form_make
from tests.support.tracking import CHROME, expired, live

pytestmark = pytest.mark.django_db
JSON = {"Accept": "application/json", "User-Agent": CHROME}


@pytest.fixture(autouse=True)
def embedded():
    with override_settings(
        REDIS_URL=None, TRACKED_SITES=["https://www.example.com"], FORM_SUBMIT_LIMIT=1000
    ):
        yield


def submit(client, form, *, headers=None, REMOTE_ADDR="127.0.0.1", **fields):
    data = {"email": "ada@example.com", "first_name": "Ada", **fields}
    return client.post(
        f"/form/submit?formId={form.pk}",
        data,
        headers={**JSON, **(headers or {})},
        REMOTE_ADDR=REMOTE_ADDR,
    )


def expected(switch, kiosk, ticked, mode, grant):
    """(device cookie written, browser identified, consent cookie written)."""
    if mode == "off":
        return False, False, False
    may = switch and not kiosk
    permitted = mode == "always" or (mode == "consent" and (ticked or grant))
    identified = may and permitted
    new_device = identified and not grant
    consent_cookie_written = may and ticked
    return new_device, identified, consent_cookie_written


def test_the_whole_matrix_of_switch_kiosk_consent_mode_and_grant(client):
    mismatches = []
    cases = itertools.product(
        [False, True],
        [False, True],
        [False, True],
        ["off", "anonymous", "consent", "always"],
        [False, True],
    )
    for n, (switch, kiosk, ticked, mode, grant) in enumerate(cases):
        form = form_make(set_cookie_on_submission=switch)
        client.cookies.clear()
        if grant:
            client.cookies[registry.CONSENT.name] = consent_cookie("g")
            client.cookies[registry.DEVICE.name] = device_cookie(f"held-{n}")
        fields = {"email": f"p{n}@example.com"}
        if kiosk:
            fields["kiosk"] = "1"
        if ticked:
            fields["track"] = "1"
        with override_settings(TRACKING_MODE=mode):
            response = submit(client, form, **fields)
        assert response.status_code == 200, response.content
        cookies = live(response)
        submission = Submission.objects.get(form=form)
        records = list(
            ConsentRecord.objects.filter(contact=submission.contact).values_list(
                "purpose", "action", "source", "notice_version"
            )
        )
        got = (
            registry.DEVICE.name in cookies,
            submission.identified,
            registry.CONSENT.name in cookies,
        )
        want = expected(switch, kiosk, ticked, mode, grant)
        if got != want:
            mismatches.append(((switch, kiosk, ticked, mode, grant), got, want))
        want_records = [("tracking", "grant", "form", "2026-09")] if ticked else []
        if records != want_records:
            mismatches.append(("records", (switch, kiosk, ticked, mode, grant), records))
        # Nothing but the gate's cookies, ever.
        if set(cookies) - {registry.CONSENT.name, registry.DEVICE.name}:
            mismatches.append(("stray", cookies))
        if submission.identified:
            device = (
                Device.objects.get(public_id=f"held-{n}")
                if grant
                else Device.objects.get(contact=submission.contact)
            )
            if device.contact_id != submission.contact_id:
                mismatches.append(("link", (switch, kiosk, ticked, mode, grant)))
        elif Device.objects.filter(contact=submission.contact).exists():
            mismatches.append(("linked without identification", (switch, kiosk, mode, grant)))
    assert mismatches == []


def test_a_submission_creates_or_updates_the_contact_by_email(client):
    form = form_make()
    submit(
        client,
        form,
        size="11-50",
        topics=["pricing", "support"],
        age="42",
        visit="2026-11-02",
        source="ad",
    )
    submit(client, form, email="ADA@example.com", first_name="Ada L.")
    contact = Contact.objects.get()
    assert contact.first_name == "Ada L."
    assert contact.fields == {"company_size": "11-50"}
    assert Submission.objects.count() == 2
    first = Submission.objects.order_by("id").first()
    assert first.data["topics"] == ["pricing", "support"]
    assert first.data["visit"] == "2026-11-02"


def test_the_email_consent_box_records_an_email_grant(client):
    form = form_make()
    submit(client, form, newsletter="1")
    assert list(ConsentRecord.objects.values_list("purpose", "action", "source")) == [
        ("email", "grant", "form")
    ]


def test_per_field_errors_come_back_as_json(client):
    form = form_make()
    response = client.post(
        f"/form/submit?formId={form.pk}",
        {
            "email": "not-an-email",
            "size": "huge",
            "age": "200",
            "visit": "yesterday",
            "topics": "everything",
        },
        headers=JSON,
    )
    assert response.status_code == 400
    body = response.json()
    assert body["ok"] is False
    assert set(body["fields"]) == {"email", "size", "age", "visit", "topics"}
    assert body["fields"]["age"] == "At most 150."
    assert Submission.objects.count() == 0
    assert live(response) == {}


def test_without_script_errors_re_render_the_form_with_the_values_escaped(client):
    form = form_make()
    response = client.post(
        f"/form/submit?formId={form.pk}", {"email": "", "message": "<script>alert(1)</script>"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_honeypot_thanks_bots_and_keeps_nothing(client):
    form = form_make()
    response = submit(client, form, cs_hp="http://spam.example")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert Submission.objects.count() == Contact.objects.count() == 0


def test_redirects_go_only_to_allowed_origins(client):
    allowed = form_make(redirect_url="https://www.example.com/thanks")
    assert submit(client, allowed).json()["redirect"] == "https://www.example.com/thanks"
    evil = form_make(redirect_url="https://evil.example/phish")
    assert submit(client, evil).json()["redirect"] is None
    plain = client.post(f"/form/submit?formId={allowed.pk}", {"email": "b@example.com"})
    assert plain.status_code == 303
    assert plain["Location"] == "https://www.example.com/thanks"
    plain_evil = client.post(f"/form/submit?formId={evil.pk}", {"email": "c@example.com"})
    assert plain_evil.status_code == 200


def test_cors_only_for_the_forms_origins(client):
    form = form_make(allowed_origins="https://partner.example")
    ok = submit(client, form, headers={"Origin": "https://partner.example"})
    assert ok["Access-Control-Allow-Origin"] == "https://partner.example"
    assert ok["Access-Control-Allow-Credentials"] == "true"
    refused = submit(client, form, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert Submission.objects.count() == 1


@override_settings(FORM_SUBMIT_LIMIT=3)
def test_submissions_are_rate_limited_per_masked_ip(client):
    form = form_make()
    statuses = [submit(client, form, email=f"r{i}@example.com").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = submit(client, form, email="r9@example.com")
    assert 0 < int(limited["Retry-After"]) <= 600
    assert limited.json()["error"] == "rate_limited"
    assert Submission.objects.count() == 3
    # Another network is not held back.
    assert (
        submit(client, form, email="x@example.com", REMOTE_ADDR="198.51.100.1").status_code == 200
    )


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"email=" + b"a" * 70000, "application/x-www-form-urlencoded", 413),
        (
            "&".join(f"f{i}=1" for i in range(150)).encode(),
            "application/x-www-form-urlencoded",
            400,
        ),
        (b'{"email": "a@example.com"}', "application/json", 415),
        (b"--x\r\nbroken", "multipart/form-data; boundary=x", 400),
    ],
)
def test_oversized_or_malformed_bodies_get_a_4xx_and_the_next_request_works(
    client, body, content_type, status
):
    form = form_make()
    response = client.post(
        f"/form/submit?formId={form.pk}", body, content_type=content_type, headers=JSON
    )
    assert response.status_code == status
    assert submit(client, form).status_code == 200


@pytest.mark.parametrize("form_id", ["999999", "abc", "", "1 OR 1=1"])
def test_an_unknown_form_is_404_everywhere(client, form_id):
    assert (
        client.post(f"/form/submit?formId={form_id}", {"email": "a@example.com"}).status_code == 404
    )
    assert client.get(f"/form/generate.js?id={form_id}").status_code == 404


def test_an_unpublished_form_is_404_for_visitors(client):
    form = form_make(published=False)
    assert client.get(f"/form/{form.pk}").status_code == 404
    assert client.get(f"/form/embed/{form.pk}").status_code == 404
    assert client.get(f"/form/generate.js?id={form.pk}").status_code == 404
    assert submit(client, form).status_code == 404


def test_a_cookie_identity_never_prefills_and_url_parameters_do(client):
    form = form_make(set_cookie_on_submission=True)
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    submit(client, form)  # the browser is now tied to ada@example.com
    page = client.get(f"/form/{form.pk}").content.decode()
    assert "ada@example.com" not in page
    prefilled = client.get(f"/form/{form.pk}", {"email": "given@example.com", "track": "1"})
    html = prefilled.content.decode()
    assert 'value="given@example.com"' in html
    assert 'name="track" value="1" checked' not in html


def test_the_embed_script_injects_the_form_and_writes_nothing(client):
    form = form_make()
    client.cookies["mtc_id"] = "7"
    response = client.get(f"/form/generate.js?id={form.pk}")
    assert response.status_code == 200
    script = response.content.decode()
    assert "consentry-form" in script
    assert "</script" not in script.lower()
    assert "document.cookie" not in script
    assert "localStorage" not in script
    assert live(response) == {}
    assert "mtc_id" in expired(response)
    kiosk = client.get(f"/form/generate.js?id={form.pk}&kiosk=1").content.decode()
    assert 'name=\\"kiosk\\" value=\\"1\\"' in kiosk
    # URL parameters may prefill the form's own fields only: not kiosk, not a consent box.
    prefillable = re.search(r"var prefillable = (\[.*?\]);", kiosk).group(1)
    assert "email" in prefillable
    assert "kiosk" not in prefillable
    assert "track" not in prefillable


def test_a_form_without_an_email_attaches_to_a_cookie_contact_only_with_identification(client):
    from forms.models import Field, Form

    form = Form.objects.create(name="Feedback", set_cookie_on_submission=True)
    Field.objects.create(form=form, label="Comment", alias="comment", type="textarea")
    known = Contact.objects.create(email="known@example.com")
    Device.objects.create(public_id="known-device", contact=known)
    client.cookies[registry.DEVICE.name] = device_cookie("known-device")
    client.post(f"/form/submit?formId={form.pk}", {"comment": "hi"}, headers=JSON)
    assert Submission.objects.get().contact is None  # no grant: not identified
    # (and the device cookie it held without a permit was expired)
    client.cookies[registry.DEVICE.name] = device_cookie("known-device")
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    client.post(f"/form/submit?formId={form.pk}", {"comment": "again"}, headers=JSON)
    assert Submission.objects.order_by("id").last().contact == known
