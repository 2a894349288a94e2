"""Hostile input end to end, on real PostgreSQL, Redis and a Celery worker: arbitrary text and
JSON at every public endpoint never answers 5xx; every event the endpoints accepted is stored
exactly once or kept as a dead letter with its reason; and ordinary hits sent afterwards are
all stored. A 200 at the edge proves nothing: this looks at what the drain wrote."""

from __future__ import annotations

import json
import uuid
from urllib.parse import quote_from_bytes

import pytest
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from emails.models import EmailClick, EmailOpen
from focus.models import FocusEvent, FocusItem
from pages.models import Asset, AssetDownload, LandingPage
from tests.conftest import celery_worker_start, celery_worker_stop
from tests.support.apiclients import api_client
from tests.support.emailing import sent_to
from tests.support.forming import form_make
from tests.support.tracking import CHROME, send, wait_for
from tracker.models import AnonymousHit, DeadLetter, PageHit

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

EVENT_TABLES = (AnonymousHit, PageHit, EmailOpen, EmailClick, FocusEvent, AssetDownload)
# What careless integrators and attackers send: control characters, lone surrogates, markup,
# header injections, huge numbers, traversal.
NASTY = [
    "\x00",
    "\ud800",
    "\udfff",
    "a\ud83d",
    "\x1b[31m",
    "\x7f",
    "\r\nSet-Cookie: x=1",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "9" * 40,
    "%00",
    "\u202e",
    "\ufeff",
    "",
]
hostile = st.builds(
    lambda a, b, c: a + b + c,
    st.text(max_size=30),
    st.sampled_from(NASTY),
    st.text(max_size=30),
)
any_text = st.one_of(st.text(max_size=80), hostile)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=6,
)
EVENT_KEYS = [
    "type",
    "page_title",
    "page_referrer",
    "page_language",
    "resolution",
    "utm_source",
    "utm_campaign",
    "id",
    "consent",
    "gpc",
    "email",
]


def _raw(text: str) -> bytes:
    # The bytes an attacker can send: a lone surrogate travels as the invalid UTF-8 it encodes to.
    return text.encode("utf-8", "surrogatepass")


def _q(text: str) -> str:
    return quote_from_bytes(_raw(text), safe="")


def _form(**fields: str) -> str:
    return "&".join(f"{_q(k)}={_q(v)}" for k, v in fields.items())


def _as_header(text: str) -> str:
    # A header arrives as bytes, which WSGI hands over as Latin-1 text.
    return text.encode("utf-8", "replace").decode("latin-1")


def _stored_once_or_dead(event_ids: set[str]) -> dict[str, str]:
    """event id -> what became of it: "stored", "dead", or a fault ("missing", "stored twice")."""
    fate: dict[str, str] = {}
    ids = [uuid.UUID(i) for i in event_ids]
    counts: dict[str, int] = dict.fromkeys(event_ids, 0)
    for model in EVENT_TABLES:
        for found in model.objects.filter(event_id__in=ids).values_list("event_id", flat=True):
            counts[str(found)] += 1
    dead = set(DeadLetter.objects.filter(event_id__in=event_ids).values_list("event_id", flat=True))
    for event_id, n in counts.items():
        if n == 1:
            fate[event_id] = "stored"
        elif n == 0 and event_id in dead:
            fate[event_id] = "dead"
        else:
            fate[event_id] = "missing" if n == 0 else f"stored {n} times"
    return fate


