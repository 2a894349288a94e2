"""Health of the parts a hit depends on: the database, Redis, the pipeline's backlog, how far
the drain lags behind, and the events it could not store (dead letters)."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import connection

from consentry.redis import get_redis
from consentry.streams import Shard, shards_read, stream_backlog, stream_oldest_ms


def _lag_seconds(client: Any, shards: list[Shard]) -> float:
    """Age of the oldest entry still in the stream (its id is its arrival time in ms)."""
    milliseconds = stream_oldest_ms(client, shards)
    if milliseconds is None:
        return 0.0
    return max(0.0, round(time.time() - milliseconds / 1000, 1))


def health_check() -> tuple[bool, dict[str, Any]]:
    """(healthy, report). Healthy means the server can take and keep hits: a lagging drain or
    dead letters make the status "degraded" but stay healthy (200), so a load balancer keeps
    sending traffic while an operator looks."""
    from tracker.models import DeadLetter

    report: dict[str, Any] = {}
    healthy = True
    degraded = False
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
        report["dead_letters"] = DeadLetter.objects.count()
        degraded |= report["dead_letters"] > 0
    except Exception as exc:  # any failure is the answer, not a crash
        report["database"] = f"error: {type(exc).__name__}"
        report["dead_letters"] = None
        healthy = False
    client = get_redis()
    if client is None:
        report["redis"] = "embedded"
        report["backlog"] = 0
        report["lag_seconds"] = 0.0
    else:
        try:
            client.ping()
            report["redis"] = "ok"
            shards = shards_read(client)  # once for both figures
            report["backlog"] = stream_backlog(client, shards)
            report["lag_seconds"] = _lag_seconds(client, shards)
            degraded |= report["lag_seconds"] > settings.DRAIN_LAG_DEGRADED_S
        except Exception as exc:
            report["redis"] = f"error: {type(exc).__name__}"
            report["backlog"] = None
            report["lag_seconds"] = None
            healthy = False
    report["status"] = "unhealthy" if not healthy else "degraded" if degraded else "ok"
    return healthy, report
