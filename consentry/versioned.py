"""When a per-process copy of some rows must be read again: the rule consentry.sites follows
for the tracked sites, for other rows a hot path reads on every request.

- With Redis, a change writes a new random version under the copy's key once its transaction
  has committed; a process compares it at most every `check_s` and drops its copy when it
  moved, and at the latest every `refresh_s`;
- without Redis (the embedded default), and while Redis does not answer, every `reload_s`.
The process that made the change drops its copy at once (it reads its own transaction).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid

import redis
from django.db import transaction

from consentry.redis import get_redis


class Versioned:
    def __init__(
        self, key: str, *, check_s: float = 1.0, reload_s: float = 5.0, refresh_s: float = 60.0
    ) -> None:
        self.key = key
        self._check_s, self._reload_s, self._refresh_s = check_s, reload_s, refresh_s
        self._lock = threading.Lock()
        self._version: object = None  # the shared version the copy was read under
        self._loaded_at: float | None = None  # monotonic time the copy was started, None: stale
        self._due = 0.0  # monotonic time of the next check

    def stale(self) -> bool:
        """Whether the caller must drop its copy now (and read the rows again). Asked on every
        read: a clock read, unless a check is due."""
        now = time.monotonic()
        if now < self._due:
            return False
        with self._lock:
            client = get_redis()
            version: object = None
            shared = False
            if client is not None:
                try:
                    version = client.get(self.key)
                    shared = True
                except redis.RedisError:
                    pass
            age = now - self._loaded_at if self._loaded_at is not None else None
            if shared:
                self._due = now + self._check_s
                if age is not None and age < self._refresh_s and version == self._version:
                    return False
            else:
                self._due = now + self._reload_s
                if age is not None and age < self._reload_s:
                    return False
            self._version = version
            self._loaded_at = now
            return True

    def expire(self) -> None:
        """Drop this process's copy at the next read."""
        self._loaded_at = None
        self._due = 0.0

    def changed(self) -> None:
        """The rows changed: this process drops its copy at once, the others once the change
        has committed (before, they would read the rows as they were and keep them)."""
        self.expire()
        transaction.on_commit(self._publish)

    def _publish(self) -> None:
        self.expire()
        client = get_redis()
        if client is not None:
            # A random version, not a counter: a Redis that restarted empty cannot count back
            # to the value a process already holds.
            with contextlib.suppress(redis.RedisError):
                client.set(self.key, uuid.uuid4().hex)
