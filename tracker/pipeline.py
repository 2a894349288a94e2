"""The ingest pipeline: the hot path appends minimised events to a Redis stream; a drain reads
them through a consumer group in batches, writes them with bulk inserts and acknowledges only
after commit. Idempotent by event id, so redelivery never duplicates a row.

Without Redis (the embedded default), or when Redis cannot be reached, the hot path writes
through to the database instead: nothing is lost either way.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import redis
from django.db import connection, transaction
from django.db.models import CharField, Field
from django.utils.module_loading import import_string

from consentry.health import EVENT_STREAM
from consentry.redis import get_redis, stream_writer
from contacts.models import Device
from tracker.models import AnonymousHit, PageHit
from tracker.spool import spool, spool_flush

logger = logging.getLogger("tracker.pipeline")

GROUP = "drain"
# A message another consumer read but did not acknowledge for this long is taken over: its
# worker died mid-batch.
CLAIM_IDLE_MS = 30_000

Event = dict[str, Any]
Hit = TypeVar("Hit", AnonymousHit, PageHit)


def event_enqueue(event: Event) -> str:
    """Append one event. Returns where it went: "spool" (this worker's spool file, shipped to
    the stream within EVENT_BATCH_MS), "stream" or "database"."""
    client = get_redis()
    if client is not None:
        payload = json.dumps(event, separators=(",", ":")).encode()
        buffer = spool()
        if buffer is not None:
            try:
                buffer.append(payload)
                return "spool"
            except OSError as exc:
                logger.warning("spool unwritable (%s): sending the event on its own", exc)
        try:
            stream_writer.append(client, EVENT_STREAM, "e", payload)
            return "stream"
        except redis.RedisError as exc:
            logger.warning("Redis unreachable (%s): writing the event through", exc)
    events_store([event])
    return "database"


def _common(event: Event) -> dict[str, Any]:
    created = dt.datetime.fromtimestamp(float(event["ts"]), tz=dt.UTC)
    return {
        "event_id": uuid.UUID(event["id"]),
        "day": created.date(),
        "created_at": created,
        "site": event["site"],
        "path": event["path"],
        "title": event.get("title", ""),
        "referrer_domain": event.get("refd", ""),
        "utm_source": event.get("utm_source", ""),
        "utm_medium": event.get("utm_medium", ""),
        "utm_campaign": event.get("utm_campaign", ""),
        "device_class": event.get("dev", ""),
        "browser": event.get("br", ""),
        "visitor": event.get("v", ""),
        "visitor_prev": event.get("vp", ""),
    }


def devices_for(events: Sequence[Event]) -> dict[str, Device]:
    """The devices the events name ("d"), created on first sight: the hot path never writes."""
    public_ids = {str(e["d"]) for e in events if e.get("d")}
    if not public_ids:
        return {}
    # Most devices come back: look them up first and insert only the new ones (ignoring a
    # concurrent insert of the same device), instead of an insert attempt for every one.
    devices = {d.public_id: d for d in Device.objects.filter(public_id__in=public_ids)}
    new = public_ids - devices.keys()
    if new:
        Device.objects.bulk_create([Device(public_id=p) for p in new], ignore_conflicts=True)
        devices.update((d.public_id, d) for d in Device.objects.filter(public_id__in=new))
    return devices


def events_well_formed(events: Sequence[Event], **fields: type) -> list[Event]:
    """The events that carry an id, a time and each named field of the given type; the rest
    are logged and dropped, so one bad event never blocks a batch."""
    good = []
    for event in events:
        try:
            uuid.UUID(str(event["id"]))
            float(event["ts"])
            for name, kind in fields.items():
                kind(event[name])
        except (KeyError, ValueError, TypeError):
            logger.error("dropped a malformed %s event %.200r", event.get("k", "page"), event)
            continue
        good.append(event)
    return good


# Event kinds stored by other apps: kind -> "module.function(events) -> int".
HANDLERS = {
    "open": "emails.services.opens_store",
    "click": "emails.services.clicks_store",
    "focus": "focus.services.focus_events_store",
    "asset": "pages.services.asset_downloads_store",
}


def events_store(events: Sequence[Event]) -> int:
    """Write events in one transaction. Redelivered events are ignored by their unique id."""
    by_kind: dict[str, list[Event]] = {}
    for event in events:
        by_kind.setdefault(str(event.get("k", "page")), []).append(event)
    written = 0
    with transaction.atomic():
        for kind, batch in by_kind.items():
            if kind == "page":
                written += _pages_store(batch)
            elif kind in HANDLERS:
                try:
                    written += import_string(HANDLERS[kind])(batch)
                except (KeyError, ValueError, TypeError):
                    logger.error("dropped %d malformed %s events", len(batch), kind)
            else:
                logger.error("dropped %d events of unknown kind %.50r", len(batch), kind)
    return written


def _pages_store(events: Sequence[Event]) -> int:
    anonymous: list[dict[str, Any]] = []
    identified: list[tuple[Event, dict[str, Any]]] = []
    for event in events:
        try:
            fields = _common(event)
        except (KeyError, ValueError, TypeError):
            logger.error("dropped a malformed event %.200r", event)
            continue
        if event.get("d"):
            identified.append((event, fields))
        else:
            fields["machine"] = bool(event.get("m"))
            anonymous.append(fields)
    with transaction.atomic():
        _hits_insert(AnonymousHit, anonymous)
        devices = devices_for([e for e, _ in identified])
        hits = []
        for event, fields in identified:
            device = devices[event["d"]]
            fields.update(
                device_id=device.pk,
                contact_id=device.contact_id,
                url=event.get("url", ""),
                referrer=event.get("ref", ""),
                language=event.get("lang", ""),
                resolution=event.get("res", ""),
            )
            hits.append(fields)
        _hits_insert(PageHit, hits)
    return len(anonymous) + len(identified)


def _hits_insert(model: type[Hit], rows: Sequence[dict[str, Any]]) -> None:
    """Insert hits (field values by attribute name, the same names in every row), skipping any
    whose event id is stored already: a redelivery.

    On PostgreSQL the batch travels as one JSON document, which the server unpacks with
    json_to_recordset into a single INSERT … ON CONFLICT DO NOTHING. bulk_create prepared
    every value of every row through its field in Python and quoted them into arrays, which
    took most of the drain's time; the JSON encoder is written in C. Elsewhere (SQLite, the
    embedded default): bulk_create, as before.
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**row) for row in rows], ignore_conflicts=True, batch_size=1000
        )
        return
    names = list(rows[0])
    fields: list[Field[Any, Any]] = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, Field):
            raise TypeError(f"{model.__name__}.{name} is not a column")
        fields.append(field)
    # A char field turns any other value into its text (CharField.to_python), as bulk_create
    # did; JSON would carry True as true and a dict as an object.
    texts = [f.attname for f in fields if isinstance(f, CharField)]
    for row in rows:
        for name in texts:
            value = row[name]
            if not (value is None or isinstance(value, str)):
                row[name] = str(value)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(f.column) for f in fields)
    keys = ", ".join(quote(f.attname) for f in fields)
    record = ", ".join(f"{quote(f.attname)} {f.db_type(connection)}" for f in fields)
    # Names and types from the models' metadata, quoted; the values travel as a parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {keys} "  # noqa: S608
        f"FROM json_to_recordset(%s::json) AS r({record}) ON CONFLICT DO NOTHING"
    )
    # UUIDs, dates and datetimes as text PostgreSQL reads back exactly (microseconds, UTC).
    document = json.dumps(rows, default=str, separators=(",", ":"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [document])


def _consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


def _ensure_group(client: redis.Redis) -> None:
    try:
        client.xgroup_create(EVENT_STREAM, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(client: redis.Redis, consumer: str, start: str, batch: int) -> list[Any]:
    """Entries of our stream from XREADGROUP (RESP2 shape: [[stream, entries]])."""
    result: Any = client.xreadgroup(GROUP, consumer, {EVENT_STREAM: start}, count=batch)
    return list(result[0][1]) if result else []


def _decode(entries: Iterable[Any]) -> tuple[list[bytes], list[Event]]:
    ids, events = [], []
    for message_id, fields in entries:
        ids.append(message_id)
        try:
            events.append(json.loads(fields[b"e"]))
        except (KeyError, ValueError, TypeError):  # TypeError: an entry deleted by erasure
            logger.error("dropped an unreadable stream entry %r", message_id)
    return ids, events


def events_drain(
    *, batch: int = 1000, max_batches: int = 50, claim_idle_ms: int = CLAIM_IDLE_MS
) -> int:
    """Move events from the stream to the database; returns how many were written.

    Order per batch: this consumer's own unacknowledged messages (a previous run that failed
    before its commit), then messages abandoned by dead consumers, then new ones. A batch is
    acknowledged and deleted from the stream only after its transaction committed.
    """
    client = get_redis()
    if client is None:
        return 0
    # A drain in a process that also takes hits (the embedded scheduler, a test) first ships
    # what this process holds; elsewhere there is nothing to ship.
    spool_flush()
    _ensure_group(client)
    consumer = _consumer_name()
    written = 0
    for _ in range(max_batches):
        pending = _read(client, consumer, "0", batch)
        if not pending:
            claim: Any = client.xautoclaim(
                EVENT_STREAM,
                GROUP,
                consumer,
                min_idle_time=claim_idle_ms,
                start_id="0-0",
                count=batch,
            )
            pending = list(claim[1])
        if not pending:
            pending = _read(client, consumer, ">", batch)
        if not pending:
            break
        ids, events = _decode(pending)
        written += events_store(events)
        # One transaction: an entry acknowledged but left in the stream would never be read
        # again, and the backlog would never reach zero.
        finish = client.pipeline(transaction=True)
        finish.xack(EVENT_STREAM, GROUP, *ids)
        finish.xdel(EVENT_STREAM, *ids)
        finish.execute()
    return written


def backlog() -> int:
    client = get_redis()
    return int(client.xlen(EVENT_STREAM)) if client is not None else 0
