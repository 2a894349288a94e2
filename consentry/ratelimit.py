"""Fixed-window rate limits in the shared cache (Redis when configured): one round trip."""

from __future__ import annotations

import threading
import time

from django.core.cache import cache
from django.utils.crypto import salted_hmac

# Keeps this key apart from every other use of SECRET_KEY.
_PURPOSE = "consentry.ratelimit"


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int) -> int | None:
    """Count one request; None when allowed, else the seconds to wait (for Retry-After)."""
    now = int(time.time())
    bucket = now // window
    # Keyed with a secret drawn from SECRET_KEY: the cache never holds an address, and a
    # masked one cannot be recovered from the name by hashing every /16 prefix.
    digest = salted_hmac(_PURPOSE, key, algorithm="sha256").hexdigest()[:24]
    name = f"rl:{scope}:{digest}:{bucket}"
    try:
        count = 1 if cache.add(name, 1, timeout=window + 1) else cache.incr(name)
    except ValueError:  # the key expired between add and incr
        cache.set(name, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return (bucket + 1) * window - now or 1
    return None


class LocalLimiter:
    """Per-process fixed windows, for the hot path: no network round trip per hit. Each web
    worker counts on its own, so the effective limit is about `limit` x workers."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def hit(self, *, key: str, limit: int, window: int) -> int | None:
        now = int(time.time())
        bucket = now // window
        with self._lock:
            if bucket != self._window:
                self._window, self._counts = bucket, {}
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
        return (bucket + 1) * window - now or 1 if count > limit else None


event_limiter = LocalLimiter()
