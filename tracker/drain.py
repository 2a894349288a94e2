"""The drain: events move from the Redis stream (each of its shards, consentry/streams.py) to
the database in batches, through a consumer group, acknowledged and deleted only after their
transaction committed; idempotent by event id, so a redelivery never duplicates a row. One bad
entry never stops it (see _store_alone). Consumers that died are claimed from, then removed
from the group (see _consumers_prune)."""

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

from consentry.kinds import Event
from consentry.redis import get_redis
from consentry.streams import Shard, shards_read, shards_written, stream_backlog
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


def _ensure_group(client: redis.Redis, stream: str) -> None:
    # From id 0: a shard created by a writer before its group existed is read from its start.
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(client: redis.Redis, stream: str, consumer: str, start: str, batch: int) -> list[Any]:
    """Entries of one shard from XREADGROUP (RESP2 shape: [[stream, entries]])."""
    result: Any = client.xreadgroup(GROUP, consumer, {stream: start}, count=batch)
    return list(result[0][1]) if result else []


# Atomic, so that no consumer can read an entry between the check and its removal: removing a
# consumer drops its pending entries from the group, and they would never be read again.
# KEYS[1] the shard, ARGV: group, idle ms, the caller's own name (never removed).
_PRUNE = """
local ok, consumers = pcall(redis.call, 'XINFO', 'CONSUMERS', KEYS[1], ARGV[1])
if not ok then return 0 end
local removed = 0
for _, consumer in ipairs(consumers) do
  local fields = {}
  for i = 1, #consumer, 2 do fields[consumer[i]] = consumer[i + 1] end
  if fields['pending'] == 0 and fields['idle'] >= tonumber(ARGV[2])
      and fields['name'] ~= ARGV[3] then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], fields['name'])
    removed = removed + 1
  end
end
return removed
"""

# A shard no writer uses any more, with nothing in it and nothing pending, is deleted (a
# writer still on the old setting recreates it, and _ensure_group reads it from its start).
_RETIRE = """
if redis.call('XLEN', KEYS[1]) ~= 0 then return 0 end
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
if ok and pending[1] ~= 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""


def _consumers_prune(client: redis.Redis, shard: Shard, consumer: str, idle_ms: int) -> int:
    """Remove the consumers of a shard that hold nothing and have been silent for idle_ms
    (each drain run names a new one per process, so the group would
    otherwise grow with every restart). Their pending entries were claimed first (events_drain
    claims entries idle for CLAIM_IDLE_MS), so the check for none pending holds them off only
    until then."""
    return int(client.eval(_PRUNE, 1, shard.stream, GROUP, idle_ms, consumer))


@dataclass(slots=True)
class Entry:
    stream_id: bytes
    event: Event | None  # None: nothing to store (erased, or kept as a dead letter)


def _decode(shard: Shard, entries: Iterable[Any]) -> list[Entry]:
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
            stream_id = shard.entry_ref(message_id.decode())
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


def _store_alone(
    client: redis.Redis, shard: Shard, entries: list[Entry]
) -> tuple[int, list[bytes]]:
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
        tries = int(client.hincrby(shard.tries, entry.stream_id, 1))
        if tries < settings.DRAIN_MAX_TRIES:
            logger.warning(
                "a pipeline event failed (try %d of %d): %s: %.300s",
                tries,
                settings.DRAIN_MAX_TRIES,
                type(error).__name__,
                error,
            )
            continue
        stream_id = shard.entry_ref(entry.stream_id.decode())
        # Kept once, even when this entry's acknowledgement was lost and it comes back.
        if not DeadLetter.objects.filter(stream_id=stream_id, source="drain").exists():
            deadletter_add(
                event=entry.event, error=error, source="drain", stream_id=stream_id, tries=tries
            )
        done.append(entry.stream_id)
    return written, done


def events_drain(
    *,
    batch: int = 1000,
    max_batches: int = 50,
    claim_idle_ms: int = CLAIM_IDLE_MS,
    consumer_timeout_ms: int | None = None,
) -> int:
    """Move events from every shard of the stream to the database; returns how many were
    written. Each shard gets up to max_batches batches a run. Consumers silent for
    consumer_timeout_ms (DRAIN_CONSUMER_TIMEOUT_S by default) that hold nothing are removed."""
    client = get_redis()
    if client is None:
        return 0
    # A drain in a process that also takes hits (the embedded scheduler, a test) first ships
    # what this process holds; elsewhere there is nothing to ship.
    spool_flush()
    consumer = _consumer_name()
    written = 0
    writers = shards_written()
    for shard in shards_read(client):
        _ensure_group(client, shard.stream)
        written += _shard_drain(
            client,
            shard,
            consumer,
            batch=batch,
            max_batches=max_batches,
            claim_idle_ms=claim_idle_ms,
        )
        if consumer_timeout_ms is None:
            consumer_timeout_ms = settings.DRAIN_CONSUMER_TIMEOUT_S * 1000
        _consumers_prune(client, shard, consumer, consumer_timeout_ms)
        if shard not in writers:
            client.eval(_RETIRE, 2, shard.stream, shard.tries, GROUP)
    return written


def _shard_drain(
    client: redis.Redis,
    shard: Shard,
    consumer: str,
    *,
    batch: int,
    max_batches: int,
    claim_idle_ms: int,
) -> int:
    """Order: this consumer's own unacknowledged messages (a previous run that failed before
    its commit, or entries waiting for another try), once per run; then messages abandoned by
    dead consumers; then new ones. A batch is acknowledged and deleted from the stream only
    after its transaction committed. A batch that fails for a reason other than the database
    being away is stored entry by entry (see _store_alone): one bad entry never stops the
    drain."""
    written = 0
    for round_ in range(max_batches):
        # Our own pending entries only once a run: an entry that failed waits for the next run
        # (a second later) rather than being tried again at once.
        pending = _read(client, shard.stream, consumer, "0", batch) if round_ == 0 else []
        if not pending:
            claim: Any = client.xautoclaim(
                shard.stream,
                GROUP,
                consumer,
                min_idle_time=claim_idle_ms,
                start_id="0-0",
                count=batch,
            )
            pending = list(claim[1])
        if not pending:
            pending = _read(client, shard.stream, consumer, ">", batch)
        if not pending:
            break
        entries = _decode(shard, pending)
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
            alone, done = _store_alone(client, shard, entries)
            written += alone
        if not done:
            continue
        # One transaction: an entry acknowledged but left in the stream would never be read
        # again, and the backlog would never reach zero.
        finish = client.pipeline(transaction=True)
        finish.xack(shard.stream, GROUP, *done)
        finish.xdel(shard.stream, *done)
        finish.hdel(shard.tries, *done)
        finish.execute()
    return written


def backlog() -> int:
    client = get_redis()
    return stream_backlog(client) if client is not None else 0
