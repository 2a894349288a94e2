"""The stream spread over EVENT_STREAM_SHARDS keys (N = 4 on one Redis): writers fill every
shard, the drain empties every shard, including shards left over from an earlier setting, the
health check and an erasure see them all, and consumers that died are claimed from, then
removed from the group."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.test import override_settings

from consentry.streams import SINGLE_STREAM, shards_written
from contacts.rights import stream_erase
from tests.support.tracking import send, wait_for
from tests.tracker.test_dead_letters import _page
from tracker.drain import GROUP, events_drain
from tracker.models import AnonymousHit, DeadLetter

SHARDS = [f"consentry:events:{{{n}}}" for n in range(4)]

four_shards = override_settings(EVENT_STREAM_SHARDS=4)


def _lengths(redis_client, keys=SHARDS):
    return [redis_client.xlen(key) for key in keys]


def _hits(client, n):
    for i in range(n):
        response = send(client, page_url=f"http://testserver/p/{i}")
        assert response.status_code == 200


@pytest.mark.postgres
@four_shards
def test_hits_fill_all_four_shards_and_a_real_worker_stores_each_once(
    client, redis_client, transactional_db, tmp_path
):
    from tests.conftest import celery_worker_start, celery_worker_stop

    _hits(client, 200)
    assert _lengths(redis_client) == [50, 50, 50, 50]
    assert redis_client.exists(SINGLE_STREAM) == 0
    assert client.get("/healthz").json()["backlog"] == 200
    worker = celery_worker_start(tmp_path / "beat", env={"EVENT_STREAM_SHARDS": "4"})
    try:
        assert wait_for(lambda: AnonymousHit.objects.count() >= 200), (
            f"{AnonymousHit.objects.count()} of 200 stored"
        )
        time.sleep(2)  # a duplicate would show by now
        assert AnonymousHit.objects.count() == 200
        assert _lengths(redis_client) == [0, 0, 0, 0]
        assert client.get("/healthz").json()["backlog"] == 0
        assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""
    finally:
        celery_worker_stop(worker)


def test_entries_left_in_shards_nobody_writes_to_any_more_are_drained(db, client, redis_client):
    _hits(client, 3)  # one stream, as before sharding
    with four_shards:
        _hits(client, 8)
        assert client.get("/healthz").json()["backlog"] == 11
    with override_settings(EVENT_STREAM_SHARDS=2):
        assert len(shards_written()) == 2
        assert client.get("/healthz").json()["backlog"] == 11
        assert events_drain() == 11
        # The left-over keys are gone once empty; the two in use stay with their group.
        assert [redis_client.exists(key) for key in (SINGLE_STREAM, *SHARDS)] == [0, 1, 1, 0, 0]
        _hits(client, 2)
        assert events_drain() == 2
    assert AnonymousHit.objects.count() == 13


@four_shards
def test_a_dead_consumer_loses_nothing_and_is_removed_once_it_holds_nothing(
    db, client, redis_client
):
    _hits(client, 8)
    for key in SHARDS:  # a worker reads from every shard, then dies before acknowledging
        redis_client.xgroup_create(key, GROUP, id="0", mkstream=True)
        redis_client.xreadgroup(GROUP, "dead-worker", {key: ">"}, count=10)

    def consumers(key):
        return {c["name"].decode() for c in redis_client.xinfo_consumers(key, GROUP)}

    # Not claimed yet (it might still be working), so it stays: removing it would drop its
    # pending entries from the group for good.
    assert events_drain(claim_idle_ms=60_000, consumer_timeout_ms=0) == 0
    assert all("dead-worker" in consumers(key) for key in SHARDS)
    # Claimed and stored; a consumer silent for less than the timeout is kept.
    assert events_drain(claim_idle_ms=0) == 8
    assert all("dead-worker" in consumers(key) for key in SHARDS)
    # Silent for longer than the timeout and holding nothing: removed, from every shard.
    assert events_drain(consumer_timeout_ms=0) == 0
    assert not any("dead-worker" in consumers(key) for key in SHARDS)
    assert AnonymousHit.objects.count() == 8
    assert _lengths(redis_client) == [0, 0, 0, 0]


@four_shards
def test_the_same_stream_id_in_two_shards_is_two_dead_letters(db, redis_client):
    for key in SHARDS[:2]:
        redis_client.xadd(key, {"e": b"{not json"}, id="5-0")
    events_drain()
    assert sorted(DeadLetter.objects.values_list("stream_id", flat=True)) == ["0/5-0", "1/5-0"]
    events_drain()  # read again: still kept once each
    assert DeadLetter.objects.count() == 2


@pytest.mark.postgres
@four_shards
def test_an_entry_that_keeps_failing_in_one_shard_holds_back_no_other(db, redis_client):
    from django.conf import settings

    poison = _page(title="a\ud800b")  # PostgreSQL refuses a lone surrogate in JSON
    redis_client.xadd(SHARDS[2], {"e": json.dumps(poison)})
    for key in SHARDS:
        redis_client.xadd(key, {"e": json.dumps(_page())})
    for _ in range(settings.DRAIN_MAX_TRIES + 1):
        events_drain()
    assert AnonymousHit.objects.count() == 4
    [letter] = DeadLetter.objects.all()
    assert letter.stream_id.startswith("2/")
    assert json.loads(letter.payload)["id"] == poison["id"]
    assert _lengths(redis_client) == [0, 0, 0, 0]
    assert redis_client.exists(f"{SHARDS[2]}:tries") == 0


@four_shards
def test_an_erasure_reaches_every_shard(db, redis_client):
    mine = [_page(c=41, id=str(uuid.uuid4())) for _ in range(4)]
    others = [_page(c=42) for _ in range(4)]
    for key, event, other in zip(SHARDS, mine, others, strict=True):
        redis_client.xadd(key, {"e": json.dumps(event)})
        redis_client.xadd(key, {"e": json.dumps(other)})
    assert stream_erase(contact_id=41, digests=set()) == 4
    kept = [json.loads(f[b"e"])["c"] for key in SHARDS for _i, f in redis_client.xrange(key)]
    assert kept == [42, 42, 42, 42]


@four_shards
def test_health_reads_the_oldest_entry_of_any_shard(client, db, redis_client):
    old = int((time.time() - 600) * 1000)
    redis_client.xadd(SHARDS[0], {"e": "1"})
    redis_client.xadd(SHARDS[3], {"e": "1"}, id=f"{old}-0")
    report = client.get("/healthz").json()
    assert report["backlog"] == 2
    assert report["lag_seconds"] >= 599
    assert report["status"] == "degraded"
