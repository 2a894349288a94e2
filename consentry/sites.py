"""The sites Consentry counts for, and the origins it refused lately.

Tracked sites live in the database and are kept in the admin (Tracked sites). TRACKED_SITES
seeds them: an origin named there is tracked from the first request, with no migration or
command to run, unless a row in the table deactivates it. `sites_seed` writes the named
origins into the table so that the operator sees them and can switch them off: the admin's
list runs it when it is opened, and `manage.py bootstrap` at every start of `make run`. (A
data migration would read the settings once, as they were when it ran.)

Every hit asks whether its site is tracked, so the answer comes from a copy that each process
keeps in memory, never from a query per request:
- with Redis, a change writes a new random version under VERSION_KEY once its transaction has
  committed; a process compares it at most every SITES_CHECK_S (1 s) and reads the table
  again when it moved, and at the latest every SITES_REFRESH_S;
- on the embedded default (no Redis), and while Redis does not answer, a process reads the
  table again every SITES_RELOAD_S (5 s).
The process that made the change answers by it at once. If the table cannot be read, the last
copy stands (before the first read, TRACKED_SITES alone).

The refused origins are listed for the operator: the origin, how often and when last, nothing
about the visitor. With Redis they are kept there (off the database the hot path spares), else
in a small table; either way at most REFUSED_KEEP origins, each for REFUSED_DAYS.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from consentry.env import origin_normalise
from consentry.models import RefusedOrigin, TrackedSite
from consentry.redis import get_redis

SITES_CHECK_S = 1.0
SITES_RELOAD_S = 5.0
SITES_REFRESH_S = 60.0
VERSION_KEY = "consentry:sites:version"
REFUSED_KEEP = 50
REFUSED_DAYS = 7
REFUSED_SEEN = "consentry:sites:refused:seen"  # sorted set: origin -> last seen (epoch s)
REFUSED_COUNT = "consentry:sites:refused:count"  # hash: origin -> refused hits
HINT = "add it under Tracked sites in the admin"


class _Copy:
    """This process's copy of the table: the origins switched on, and those switched off."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on: frozenset[str] = frozenset()
        self._off: frozenset[str] = frozenset()
        self._version: object = None  # the shared version the copy was read under
        self._loaded_at: float | None = None  # monotonic time of the last read, None: stale
        self._due = 0.0  # monotonic time of the next check
        self._seeds: tuple[str, ...] = ()
        self._tracked: frozenset[str] = frozenset()

    def tracked(self) -> frozenset[str]:
        # Read on every hit: a clock read and a tuple compare, unless a check is due.
        seeds = tuple(settings.TRACKED_SITES)
        if time.monotonic() < self._due and seeds == self._seeds:
            return self._tracked
        with self._lock:
            if time.monotonic() >= self._due:
                self._refresh()
            self._seeds = seeds
            self._tracked = (frozenset(seeds) - self._off) | self._on
            return self._tracked

    def expire(self) -> None:
        """Read the table again at the next question."""
        self._loaded_at = None
        self._due = 0.0

    def _refresh(self) -> None:
        now = time.monotonic()
        client = get_redis()
        shared = False
        version: object = None
        if client is not None:
            try:
                version = client.get(VERSION_KEY)
                shared = True
            except redis.RedisError:
                pass
        if shared:
            self._due = now + SITES_CHECK_S
            fresh = self._loaded_at is not None and now - self._loaded_at < SITES_REFRESH_S
            if fresh and version == self._version:
                return
        else:
            self._due = now + SITES_RELOAD_S
        try:
            rows = list(TrackedSite.objects.values_list("origin", "active"))
        except DatabaseError:
            return  # the last copy stands; tried again when the next check is due
        self._on = frozenset(origin for origin, active in rows if active)
        self._off = frozenset(origin for origin, active in rows if not active)
        self._version = version
        self._loaded_at = now


_copy = _Copy()


def sites_tracked() -> frozenset[str]:
    """Every origin tracked now: the table's active sites, and TRACKED_SITES but those the
    table switched off."""
    return _copy.tracked()


def site_tracked(*, origin: str) -> bool:
    """Whether `origin` (scheme://host[:port], lower case) is tracked."""
    return origin in _copy.tracked()


def sites_forget() -> None:
    """Make this process read the table again at the next question (tests roll back the
    rows that its copy was read from)."""
    _copy.expire()


def _published() -> None:
    _copy.expire()
    client = get_redis()
    if client is not None:
        # A random version, not a counter: a Redis that restarted empty cannot count back to
        # the value a process already holds.
        with contextlib.suppress(redis.RedisError):
            client.set(VERSION_KEY, uuid.uuid4().hex)


def sites_changed() -> None:
    """Tell every process that the table changed: this one at once (it reads its own
    transaction), the others once the change has committed, or they would read the rows
    before it and keep them."""
    _copy.expire()
    transaction.on_commit(_published)


def site_add(*, origin: str, label: str = "") -> TrackedSite:
    """Track `origin` (normalised; ValueError if it is not an origin). A site that was
    switched off is switched on again, and the origin leaves the refused list."""
    origin = origin_normalise(origin)
    site, created = TrackedSite.objects.get_or_create(origin=origin, defaults={"label": label})
    if not created and not site.active:
        site.active = True
        site.save(update_fields=["active"])
    site_refusals_forget(origins=[origin])
    sites_changed()
    return site


