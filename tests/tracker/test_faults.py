"""Fault injection: the pipeline loses nothing and duplicates nothing when a part of it dies.

These tests start their own PostgreSQL cluster and Redis on spare loopback ports, so that
stopping them harms nothing else, and the production web server (scripts/serve) and a real
Celery worker with beat pointed at them (tests/support/services_for_faults.py). Load is sent
from threads with http.client to 127.0.0.1 only; the figures are read back with psycopg and
printed (see them with `pytest -s`).

Two choices, and why:

* The private Redis runs with `appendonly yes` and `appendfsync always`. Until it is drained,
  the stream is the only copy of an event; a Redis without persistence that is stopped and
  started again comes back empty, and the events it held are gone (tried here with
  `--appendonly no`: about 430 of 1,200 accepted events, twice). A production Redis for
  Consentry needs persistence too (`appendonly yes`; `appendfsync everysec` can still lose
  the last second on a crash of the machine, not on a stop).
* A worker killed mid-batch leaves its batch pending under its consumer name (host-pid). The
  restarted worker has a new name and takes that batch over only once it has been idle for
  CLAIM_IDLE_MS (30 s). The test waits for that, rather than calling the drain with a smaller
  claim time: a fault test must show that the product recovers on its own, and the takeover
  by the restarted worker is the code path under test. It costs about 30 s.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from tests.conftest import _missing
from tests.support.services_for_faults import (
    SITE,
    STREAM,
    BacklogWatch,
    Load,
    Services,
    missing,
    post_event,
    wait_until,
)
from tracker.drain import CLAIM_IDLE_MS, GROUP

# Needs the redis-server and PostgreSQL binaries, not the settings' services: the check is
# the `stack` fixture's (a `postgres` marker would skip whenever pytest itself runs on SQLite).
pytestmark = [pytest.mark.redis]

# A known product bug (see the last test): the drain acknowledges a batch and deletes it in two
# round trips, so a fault between the two leaves entries in the stream for good. While it is
# there, the tests whose faults can land in that gap count such entries instead of failing on
# them, and the last test is an expected failure. Set to False with the fix.
KNOWN_ACK_DELETE_GAP = False

# The takeover of a dead consumer's batch, plus a margin.
CLAIM_WAIT = CLAIM_IDLE_MS / 1000 + 25


@pytest.fixture(scope="module")
def stack(request: pytest.FixtureRequest) -> Iterator[Services]:
    reason = missing()
    if reason is not None:
        _missing(reason)
    failed_before = request.session.testsfailed
    services = Services(secret_key=secrets.token_urlsafe(50))
    try:
        services.start()
        yield services
    finally:
        if request.session.testsfailed > failed_before or os.environ.get("FAULTS_LOGS"):
            print(f"\n[faults] the services' logs:\n{services.logs()}")
        services.close()


@pytest.fixture
def services(stack: Services) -> Services:
    """The whole stack running (a failed test may have left a part down), no rows, no stream."""
    stack.ensure()
    stack.reset()
    return stack


def _time_to_store(
    services: Services, ids: set[str], since: float, timeout: float, *, settled: bool = True
) -> float:
    """Seconds from `since` until every one of `ids` is stored and, when `settled`, nothing in
    the stream is left to deliver or pending."""

    def done() -> bool:
        if settled:
            state = services.stream_state()
            if state["undelivered"] or state["pending"]:
                return False
        return services.stored(ids)[1] == len(ids)

    stored = wait_until(done, timeout=timeout, interval=0.1)
    took = time.monotonic() - since
    assert stored, (
        f"not drained in {timeout:.0f} s: stream {services.stream_state()}, "
        f"{services.stored(ids)[1]} of {len(ids)} accepted events stored"
    )
    return round(took, 1)


def _figures(
    title: str,
    services: Services,
    *,
    sent: int,
    accepted: set[str],
    orphans_allowed: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Print the test's figures, and assert the ones every fault test shares: every event
    accepted, stored exactly once, nothing left to deliver or pending, and (unless
    `orphans_allowed`) an empty stream."""
    time.sleep(2)  # two beats more: a wrongly duplicated row gets time to appear
    rows, among, duplicates = services.stored(accepted)
    state = services.stream_state()
    figures = {
        "sent": sent,
        "accepted": len(accepted),
        "stored": rows,
        "duplicates": duplicates,
        **extra,
        "backlog_at_end": services.backlog(),
        "acked_but_not_deleted": state["orphaned"],
    }
    print(f"\n[faults] {title}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    assert len(accepted) == sent, figures
    assert rows == among == len(accepted), figures
    assert duplicates == 0, figures
    assert state["undelivered"] == state["pending"] == 0, state
    if not orphans_allowed:
        assert services.backlog() == 0, state
    return figures


def _load_figures(*loads: Load) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    for load in loads:
        statuses.update(load.by_status())
    return {
        "statuses": dict(statuses),
        "load_s": round(sum(load.elapsed for load in loads), 1),
        "slowest_request_s": round(max(load.slowest for load in loads), 3),
    }


def _pending_of(services: Services, consumer: str) -> int:
    entries = services.redis.xpending_range(STREAM, GROUP, "-", "+", 100_000, consumer)
    return len(entries)


def _holds_a_batch(services: Services, consumer: str) -> bool:
    return _pending_of(services, consumer) > 0


def test_a_worker_killed_mid_batch_and_restarted_stores_every_accepted_event_once(
    services: Services,
) -> None:
    load = Load(services.web_port, total=2400)
    with BacklogWatch(services).watching() as watch:
        load.start()
        load.wait_sent(300)
        # Kill the worker with a batch in its hands: read from the stream, not acknowledged.
        # That window is a few milliseconds wide; when the kill lands just after the ack, the
        # worker is started again and killed on its next batch.
        in_hand, attempts, dead = 0, 0, ""
        while in_hand == 0:
            attempts += 1
            assert attempts <= 6, "never caught the worker mid-batch"
            dead = services.worker_consumer()
            wait_until(partial(_holds_a_batch, services, dead), timeout=10, interval=0.001)
            services.worker_kill()
            in_hand = _pending_of(services, dead)
            if in_hand == 0:
                services.worker_start()
                services.worker_wait_ready()
        killed_at = time.monotonic()
        load.wait_sent(load.sent + 400)  # events pile up in the stream while no worker runs
        backlog_while_dead = services.backlog()
        services.worker_start()
        restarted_at = time.monotonic()
        # Everything accepted so far, the dead worker's batch among it, while the load goes on.
        waiting = load.accepted
        backlog_s = _time_to_store(
            services, waiting, restarted_at, timeout=CLAIM_WAIT, settled=False
        )
        load.join()
        drain_s = _time_to_store(services, load.accepted, restarted_at, timeout=CLAIM_WAIT)
    _figures(
        "worker SIGKILLed mid-batch, then restarted",
        services,
        sent=load.sent,
        accepted=load.accepted,
        orphans_allowed=KNOWN_ACK_DELETE_GAP,  # a kill between ack and delete
        kill_attempts=attempts,
        pending_in_dead_hands=in_hand,
        backlog_while_dead=backlog_while_dead,
        max_backlog=watch.maximum,
        accepted_before_restart=len(waiting),
        those_stored_after_restart_s=backlog_s,
        all_drained_after_restart_s=drain_s,
        kill_to_drained_s=round(restarted_at + drain_s - killed_at, 1),
        **_load_figures(load),
    )
    assert in_hand > 0
    assert _pending_of(services, dead) == 0  # the restarted worker took the batch over


def test_with_redis_stopped_the_hot_path_writes_through_and_the_pipeline_resumes(
    services: Services,
) -> None:
    load = Load(services.web_port, total=1300)
    with BacklogWatch(services).watching() as watch:
        load.start()
        load.wait_sent(300)
        services.redis_stop()
        stopped_at = load.sent
        load.wait_sent(stopped_at + 500)  # these are written through to the database
        health_status, health = services.healthz()
        started_at = load.sent
        services.redis_start()
        restarted_at = time.monotonic()
        waiting = load.accepted
        backlog_s = _time_to_store(services, waiting, restarted_at, timeout=30, settled=False)
        load.join()
        drain_s = _time_to_store(services, load.accepted, restarted_at, timeout=30)
        # Redis is back: new events go through the stream again, and the worker that ran all
        # along (reconnected by itself) drains them.
        added_before = services.redis.xinfo_stream(STREAM)["entries-added"]
        after = Load(services.web_port, total=400).start().join()
        after_s = _time_to_store(
            services, after.accepted, time.monotonic() - after.elapsed, timeout=30
        )
        # Read once all are stored: the web workers ship their spools every 100 ms.
        added = services.redis.xinfo_stream(STREAM)["entries-added"] - added_before
    _figures(
        "Redis stopped and started again",
        services,
        sent=load.sent + after.sent,
        accepted=load.accepted | after.accepted,
        orphans_allowed=KNOWN_ACK_DELETE_GAP,  # a stop between ack and delete
        sent_while_redis_down=started_at - stopped_at,
        healthz_while_down=health_status,
        sent_after_restart=after.sent,
        via_stream_after_restart=added,
        max_backlog=watch.maximum,
        accepted_before_restart=len(waiting),
        those_stored_after_restart_s=backlog_s,
        all_drained_after_restart_s=drain_s,
        later_load_stored_s=after_s,
        **_load_figures(load, after),
    )
    assert health_status == 503
    assert health["redis"].startswith("error")
    assert added == after.sent
    assert after.by_status() == {200: after.total}


def test_with_postgres_stopped_events_wait_in_the_stream_and_drain_when_it_returns(
    services: Services,
) -> None:
    load = Load(services.web_port, total=1600)
    healthz: list[tuple[int, dict[str, Any]]] = []
    with BacklogWatch(services).watching() as watch:
        load.start()
        load.wait_sent(300)
        services.postgres_stop()
        stopped_at = load.sent
        load.wait_sent(stopped_at + 400)
        healthz.append(services.healthz())
        load.wait_sent(stopped_at + 800)
        healthz.append(services.healthz())
        started_at = load.sent
        services.postgres_start()
        restarted_at = time.monotonic()
        waiting = load.accepted
        backlog_s = _time_to_store(services, waiting, restarted_at, timeout=30, settled=False)
        load.join()
        drain_s = _time_to_store(services, load.accepted, restarted_at, timeout=30)
    backlogs = [report["backlog"] for _, report in healthz]
    _figures(
        "PostgreSQL stopped and started again",
        services,
        sent=load.sent,
        accepted=load.accepted,
        sent_while_postgres_down=started_at - stopped_at,
        healthz_while_down=[status for status, _ in healthz],
        healthz_backlog_while_down=backlogs,
        max_backlog=watch.maximum,
        accepted_before_restart=len(waiting),
        those_stored_after_restart_s=backlog_s,
        all_drained_after_restart_s=drain_s,
        **_load_figures(load),
    )
    for status, report in healthz:
        assert status == 503
        assert report["database"].startswith("error")
        assert report["redis"] == "ok"
    assert 0 < backlogs[0] < backlogs[1]
    assert services.healthz()[0] == 200


def _minimised(event_id: str) -> dict[str, Any]:
    """An event as the hot path appends it to the stream (tracker.services.hit_record)."""
    return {
        "id": event_id,
        "ts": round(time.time(), 3),
        "site": SITE,
        "path": "/redelivered",
        "title": "",
        "refd": "",
        "dev": "desktop",
        "br": "Chrome 120",
        "v": secrets.token_hex(16),
    }


def test_the_same_event_delivered_twice_is_stored_once(services: Services) -> None:
    began = time.monotonic()
    with BacklogWatch(services).watching() as watch:
        # The script sends the same id twice (a retried beacon): two requests, one event.
        posted = str(uuid.uuid4())
        statuses = [post_event(services.web_port, posted) for _ in range(2)]
        # A redelivered stream message: the same entry twice in the stream, then once more
        # after the first copy was committed (a worker that died between commit and ack).
        redelivered = str(uuid.uuid4())
        entry = {"e": json.dumps(_minimised(redelivered), separators=(",", ":"))}
        services.redis.xadd(STREAM, entry)  # type: ignore[arg-type]
        services.redis.xadd(STREAM, entry)  # type: ignore[arg-type]
        drain_s = _time_to_store(services, {posted, redelivered}, began, timeout=15)
        services.redis.xadd(STREAM, entry)  # type: ignore[arg-type]
        assert wait_until(lambda: services.backlog() == 0, timeout=15)
    rows = {
        name: services.sql(
            "SELECT count(*) FROM tracker_anonymoushit WHERE event_id = %s", (event_id,)
        )[0][0]
        for name, event_id in (("posted", posted), ("redelivered", redelivered))
    }
    _figures(
        "the same event delivered twice",
        services,
        sent=2,
        accepted={posted, redelivered} if statuses == [200, 200] else set(),
        deliveries={"POSTs of one id": 2, "stream entries of one id": 3},
        statuses=statuses,
        rows_per_event=rows,
        max_backlog=watch.maximum,
        stored_after_s=drain_s,
    )
    assert rows == {"posted": 1, "redelivered": 1}


@pytest.mark.xfail(
    KNOWN_ACK_DELETE_GAP,
    strict=True,
    reason="product bug: tracker.drain.events_drain acknowledges (XACK) and deletes (XDEL) "
    "a batch in two round trips; when the second fails, the entries stay in the stream forever "
    "and /healthz never shows a backlog of 0 again",
)
def test_a_batch_acknowledged_but_not_deleted_still_leaves_the_stream(
    services: Services,
) -> None:
    """When Redis goes away between the drain's XACK and its XDEL (a stop, a network cut, a
    worker killed at that moment), the batch is stored and acknowledged but still in the
    stream: not pending, behind the group's last delivered id, so no read returns it again,
    and XLEN (the backlog /healthz shows) never reaches 0. The Redis stop in the test above
    hits that gap in about one run out of six; here Redis refuses XDEL (an ACL on the
    default user) for a moment, which hits it every time."""
    posted = str(uuid.uuid4())
    began = time.monotonic()
    services.redis.execute_command("ACL", "SETUSER", "default", "-xdel")
    try:
        status = post_event(services.web_port, posted)
        _time_to_store(services, {posted}, began, timeout=15, settled=False)
        time.sleep(1.5)  # a beat or more: the drain has tried its XDEL
        during = services.stream_state()
    finally:
        services.redis.execute_command("ACL", "SETUSER", "default", "+xdel")
    restored = time.monotonic()
    emptied = wait_until(lambda: services.backlog() == 0, timeout=5)
    health_status, health = services.healthz()
    _figures(
        "XDEL refused after the batch was acknowledged",
        services,
        sent=1,
        accepted={posted} if status == 200 else set(),
        orphans_allowed=True,
        stream_while_xdel_refused=during,
        stream_emptied_s=round(time.monotonic() - restored, 1) if emptied else None,
        healthz_backlog=health["backlog"],
    )
    assert health_status == 200
    assert health["backlog"] == 0
    assert services.backlog() == 0
