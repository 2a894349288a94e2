"""Fixed-window rate limits in the shared cache (Redis when configured): one round trip."""

from __future__ import annotations

import hashlib
import time

from django.core.cache import cache


def rate_limit_hit(*, scope: str, key: str, limit: int, window: int) -> int | None:
    """Count one request; None when allowed, else the seconds to wait (for Retry-After)."""
    now = int(time.time())
    bucket = now // window
    # Hashed: the cache never holds an address, not even a masked one.
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    name = f"rl:{scope}:{digest}:{bucket}"
    try:
        count = 1 if cache.add(name, 1, timeout=window + 1) else cache.incr(name)
    except ValueError:  # the key expired between add and incr
        cache.set(name, 1, timeout=window + 1)
        count = 1
    if count > limit:
        return (bucket + 1) * window - now or 1
    return None
