"""Search the whole database and the whole Redis db for a needle: the proof an erasure left
nothing behind, whatever table or key a later change adds."""

from __future__ import annotations

from typing import Any

from django.db import connection


def rows_holding(needle: str) -> list[str]:
    """Every table in the database whose rows, cast whole to text, contain the needle: every
    column of every type, tables without a model included."""
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT count(*) FROM {quoted} AS r WHERE r::text ILIKE %s",  # noqa: S608
                [f"%{escaped}%"],
            )
            if cursor.fetchone()[0]:
                found.append(table)
    return found


def _redis_values(client: Any, key: bytes) -> list[bytes]:
    kind = client.type(key)
    if kind == b"string":
        return [client.get(key) or b""]
    if kind == b"hash":
        return [b for pair in client.hgetall(key).items() for b in pair]
    if kind == b"list":
        return list(client.lrange(key, 0, -1))
    if kind == b"set":
        return list(client.smembers(key))
    if kind == b"zset":
        return list(client.zrange(key, 0, -1))
    if kind == b"stream":
        return [b for _id, fields in client.xrange(key) for pair in fields.items() for b in pair]
    return []


def redis_holding(client: Any, needle: str) -> list[str]:
    """Every Redis key whose name or value (of any type) contains the needle."""
    raw = needle.encode()
    return [
        key.decode()
        for key in client.scan_iter(count=1000)
        if raw in key or any(raw in value for value in _redis_values(client, key))
    ]


def only_the_tombstone_is_left() -> bool:
    """After an erasure the consent log holds one record, which names no one."""
    from consent.models import ConsentRecord

    records = list(ConsentRecord.objects.all())
    return len(records) == 1 and (
        records[0].action,
        records[0].contact,
        records[0].browser_key,
        records[0].ip_masked,
    ) == ("erased", None, "", None)


def every_report() -> dict[str, list[dict[str, Any]]]:
    """The figures of every report (consentry.kinds.reports()) over the last week to
    tomorrow: what an erasure must leave as it was, whatever kinds a later change adds."""
    import datetime as dt

    from consentry.kinds import reports
    from tracker.reports import stats_daily

    today = dt.datetime.now(tz=dt.UTC).date()
    start, end = today - dt.timedelta(days=7), today + dt.timedelta(days=1)
    return {name: stats_daily(kind=name, start=start, end=end) for name in reports()}