def test_hostile_input_at_every_public_endpoint_leaves_every_accepted_event_stored(
    transactional_db, redis_client, tmp_path
):
    client = Client()
    form = form_make()
    sent = sent_to("ada@example.com", consented=True)
    item = FocusItem.objects.create(name="Bar", headline="Sale", button_url="https://x.example/")
    LandingPage.objects.create(title="Launch", slug="launch", published=True, body="<p>Hi</p>")
    api = api_client("contacts.add_contact", "contacts.change_contact", "contacts.view_contact")
    statuses: list[tuple[str, int]] = []

    def answered(name, response):
        statuses.append((name, response.status_code))
        assert response.status_code < 500, (name, response.status_code, response.content[:300])

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        endpoint=st.sampled_from(
            [
                "beacon-json",
                "beacon-form",
                "pixel",
                "open",
                "click",
                "focus",
                "form",
                "asset",
                "landing",
                "unsubscribe",
                "choices",
                "api",
            ]
        ),
        value=any_text,
        payload=st.dictionaries(st.sampled_from(EVENT_KEYS), json_values, max_size=5),
        agent=st.one_of(
            st.just(CHROME), any_text.map(lambda t: t.encode("utf-8", "replace").decode("latin-1"))
        ),
    )
    def one_request(endpoint, value, payload, agent):
        headers = {"User-Agent": agent}
        page_url = "http://testserver/pricing"
        if endpoint == "beacon-json":
            body = {"page_url": page_url, **payload}
            response = client.post(
                "/mtc/event", data=json.dumps(body), content_type="text/plain", headers=headers
            )
        elif endpoint == "beacon-form":
            response = client.post(
                "/mtc/event",
                _form(page_url=page_url, page_title=value, utm_source=value),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        elif endpoint == "pixel":
            response = client.get(
                f"/mtracking.gif?{_form(page_url=page_url, page_title=value)}", headers=headers
            )
        elif endpoint == "open":
            token = sent.recipient.token if value[:1] < "m" else sent.email.pixel_token
            response = client.get(f"/email/{token}.gif?{_form(x=value)}", headers=headers)
        elif endpoint == "click":
            response = client.get(
                f"/r/{sent.link.redirect_id}?{_form(ct=value, url=value)}", headers=headers
            )
        elif endpoint == "focus":
            response = client.get(
                f"/focus/{item.pk}/viewpixel.gif?{_form(x=value)}", headers=headers
            )
        elif endpoint == "form":
            response = client.post(
                f"/form/submit?formId={form.pk}",
                _form(email="fuzz@example.com", first_name=value, kiosk="1"),
                content_type="application/x-www-form-urlencoded",
                headers={**headers, "Accept": "application/json"},
            )
        elif endpoint == "asset":
            response = client.get(f"/asset/{_q(value)}", headers=headers)
        elif endpoint == "landing":
            response = client.get(f"/p/launch?{_form(q=value)}", headers=headers)
        elif endpoint == "unsubscribe":
            response = client.post(f"/email/unsubscribe/{_q(value)}", headers=headers)
        elif endpoint == "choices":
            response = client.post(
                "/privacy/choices",
                _form(choice=value),
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        else:
            response = api.post(
                "/api/v1/contacts/",
                data=json.dumps({"email": "api@example.com", "fields": payload}),
                content_type="application/json",
            )
        answered(endpoint, response)

    media = tmp_path / "media"
    with override_settings(
        FORM_SUBMIT_LIMIT=100_000,
        EVENT_RATE_LIMIT=100_000,
        MEDIA_ROOT=media,
        TRACKING_MODE="consent",
    ):
        asset = Asset(
            title="Prices", slug="prices", original_name="p.pdf", content_type="application/pdf"
        )
        asset.file.save("p.pdf", ContentFile(b"%PDF-1.4"), save=False)
        asset.save()
        answered("asset-ok", client.get("/asset/prices", headers={"User-Agent": CHROME}))
        # Ordinary hits among the hostile ones: whatever hypothesis draws, the drain has
        # accepted events of several kinds to store.
        for _ in range(5):
            answered("beacon-ok", send(client))
            answered("open-ok", client.get(f"/email/{sent.email.pixel_token}.gif"))
        one_request()

        # What the endpoints accepted is what waits in the stream (no worker is running yet).
        accepted = {
            json.loads(fields[b"e"])["id"] for _, fields in redis_client.xrange(EVENT_STREAM)
        }
        assert len(accepted) >= 11, statuses

        process = celery_worker_start(tmp_path / "beat-schedule")
        try:
            assert wait_for(lambda: redis_client.xlen(EVENT_STREAM) == 0, timeout=90.0), (
                "the drain stalled"
            )
            fate = _stored_once_or_dead(accepted)
            faults = {i: f for i, f in fate.items() if f not in ("stored", "dead")}
            assert not faults, faults
            for letter in DeadLetter.objects.all():
                assert letter.error, letter.pk

            # Ordinary hits afterwards: every one stored.
            later = [str(uuid.uuid4()) for _ in range(20)]
            for event_id in later:
                assert send(client, id=event_id).status_code == 200
            assert wait_for(
                lambda: AnonymousHit.objects.filter(event_id__in=later).count() == len(later),
                timeout=90.0,
            ), "ordinary hits after the hostile ones were not all stored"
            assert process.poll() is None
        finally:
            celery_worker_stop(process)
