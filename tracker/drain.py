"""The drain: events move from the Redis stream to the database in batches, through a consumer
group, acknowledged and deleted only after their transaction committed; idempotent by event
id, so a redelivery never duplicates a row. One bad entry never stops it (see _store_alone)."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

from consentry.health import EVENT_STREAM, EVENT_TRIES
from consentry.kinds import Event
from consentry.redis import get_redis
from tracker.models import DeadLetter
from tracker.spool import spool_flush
from tracker.store import TRANSIENT, deadletter_add, events_store

logger = logging.getLogger("tracker.drain")

GROUP = "drain"
# A message another consumer read but did not acknowledge for this long is taken over: its
# worker died mid-batch.
CLAIM_IDLE_MS = 30_000


def _consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(EVENT_STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(client: redis.Redis, consumer: str, start: str, batch: int) -> list[Any]:
    """Entries of our stream from XREADGROUP (RESP2 shape: [[stream, entries]])."""
    result: Any = client.xreadgroup(GROUP, consumer, {EVENT_STREAM: start}, count=batch)
    return list(result[0][1]) if result else []


@dataclass(slots=True)
class Entry:
    stream_id: bytes
    event: Event | None  # None: nothing to store (erased, or kept as a dead letter)


def _decode(entries: Iterable[Any]) -> list[Entry]:
    decoded = []
    for message_id, fields in entries:
        if not fields:
            # Deleted from the stream by an erasure while it was pending: nothing to store.
            decoded.append(Entry(stream_id=message_id, event=None))
            continue
        raw = fields.get(b"e")
        try:
            event = json.loads(raw)
        except (ValueError, TypeError) as exc:
            stream_id = message_id.decode()
            # Kept once, even when its batch is read again after the database was away.
            if DeadLetter.objects.filter(stream_id=stream_id, source="drain").exists():
                decoded.append(Entry(stream_id=message_id, event=None))
                continue
            deadletter_add(
                event={"unreadable": repr(raw)[:10000]},
                error=f"unreadable entry: {exc}",
                source="drain",
                stream_id=stream_id,
            )
            decoded.append(Entry(stream_id=message_id, event=None))
            continue
        decoded.append(Entry(stream_id=message_id, event=event))
    return decoded


def _store_alone(client: redis.Redis, entries: list[Entry]) -> tuple[int, list[bytes]]:
    """After a batch failed: each entry in a transaction of its own, so that one bad entry
    holds back no other. An entry that fails is left pending and tried again by the next
    drain; on its DRAIN_MAX_TRIES-th failure it becomes a dead letter. Returns how many were
    written and the ids that are done with (stored or dead-lettered). A fault that is not the
    entry's own (store.TRANSIENT: the database away, a release running before its migration)
    is raised: the batch waits, and no entry is counted a try."""
    written, done = 0, []
    failed: list[tuple[Entry, Exception]] = []
    for entry in entries:
        if entry.event is None:
            done.append(entry.stream_id)
            continue
        try:
            written += events_store([entry.event])
        except TRANSIENT:
            raise
        except Exception as exc:
            failed.append((entry, exc))
            continue
        done.append(entry.stream_id)
    for entry, error in failed:
        tries = int(client.hincrby(EVENT_TRIES, entry.stream_id, 1))
        if tries < settings.DRAIN_MAX_TRIES:
            logger.warning(
                "a pipeline event failed (try %d of %d): %s: %.300s",
                tries,
                settings.DRAIN_MAX_TRIES,
                type(error).__name__,
                error,
            )
            continue
        stream_id = entry.stream_id.decode()
        # Kept once, even when this entry's acknowledgement was lost and it comes back.
        if not DeadLetter.objects.filter(stream_id=stream_id, source="drain").exists():
            deadletter_add(
                event=entry.event, error=error, source="drain", stream_id=stream_id, tries=tries
            )
        done.append(entry.stream_id)
    return written, done


def events_drain(
    *, batch: int = 1000, max_batches: int = 50, claim_idle_ms: int = CLAIM_IDLE_MS
) -> int:
    """Move events from the stream to the database; returns how many were written.

    Order: this consumer's own unacknowledged messages (a previous run that failed before its
    commit, or entries waiting for another try), once per run; then messages abandoned by dead
    consumers; then new ones. A batch is acknowledged and deleted from the stream only after
    its transaction committed. A batch that fails for a reason other than the database being
    away is stored entry by entry (see _store_alone): one bad entry never stops the drain.
    """
    client = get_redis()
    if client is None:
        return 0
    # A drain in a process that also takes hits (the embedded scheduler, a test) first ships
    # what this process holds; elsewhere there is nothing to ship.
    spool_flush()
    _ensure_group(client)
    consumer = _consumer_name()
    written = 0
    for round_ in range(max_batches):
        # Our own pending entries only once a run: an entry that failed waits for the next run
        # (a second later) rather than being tried again at once.
        pending = _read(client, consumer, "0", batch) if round_ == 0 else []
        if not pending:
            claim: Any = client.xautoclaim(
                EVENT_STREAM,
                GROUP,
                consumer,
                min_idle_time=claim_idle_ms,
                start_id="0-0",
                count=batch,
            )
            pending = list(claim[1])
        if not pending:
            pending = _read(client, consumer, ">", batch)
        if not pending:
            break
        entries = _decode(pending)
        try:
            written += events_store([e.event for e in entries if e.event is not None])
            done = [e.stream_id for e in entries]
        except TRANSIENT:
            raise
        except Exception as exc:
            logger.warning(
                "a batch of %d events failed (%s: %.300s): storing them one by one",
                len(entries),
                type(exc).__name__,
                exc,
            )
            alone, done = _store_alone(client, entries)
            written += alone
        if not done:
            continue
        # One transaction: an entry acknowledged but left in the stream would never be read
        # again, and the backlog would never reach zero.
        finish = client.pipeline(transaction=True)
        finish.xack(EVENT_STREAM, GROUP, *done)
        finish.xdel(EVENT_STREAM, *done)
        finish.hdel(EVENT_TRIES, *done)
        finish.execute()
    return written


def backlog() -> int:
    client = get_redis()
    return int(client.xlen(EVENT_STREAM)) if client is not None else 0
