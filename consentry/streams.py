"""The event stream: one Redis key, or EVENT_STREAM_SHARDS keys that a Redis Cluster can spread
over its nodes.

Writers (the spool, a single append) pick a shard per round trip, round robin from a
per-process start, so the shards fill evenly. Nothing depends on the order of events across
shards: every event carries its own id and time, and a visitor's hits already reach different
web workers.

Each shard has its own key for the count of failed tries, because stream ids are unique only
within one stream. With more than one shard both keys carry the shard's number as a hash tag
(`{3}`), so they live in the same cluster slot and the drain's acknowledge-and-delete
transaction stays on one node.

Readers (the drain, the health check, an erasure) read every shard that holds entries, not
only the configured ones: after EVENT_STREAM_SHARDS is lowered, or raised from one, the
entries left in a shard nobody writes to any more are still drained, counted and erased.
"""

from __future__ import annotations

import itertools
import os
import threading
from dataclasses import dataclass
from typing import Any

import redis
from django.conf import settings

# The single stream, and every deployment's stream before it could be sharded.
SINGLE_STREAM = "consentry:events"
SINGLE_TRIES = "consentry:events:tries"
# The highest EVENT_STREAM_SHARDS allowed (settings.py), and how far readers look for
# shards left over from an earlier setting.
MAX_SHARDS = 64


@dataclass(frozen=True, slots=True)
class Shard:
    stream: str
    tries: str  # stream id -> how often its entry failed to be stored
    label: str = ""  # the shard's number; "" for the single stream

    def entry_ref(self, stream_id: str) -> str:
        """An entry's name across all shards (a dead letter keeps it)."""
        return f"{self.label}/{stream_id}" if self.label else stream_id


def _numbered(number: int) -> Shard:
    key = f"consentry:events:{{{number}}}"
    return Shard(key, f"{key}:tries", str(number))


SINGLE = Shard(SINGLE_STREAM, SINGLE_TRIES)
_ALL = (SINGLE, *(_numbered(n) for n in range(MAX_SHARDS)))


def shards_written() -> tuple[Shard, ...]:
    """Where writers append now."""
    count = settings.EVENT_STREAM_SHARDS
    return (SINGLE,) if count == 1 else _ALL[1 : count + 1]


def shards_read(client: redis.Redis) -> list[Shard]:
    """Every shard writers append to, and any other that still holds entries or a consumer
    group's pending ones (one pipelined round trip)."""
    written = shards_written()
    others = [shard for shard in _ALL if shard not in written]
    pipe = client.pipeline(transaction=False)
    for shard in others:
        pipe.exists(shard.stream)
    present: list[Any] = pipe.execute()
    return [*written, *(shard for shard, there in zip(others, present, strict=True) if there)]


class _RoundRobin:
    """The next shard to write to, per process (a forked worker starts at its own pid, so
    workers do not all begin with the same shard)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = 0
        self._counter: itertools.count[int] = itertools.count()

    def next(self) -> Shard:
        shards = shards_written()
        if len(shards) == 1:
            return shards[0]
        with self._lock:
            if self._owner != os.getpid():
                self._owner = os.getpid()
                self._counter = itertools.count(os.getpid())
            return shards[next(self._counter) % len(shards)]


shard_next = _RoundRobin().next


def stream_backlog(client: redis.Redis, shards: list[Shard] | None = None) -> int:
    """Entries waiting in every shard (`shards`: shards_read's answer, when the caller has it)."""
    shards = shards_read(client) if shards is None else shards
    pipe = client.pipeline(transaction=False)
    for shard in shards:
        pipe.xlen(shard.stream)
    return sum(int(length) for length in pipe.execute())


def stream_oldest_ms(client: redis.Redis, shards: list[Shard] | None = None) -> int | None:
    """Arrival time (ms) of the oldest entry in any shard; None when all are empty."""
    shards = shards_read(client) if shards is None else shards
    pipe = client.pipeline(transaction=False)
    for shard in shards:
        pipe.xrange(shard.stream, min="-", max="+", count=1)
    firsts = [entries[0][0] for entries in pipe.execute() if entries]
    return min((int(first.split(b"-")[0]) for first in firsts), default=None)