def site_save(*, site: TrackedSite) -> None:
    """Save a site as the admin's form changed it (its origin already normalised)."""
    site.save()
    if site.active:
        site_refusals_forget(origins=[site.origin])
    sites_changed()


def sites_switch(*, sites: QuerySet[TrackedSite], active: bool) -> int:
    """Switch sites on or off; returns how many changed."""
    changed = sites.exclude(active=active).update(active=active)
    sites_changed()
    return changed


def sites_delete(*, sites: QuerySet[TrackedSite]) -> None:
    sites.delete()
    sites_changed()


def sites_named() -> frozenset[str]:
    """The origins TRACKED_SITES names: seeds, tracked until the table switches them off."""
    return frozenset(settings.TRACKED_SITES)


def sites_seed() -> list[str]:
    """Write the origins TRACKED_SITES names into the table, those not there yet; returns
    them. One the operator switched off stays off."""
    present = set(TrackedSite.objects.values_list("origin", flat=True))
    added = []
    for origin in settings.TRACKED_SITES:
        if origin not in present:
            _, created = TrackedSite.objects.get_or_create(origin=origin)
            if created:
                added.append(origin)
    if added:
        sites_changed()
    return added


@dataclass(frozen=True)
class Refusal:
    origin: str
    count: int
    last_seen: datetime


def site_refusal_note(*, origin: str) -> None:
    """Count one refused hit from `origin` for the admin's list. What is not an origin is not
    listed; a store that cannot take it never fails the answer."""
    try:
        origin = origin_normalise(origin)
    except ValueError:
        return
    client = get_redis()
    if client is not None:
        with contextlib.suppress(redis.RedisError):
            _note_in_redis(client, origin)
        return
    with contextlib.suppress(DatabaseError):
        _note_in_table(origin)


def _note_in_redis(client: redis.Redis, origin: str) -> None:
    ttl = REFUSED_DAYS * 86400
    pipe = client.pipeline(transaction=False)
    pipe.zadd(REFUSED_SEEN, {origin: time.time()})
    pipe.hincrby(REFUSED_COUNT, origin, 1)
    pipe.expire(REFUSED_SEEN, ttl)
    pipe.expire(REFUSED_COUNT, ttl)
    pipe.zcard(REFUSED_SEEN)
    size = pipe.execute()[-1]
    if size > REFUSED_KEEP:
        # Many origins at once (someone trying names): the oldest make room.
        oldest = client.zrange(REFUSED_SEEN, 0, size - REFUSED_KEEP - 1)
        if oldest:
            pipe = client.pipeline(transaction=False)
            pipe.zrem(REFUSED_SEEN, *oldest)
            pipe.hdel(REFUSED_COUNT, *oldest)
            pipe.execute()


def _note_in_table(origin: str) -> None:
    now = timezone.now()
    seen = RefusedOrigin.objects.filter(origin=origin)
    if seen.update(count=F("count") + 1, last_seen=now):
        return
    try:
        with transaction.atomic():
            RefusedOrigin.objects.create(origin=origin, count=1, last_seen=now)
    except IntegrityError:
        # Another request listed it at the same moment.
        seen.update(count=F("count") + 1, last_seen=now)
        return
    kept = list(
        RefusedOrigin.objects.order_by("-last_seen").values_list("pk", flat=True)[:REFUSED_KEEP]
    )
    RefusedOrigin.objects.exclude(pk__in=kept).delete()
    RefusedOrigin.objects.filter(last_seen__lt=now - timedelta(days=REFUSED_DAYS)).delete()


def sites_refused() -> list[Refusal]:
    """The origins refused in the last REFUSED_DAYS, most recent first, but those tracked
    since."""
    since = time.time() - REFUSED_DAYS * 86400
    client = get_redis()
    refusals: list[Refusal] = []
    if client is not None:
        try:
            seen = cast(
                list[tuple[bytes, float]],
                client.zrevrangebyscore(REFUSED_SEEN, "+inf", since, withscores=True),
            )
            counts = cast(dict[bytes, bytes], client.hgetall(REFUSED_COUNT))
        except redis.RedisError:
            return []
        refusals = [
            Refusal(
                origin=origin.decode(),
                count=int(counts.get(origin, 0)),
                last_seen=datetime.fromtimestamp(score, UTC),
            )
            for origin, score in seen
        ]
    else:
        rows = RefusedOrigin.objects.filter(
            last_seen__gte=datetime.fromtimestamp(since, UTC)
        ).order_by("-last_seen")
        refusals = [Refusal(origin=r.origin, count=r.count, last_seen=r.last_seen) for r in rows]
    tracked = sites_tracked()
    return [refusal for refusal in refusals if refusal.origin not in tracked]


def site_refusals_forget(*, origins: list[str]) -> None:
    """Take origins off the refused list (they are tracked now)."""
    client = get_redis()
    if client is not None:
        with contextlib.suppress(redis.RedisError):
            pipe = client.pipeline(transaction=False)
            pipe.zrem(REFUSED_SEEN, *origins)
            pipe.hdel(REFUSED_COUNT, *origins)
            pipe.execute()
        return
    RefusedOrigin.objects.filter(origin__in=origins).delete()
