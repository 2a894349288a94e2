"""Health of the parts a hit depends on: the database, Redis and the pipeline's backlog."""

from __future__ import annotations

from typing import Any

from django.db import connection

from consentry.redis import get_redis

# The Redis stream the hot path appends events to (see tracker/).
EVENT_STREAM = "consentry:events"


def health_check() -> tuple[bool, dict[str, Any]]:
    report: dict[str, Any] = {}
    healthy = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception as exc:  # any failure is the answer, not a crash
        report["database"] = f"error: {type(exc).__name__}"
        healthy = False
    client = get_redis()
    if client is None:
        report["redis"] = "embedded"
        report["backlog"] = 0
    else:
        try:
            client.ping()
            report["redis"] = "ok"
            report["backlog"] = int(client.xlen(EVENT_STREAM))
        except Exception as exc:
            report["redis"] = f"error: {type(exc).__name__}"
            report["backlog"] = None
            healthy = False
    report["status"] = "ok" if healthy else "unhealthy"
    return healthy, report
