"""One Redis client per process (redis-py pools connections and is thread-safe)."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url, socket_connect_timeout=0.5, socket_timeout=1.0, health_check_interval=30
    )


def get_redis() -> redis.Redis | None:
    """The Redis client, or None on the embedded default (no REDIS_URL)."""
    url = settings.REDIS_URL
    return _client(url) if url else None
