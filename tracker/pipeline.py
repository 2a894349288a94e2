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
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

import redis
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import CharField, Field
from django.utils.module_loading import import_string

from consentry.health import EVENT_STREAM, EVENT_TRIES
from consentry.redis import get_redis, stream_writer
from contacts.models import Device
from tracker.models import AnonymousHit, DeadLetter, PageHit
from tracker.spool import spool, spool_flush

logger = logging.getLogger("tracker.pipeline")

GROUP = "drain"
# A message another consumer read but did not acknowledge for this long is taken over: its
# worker died mid-batch.
CLAIM_IDLE_MS = 30_000

Event = dict[str, Any]
Hit = TypeVar("Hit", AnonymousHit, PageHit)

# Errors that say the database cannot be reached or is busy now, not that an event is bad: the
# batch waits in the stream and is tried again whole. Anything else an event's storing raises
# is the event's own fault, and only that event is held back.
TRANSIENT = (OperationalError, InterfaceError)


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
    try:
        events_store([event], source="write-through")
    except TRANSIENT:
        raise
    except Exception as exc:
        # Nothing would try it again later: keep it, with its error, for an operator.
        deadletter_add(event=event, error=exc, source="write-through")
        return "dead-letter"
    return "database"


@dataclass(frozen=True, slots=True)
class Rejected:
    event: Event
    reason: str


# Events a store function found malformed while the current events_store call runs: they
# become dead letters instead of vanishing from a log.
_rejected: ContextVar[list[Rejected] | None] = ContextVar("rejected", default=None)


def _reject(event: Event, reason: str) -> None:
    found = _rejected.get()
    if found is None:
        logger.error("dropped a %s event: %s", event.get("k", "page"), reason)
    else:
        found.append(Rejected(event=event, reason=reason))


def _payload(event: object) -> str:
    # ASCII only: NUL and lone surrogates travel as escapes, which any text column takes.
    return json.dumps(event, ensure_ascii=True, default=repr)


