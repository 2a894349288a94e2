"""The one edge for text: NUL, control characters and lone surrogates are refused with a 400
that names the field, on every kind of input, and the next request still works."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from tests.support.apiclients import api_client
from tests.support.tracking import CHROME, SITE, send

pytestmark = pytest.mark.django_db

REFUSED = ["\x00", "\x01", "\x1b", "\x7f", "\ud800", "\udfff"]


def _refused(response, field):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == "invalid_text"
    assert field in body["fields"], body
    return body


@pytest.mark.parametrize("character", REFUSED)
def test_a_beacon_whose_title_holds_a_refused_character_is_refused_and_never_queued(
    client, redis_client, character
):
    body = json.dumps({"page_url": f"{SITE}/x", "page_title": f"a{character}b"})
    assert "\\u" in body  # as the request spells it: an escape in valid JSON
    response = client.post(
        "/mtc/event", data=body, content_type="text/plain", headers={"User-Agent": CHROME}
    )
    _refused(response, "page_title")
    assert redis_client.xlen(EVENT_STREAM) == 0
    assert send(client).status_code == 200
    assert redis_client.xlen(EVENT_STREAM) == 1


def test_the_same_beacon_on_the_embedded_default_is_refused_not_a_500(client):
    with override_settings(REDIS_URL=None):
        response = client.post(
            "/mtc/event",
            data='{"page_url": "http://testserver/x", "page_title": "a\\ud800b"}',
            content_type="text/plain",
            headers={"User-Agent": CHROME},
        )
        _refused(response, "page_title")
        assert send(client).status_code == 200


def test_a_valid_surrogate_pair_and_line_breaks_pass(client, redis_client):
    response = client.post(
        "/mtc/event",
        data='{"page_url": "http://testserver/x", "page_title": "Sale \\ud83d\\ude00\\n\\tnow"}',
        content_type="text/plain",
        headers={"User-Agent": CHROME},
    )
    assert response.status_code == 200
    ((_, fields),) = redis_client.xrange(EVENT_STREAM)
    assert json.loads(fields[b"e"])["title"] == "Sale \U0001f600\n\tnow"


def test_the_pixel_refuses_a_nul_in_its_query_and_names_the_parameter(client):
    with override_settings(REDIS_URL=None):
        response = client.get(
            "/mtracking.gif?page_url=http://testserver/a&page_title=x%00y",
            headers={"User-Agent": CHROME},
        )
        _refused(response, "page_title")
        ok = client.get(
            "/mtracking.gif?page_url=http://testserver/a", headers={"User-Agent": CHROME}
        )
    assert ok.status_code == 200


def test_a_form_body_with_an_escaped_control_character_is_refused(client):
    from tests.support.forming import form_make

    form = form_make()
    response = client.post(
        f"/form/submit?formId={form.pk}",
        data="email=a%40example.com&first_name=Ada%1B",
        content_type="application/x-www-form-urlencoded",
        headers={"Accept": "application/json"},
    )
    _refused(response, "first_name")


def test_a_multipart_body_with_a_nul_is_refused(client):
    from tests.support.forming import form_make

    form = form_make()
    response = client.post(
        f"/form/submit?formId={form.pk}",
        {"email": "a@example.com", "first_name": "Ada\x00"},
        headers={"Accept": "application/json"},
    )
    _refused(response, "first_name")


def test_a_header_with_a_control_character_is_refused_and_named(client):
    response = send(client, headers={"Referer": "http://testserver/\x01"})
    _refused(response, "header Referer")


def test_a_path_with_a_nul_is_refused(client):
    _refused(client.get("/asset/a%00b"), "path")


@pytest.mark.parametrize("character", ["\x00", "\ud800"])
def test_the_api_refuses_bad_text_in_custom_fields_as_in_named_ones(character):
    api = api_client("contacts.add_contact", "contacts.change_contact", "contacts.view_contact")
    for payload, field in (
        ({"email": "a@example.com", "fields": {"city": f"x{character}"}}, "fields.city"),
        ({"email": "b@example.com", "first_name": f"x{character}"}, "first_name"),
        ({"email": "c@example.com", "fields": {f"k{character}": "v"}}, "fields.k"),
    ):
        response = api.post(
            "/api/v1/contacts/", data=json.dumps(payload), content_type="application/json"
        )
        assert response.status_code == 400, response.content
        body = response.json()
        assert body["error"] == "invalid_text"
        assert any(name.startswith(field) for name in body["fields"]), body
    ok = api.post(
        "/api/v1/contacts/",
        data={"email": "d@example.com", "fields": {"city": "Zürich"}},
        format="json",
    )
    assert ok.status_code == 201, ok.content


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=st.text(min_size=1, max_size=40))
def test_any_text_is_either_kept_exactly_or_refused_naming_its_field(client, value):
    import uuid

    from consentry.text import _REFUSED
    from tracker.models import AnonymousHit

    event_id = uuid.uuid4()
    with override_settings(REDIS_URL=None):
        response = send(client, page_title=value, id=str(event_id))
    if _REFUSED.search(value):
        _refused(response, "page_title")
        assert not AnonymousHit.objects.filter(event_id=event_id).exists()
    else:
        assert response.status_code == 200
        assert AnonymousHit.objects.get(event_id=event_id).title == value


def test_a_charset_in_the_request_cannot_smuggle_a_refused_character_past_the_edge(
    client, redis_client
):
    # With charset=unicode_escape Django would decode "\x00" in the query to NUL.
    response = client.get(
        "/mtracking.gif?page_url=http://testserver/a&page_title=x%5Cx00y%5Cud800z",
        headers={"User-Agent": CHROME, "Content-Type": "text/plain; charset=unicode_escape"},
    )
    assert response.status_code == 200
    ((_, fields),) = redis_client.xrange(EVENT_STREAM)
    title = json.loads(fields[b"e"])["title"]
    assert title == "x\\x00y\\ud800z"  # read as the UTF-8 text it is


@pytest.mark.parametrize("path", ["/mtc/event", "/api/v1/contacts/", "/email/webhook/bounce"])
def test_a_body_nested_too_deep_is_a_400_not_a_500(client, path):
    deep = "[" * 5000 + '"x"' + "]" * 5000
    response = client.post(path, data=deep, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("application/*", lambda text: text.encode()),
        ("application/json; charset=utf-16", lambda text: text.encode("utf-16")),
    ],
)
def test_the_api_refuses_bad_text_under_any_content_type_the_parser_takes(content_type, encode):
    api = api_client("contacts.add_contact", "contacts.change_contact", "contacts.view_contact")
    body = encode('{"email": "a@example.com", "fields": {"k": "a\\u0000b"}}')
    response = api.generic("POST", "/api/v1/contacts/", body, content_type=content_type)
    assert 400 <= response.status_code < 500, response.content[:200]
    from contacts.models import Contact

    assert not Contact.objects.exists()


def test_a_body_too_large_to_hold_is_refused_before_any_parser_reads_it(client):
    from django.conf import settings as django_settings

    big = (
        '{"email": "a@example.com", "x": "'
        + "a" * django_settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        + '"}'
    )
    response = client.post("/api/v1/contacts/", data=big, content_type="application/json")
    assert response.status_code == 413
