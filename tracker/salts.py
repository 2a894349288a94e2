"""Random daily salts: never derived from the date, rotated at midnight UTC, deleted after
48 hours. Redis holds them when configured (every web node sees the same salt); the database
does on the embedded default, or when Redis cannot be reached."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from typing import Any

import redis
from django.db import IntegrityError, transaction

from consentry.redis import get_redis
from tracker.models import Salt

logger = logging.getLogger("tracker.salts")
SALT_LIFETIME = dt.timedelta(hours=48)
_cache: dict[dt.date, bytes] = {}
_lock = threading.Lock()


def _key(day: dt.date) -> str:
    return f"consentry:salt:{day.isoformat()}"


def _from_redis(client: redis.Redis, day: dt.date) -> bytes:
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
    expire_at = int((start + SALT_LIFETIME).timestamp())
    client.set(_key(day), secrets.token_hex(32), nx=True, exat=expire_at)
    value: Any = client.get(_key(day))
    if value is None:
        raise redis.RedisError("salt vanished")
    return bytes.fromhex(value.decode() if isinstance(value, bytes) else value)


def _from_database(day: dt.date) -> bytes:
    salt = Salt.objects.filter(day=day).first()
    if salt is None:
        try:
            with transaction.atomic():
                salt = Salt.objects.create(day=day, value=secrets.token_hex(32))
        except IntegrityError:
            salt = Salt.objects.get(day=day)
    return bytes.fromhex(salt.value)


def salt_for(day: dt.date) -> bytes:
    """The salt of a UTC day, cached in the process: at most one lookup a day per process."""
    cached = _cache.get(day)
    if cached is not None:
        return cached
    with _lock:
        if day in _cache:
            return _cache[day]
        client = get_redis()
        value = None
        if client is not None:
            try:
                value = _from_redis(client, day)
            except redis.RedisError:
                logger.warning("Redis unreachable: the salt of %s comes from the database", day)
        if value is None:
            value = _from_database(day)
            if client is not None:
                # Redis is the shared source: a fallback kept for the day would make this
                # process count visitors apart from the others once Redis is back.
                return value
        for old in [d for d in _cache if d < day - dt.timedelta(days=1)]:
            del _cache[old]
        _cache[day] = value
        return value


def salts_forget() -> None:
    """Drop the in-process cache (after retention deleted salts, and in tests)."""
    with _lock:
        _cache.clear()