def deadletter_add(
    *,
    event: object,
    error: BaseException | str,
    source: str,
    stream_id: str = "",
    tries: int = 1,
) -> DeadLetter:
    """Keep an event that could not be stored, with why; the drain goes on without it."""
    reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    fields = event if isinstance(event, dict) else {}
    logger.error("dead-lettered a pipeline event (%s): %.300s", source, reason)
    return DeadLetter.objects.create(
        source=source,
        stream_id=stream_id,
        event_id=str(fields.get("id", ""))[:64],
        kind=str(fields.get("k", "page") if fields else "")[:32],
        payload=_payload(event),
        error=reason[:2000],
        tries=tries,
    )


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
    become dead letters, so one bad event never blocks a batch."""
    good = []
    for event in events:
        try:
            uuid.UUID(str(event["id"]))
            float(event["ts"])
            for name, kind in fields.items():
                kind(event[name])
        except KeyError as exc:
            _reject(event, f"malformed: missing {exc}")
            continue
        except (ValueError, TypeError) as exc:
            _reject(event, f"malformed: {type(exc).__name__}: {exc}")
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


def _store(events: Sequence[Any]) -> tuple[int, list[Rejected]]:
    """Write events (inside the caller's transaction); returns how many were written and the
    ones found malformed. Any error is raised: the caller decides what it means."""
    by_kind: dict[str, list[Event]] = {}
    rejected: list[Rejected] = []
    for event in events:
        if not isinstance(event, dict):
            rejected.append(Rejected(event={"value": event}, reason="malformed: not an object"))
            continue
        by_kind.setdefault(str(event.get("k", "page")), []).append(event)
    written = 0
    token = _rejected.set(rejected)
    try:
        for kind, batch in by_kind.items():
            if kind == "page":
                written += _pages_store(batch)
            elif kind in HANDLERS:
                written += import_string(HANDLERS[kind])(batch)
            else:
                rejected.extend(
                    Rejected(event=e, reason=f"unknown kind {kind[:50]!r}") for e in batch
                )
    finally:
        _rejected.reset(token)
    return written, rejected


def events_store(events: Sequence[Any], *, source: str = "drain") -> int:
    """Write events in one transaction, with a dead letter for each malformed one. Redelivered
    events are ignored by their unique id. Raises what storing raised; nothing is written then."""
    with transaction.atomic():
        written, rejected = _store(events)
        for item in rejected:
            deadletter_add(event=item.event, error=item.reason, source=source)
    return written


def _pages_store(events: Sequence[Event]) -> int:
    anonymous: list[dict[str, Any]] = []
    identified: list[tuple[Event, dict[str, Any]]] = []
    for event in events:
        try:
            fields = _common(event)
        except KeyError as exc:
            _reject(event, f"malformed: missing {exc}")
            continue
        except (ValueError, TypeError, OverflowError) as exc:
            _reject(event, f"malformed: {type(exc).__name__}: {exc}")
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


@dataclass(slots=True)
class Entry:
    stream_id: bytes
    event: Event | None  # None: nothing to store (erased, or kept as a dead letter)


def _decode(entries: Iterable[Any]) -> list[Entry]:
    decoded = []
    for message_id, fields in entries:
        if not fields:
            # Deleted from the stream by an erasure while it was pending: nothing to store.
            decoded.append(Entry(stream_id=message_id, event=None))
            continue
        raw = fields.get(b"e")
        try:
            event = json.loads(raw)
        except (ValueError, TypeError) as exc:
            stream_id = message_id.decode()
            # Kept once, even when its batch is read again after the database was away.
            if DeadLetter.objects.filter(stream_id=stream_id, source="drain").exists():
                decoded.append(Entry(stream_id=message_id, event=None))
                continue
            deadletter_add(
                event={"unreadable": repr(raw)[:10000]},
                error=f"unreadable entry: {exc}",
                source="drain",
                stream_id=stream_id,
            )
            decoded.append(Entry(stream_id=message_id, event=None))
            continue
        decoded.append(Entry(stream_id=message_id, event=event))
    return decoded


def _store_alone(client: redis.Redis, entries: list[Entry]) -> tuple[int, list[bytes]]:
    """After a batch failed: each entry in a transaction of its own, so that one bad entry
    holds back no other. An entry that fails is left pending and tried again by the next
    drain; on its DRAIN_MAX_TRIES-th failure it becomes a dead letter. Returns how many were
    written and the ids that are done with (stored or dead-lettered)."""
    written, done = 0, []
    for entry in entries:
        if entry.event is None:
            done.append(entry.stream_id)
            continue
        try:
            written += events_store([entry.event])
        except TRANSIENT:
            raise
        except Exception as exc:
            tries = int(client.hincrby(EVENT_TRIES, entry.stream_id, 1))
            if tries < settings.DRAIN_MAX_TRIES:
                logger.warning(
                    "a pipeline event failed (try %d of %d): %s: %.300s",
                    tries,
                    settings.DRAIN_MAX_TRIES,
                    type(exc).__name__,
                    exc,
                )
                continue
            deadletter_add(
                event=entry.event,
                error=exc,
                source="drain",
                stream_id=entry.stream_id.decode(),
                tries=tries,
            )
        done.append(entry.stream_id)
    return written, done


def events_drain(
    *, batch: int = 1000, max_batches: int = 50, claim_idle_ms: int = CLAIM_IDLE_MS
) -> int:
    """Move events from the stream to the database; returns how many were written.

    Order: this consumer's own unacknowledged messages (a previous run that failed before its
    commit, or entries waiting for another try), once per run; then messages abandoned by dead
    consumers; then new ones. A batch is acknowledged and deleted from the stream only after
    its transaction committed. A batch that fails for a reason other than the database being
    away is stored entry by entry (see _store_alone): one bad entry never stops the drain.
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
    for round_ in range(max_batches):
        # Our own pending entries only once a run: an entry that failed waits for the next run
        # (a second later) rather than being tried again at once.
        pending = _read(client, consumer, "0", batch) if round_ == 0 else []
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
        entries = _decode(pending)
        try:
            written += events_store([e.event for e in entries if e.event is not None])
            done = [e.stream_id for e in entries]
        except TRANSIENT:
            raise
        except Exception as exc:
            logger.warning(
                "a batch of %d events failed (%s: %.300s): storing them one by one",
                len(entries),
                type(exc).__name__,
                exc,
            )
            alone, done = _store_alone(client, entries)
            written += alone
        if not done:
            continue
        # One transaction: an entry acknowledged but left in the stream would never be read
        # again, and the backlog would never reach zero.
        finish = client.pipeline(transaction=True)
        finish.xack(EVENT_STREAM, GROUP, *done)
        finish.xdel(EVENT_STREAM, *done)
        finish.hdel(EVENT_TRIES, *done)
        finish.execute()
    return written


@dataclass(frozen=True, slots=True)
class Redriven:
    stored: int
    failed: int


def deadletters_redrive(*, ids: Sequence[int] | None = None) -> Redriven:
    """Store dead letters again, once their cause is fixed. A stored one is deleted; one that
    fails again stays, with its new error and one more try."""
    letters = DeadLetter.objects.order_by("id")
    if ids is not None:
        letters = letters.filter(pk__in=ids)
    stored = failed = 0
    for letter in letters.iterator():
        try:
            event = json.loads(letter.payload)
            with transaction.atomic():
                _, rejected = _store([event])
                if rejected:
                    raise ValueError(rejected[0].reason)
                letter.delete()
            stored += 1
        except TRANSIENT:
            raise
        except Exception as exc:
            DeadLetter.objects.filter(pk=letter.pk).update(
                error=f"{type(exc).__name__}: {exc}"[:2000], tries=letter.tries + 1
            )
            failed += 1
    return Redriven(stored=stored, failed=failed)


def backlog() -> int:
    client = get_redis()
    return int(client.xlen(EVENT_STREAM)) if client is not None else 0
