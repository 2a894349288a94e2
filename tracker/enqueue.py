"""The hot path's one write: a minimised event appended to this worker's spool (shipped to the
Redis stream within EVENT_BATCH_MS), or to the stream itself, or, without Redis, stored at
once. Nothing is lost either way; the drain (tracker/drain.py) moves it on."""

from __future__ import annotations

import json
import logging

import redis

from consentry.kinds import Event
from consentry.redis import get_redis, stream_writer
from consentry.streams import shard_next
from tracker.spool import spool
from tracker.store import events_store_now

logger = logging.getLogger("tracker.enqueue")


def event_enqueue(event: Event) -> str:
    """Append one event. Returns where it went: "spool" (this worker's spool file, shipped to
    the stream within EVENT_BATCH_MS), "stream" or "database" (stored at once, or kept as a
    dead letter when it cannot be)."""
    client = get_redis()
    if client is not None:
        payload = json.dumps(event, separators=(",", ":")).encode()
        buffer = spool()
        if buffer is not None:
            try:
                buffer.append(payload)
                return "spool"
            except OSError as exc:
                logger.warning("spool unwritable (%s): sending the event on its own", exc)
        try:
            stream_writer.append(client, shard_next().stream, "e", payload)
            return "stream"
        except redis.RedisError as exc:
            logger.warning("Redis unreachable (%s): writing the event through", exc)
    # Nothing would try it again later: an event that cannot be stored is kept, with its
    # error, as a dead letter.
    events_store_now([event], source="write-through")
    return "database"
