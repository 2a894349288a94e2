"""The pipeline on real services: Redis stream, a real Celery worker with beat, PostgreSQL.

N events in through the request cycle -> N rows and the right rollups out; the same event
twice -> one row; a consumer that died mid-batch loses nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from tests.support.tracking import CHROME, send, wait_for
from tracker.drain import GROUP, events_drain
from tracker.models import AnonymousHit, DailyStat
from tracker.rollups import rollup_recent

ROOT = Path(__file__).resolve().parents[2]


def _stored():
    return AnonymousHit.objects.count()


@pytest.mark.postgres
def test_n_events_through_the_request_cycle_become_n_rows_and_rollups(client, worker):
    assert connection.vendor == "postgresql"
    n = 300
    for i in range(n):
        response = send(
            client,
            page_url=f"http://testserver/p/{i % 3}",
            headers={"User-Agent": f"{CHROME} v{i % 7}"},
        )
        assert response.status_code == 200
    assert wait_for(lambda: _stored() == n), f"{_stored()} of {n} stored"
    # No SQL row was written by the requests themselves: the worker wrote them all.
    assert wait_for(lambda: AnonymousHit.objects.count() == n)
    rollup_recent()
    total = DailyStat.objects.get(dimension="total", audience="anonymous")
    assert total.hits == n
    assert total.visitors == 7
    assert (
        sum(
            DailyStat.objects.filter(dimension="path", audience="anonymous").values_list(
                "hits", flat=True
            )
        )
        == n
    )
    assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""


@pytest.mark.postgres
def test_the_same_event_delivered_twice_is_one_row(client, worker):
    payload = {"id": str(uuid.uuid4())}
    send(client, payload)
    send(client, payload)
    send(client)
    assert wait_for(lambda: _stored() == 2)
    time.sleep(2)  # give a wrongly duplicated row time to appear
    assert _stored() == 2


def test_a_consumer_that_died_mid_batch_loses_nothing(db, redis_client, client):
    for _ in range(5):
        send(client)
    # A worker reads a batch and dies before acknowledging it.
    redis_client.xgroup_create(EVENT_STREAM, GROUP, id="0", mkstream=True)
    taken = redis_client.xreadgroup(GROUP, "dead-worker", {EVENT_STREAM: ">"}, count=10)
    assert len(taken[0][1]) == 5
    assert events_drain(claim_idle_ms=60_000) == 0  # not yet: it might still be working
    assert events_drain(claim_idle_ms=0) == 5
    assert _stored() == 5
    assert redis_client.xlen(EVENT_STREAM) == 0
    assert redis_client.xpending(EVENT_STREAM, GROUP)["pending"] == 0


def test_the_hot_path_writes_to_the_stream_and_not_the_database(db, redis_client, client):
    send(client, headers={"User-Agent": CHROME + " Marker/1"}, REMOTE_ADDR="203.0.113.50")
    assert _stored() == 0
    [(_id, fields)] = redis_client.xrange(EVENT_STREAM)
    event = json.loads(fields[b"e"])
    # Minimised before it left the request: no raw address or user agent on the broker.
    assert "203.0.113.50" not in json.dumps(event)
    assert "Marker" not in json.dumps(event)
    assert client.get("/healthz").json()["backlog"] == 1
    assert events_drain() == 1
    assert client.get("/healthz").json()["backlog"] == 0


def test_with_redis_unreachable_the_hot_path_writes_through(db, client):
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        response = send(client)
    assert response.status_code == 200
    assert _stored() == 1


def test_email_opens_and_clicks_wait_in_the_stream_until_drained(db, redis_client, client):
    from emails.models import EmailClick, EmailOpen
    from tests.support.emailing import sent_to

    sent = sent_to("ada@example.com", consented=True)
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    client.get(f"/r/{sent.link.redirect_id}", headers={"User-Agent": CHROME})
    assert EmailOpen.objects.count() == EmailClick.objects.count() == 0
    assert redis_client.xlen(EVENT_STREAM) == 2
    assert events_drain() == 2
    assert EmailOpen.objects.get().recipient == sent.recipient
    assert EmailClick.objects.get().link == sent.link
