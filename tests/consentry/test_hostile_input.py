"""Hostile input on the public surface: property-based runs of the gate's invariant and of
the event, form and redirect endpoints — never a 5xx, never a cookie without a permit."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent import registry
from consent.cookies import apply
from consent.gate import Reason, Surface, decide
from tests.support.browsers import FORGED_CONSENT, consent_cookie, device_cookie
from tests.support.tracking import CHROME, live

pytestmark = pytest.mark.django_db
RELAXED = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PERMITS = {Reason.GRANTED, Reason.MODE_ALWAYS}
text = st.text(max_size=300)
cookie_values = st.one_of(
    text,
    st.sampled_from(
        [
            consent_cookie("g"),
            consent_cookie("r"),
            consent_cookie("o"),
            device_cookie(),
            *FORGED_CONSENT,
        ]
    ),
)


@RELAXED
@given(
    mode=st.sampled_from(["off", "anonymous", "consent", "always"]),
    surface=st.sampled_from(list(Surface)),
    cookies=st.dictionaries(
        st.sampled_from(
            [registry.CONSENT.name, registry.DEVICE.name, registry.FOCUS.name, "mtc_id", "x"]
        ),
        cookie_values,
        max_size=4,
    ),
    headers=st.dictionaries(
        st.sampled_from(
            ["HTTP_SEC_GPC", "HTTP_DNT", "HTTP_USER_AGENT", "HTTP_X_FORWARDED_FOR", "HTTP_ORIGIN"]
        ),
        st.sampled_from(["1", "0", "", "<script>", "1\\r\\nX: y"]),
        max_size=5,
    ),
)
def test_for_any_request_no_tracking_cookie_is_written_without_a_permit(
    rf, mode, surface, cookies, headers
):
    from django.http import HttpResponse

    request = rf.get("/", **headers)
    request.COOKIES.update(cookies)
    with override_settings(TRACKING_MODE=mode):
        decision = decide(request, surface=surface)
    response = HttpResponse()
    apply(response, decision, device_id="new-device")
    written = {m.key for m in response.cookies.values() if m["max-age"] != 0}
    if registry.DEVICE.name in written:
        assert decision.store
        assert decision.reason in PERMITS
        assert surface.may_store
    if decision.store:
        assert decision.reason in PERMITS
    if surface.no_tracking or mode == "off":
        assert written == set()
    assert written <= {registry.DEVICE.name}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@RELAXED
@given(
    payload=st.dictionaries(
        st.sampled_from(
            [
                "type",
                "page_url",
                "page_title",
                "page_referrer",
                "id",
                "consent",
                "gpc",
                "resolution",
                "utm_source",
                "mtc_id",
                "email",
                "x" * 70,
            ]
        ),
        json_values,
        max_size=8,
    )
)
def test_the_event_endpoint_never_answers_5xx(client, payload):
    with override_settings(REDIS_URL=None):
        response = client.post(
            "/mtc/event",
            data=json.dumps(payload),
            content_type="text/plain",
            headers={"User-Agent": CHROME},
        )
    assert response.status_code < 500
    granted = payload.get("type") == "consent" and payload.get("consent") == "grant"
    if not granted:
        assert registry.DEVICE.name not in live(response)


@RELAXED
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        [
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=xx",
            "application/xml",
        ]
    ),
)
def test_raw_bytes_at_the_event_and_form_endpoints_never_5xx(client, body, content_type):
    from tests.support.forming import form_make

    form = form_make()
    with override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=100000):
        event = client.post("/mtc/event", data=body, content_type=content_type)
        submit = client.post(f"/form/submit?formId={form.pk}", data=body, content_type=content_type)
    assert event.status_code < 500
    assert submit.status_code < 500


OFF_SITE = [
    "https://evil.example",
    "//evil.example",
    "/\\\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "%2F%2Fevil.example",
    "http://evil.example%2F@shop.example.com",
    "javascript:alert(1)",
    "data:text/html,x",
    " https://evil.example",
    "\\x00//evil",
]


@pytest.mark.parametrize("spelling", OFF_SITE)
def test_no_spelling_of_an_off_site_url_is_ever_a_redirect_target(client, spelling):
    from tests.support.emailing import sent_to
    from tests.support.forming import form_make

    sent = sent_to("ada@example.com", consented=False)
    for path in (
        f"/r/{spelling}",
        f"/r/{sent.link.redirect_id}?url={spelling}",
        f"/r/{sent.link.redirect_id}/{spelling}",
    ):
        response = client.get(path)
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            assert response["Location"] == sent.link.url
    form = form_make(redirect_url="https://shop.example.com/thanks")
    with override_settings(FORM_SUBMIT_LIMIT=100000):
        answer = client.post(
            f"/form/submit?formId={form.pk}&redirect={spelling}",
            {"email": "a@example.com", "redirect": spelling, "return": spelling},
            headers={"Accept": "application/json"},
        )
    assert answer.json()["redirect"] is None


def test_cr_lf_never_reaches_a_response_header(client):
    with override_settings(REDIS_URL=None):
        response = client.post(
            "/mtc/event",
            data=json.dumps(
                {"page_url": "http://testserver/a\r\nSet-Cookie: evil=1", "page_title": "x\r\ny"}
            ),
            content_type="text/plain",
        )
    assert "evil" not in str(response.headers)
    assert "evil" not in str(response.cookies)


@override_settings(EVENT_RATE_LIMIT=3, REDIS_URL=None)
def test_the_event_endpoint_is_rate_limited_per_masked_ip(client):
    from consentry.ratelimit import event_limiter

    event_limiter._counts.clear()
    from tests.support.tracking import send

    statuses = [send(client).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = send(client)
    assert 0 < int(limited["Retry-After"]) <= 60
    assert send(client, REMOTE_ADDR="198.51.100.9").status_code == 200
    event_limiter._counts.clear()


def test_unsubscribe_answers_alike_in_status_and_body_for_unknown_tokens(client):
    from tests.support.emailing import sent_to

    sent = sent_to("ada@example.com", consented=True)
    known = client.get(f"/email/unsubscribe/{sent.recipient.token}")
    unknown = client.get("/email/unsubscribe/" + "Q" * len(sent.recipient.token))
    assert known.status_code == unknown.status_code == 200
    assert known.content.replace(sent.recipient.token.encode(), b"T") == unknown.content.replace(
        b"Q" * len(sent.recipient.token), b"T"
    )
