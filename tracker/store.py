"""Storing pipeline events: each kind's rows written by the store function its registry row
names (consentry/kinds.py), in one transaction, idempotent by event id. An event that is
malformed, or of no known kind, becomes a dead letter with its reason instead of vanishing.

The drain (tracker/drain.py) calls this for each batch from the stream; the hot path
(tracker/enqueue.py) calls it directly when there is no Redis to queue on.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import (
    InterfaceError,
    InternalError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)
from django.db.models import CharField, Field

from consentry.kinds import Event, Optional, kind_get
from contacts.models import Device
from tracker.models import AnonymousHit, CountedEvent, DeadLetter, PageHit

logger = logging.getLogger("tracker.store")

Hit = TypeVar("Hit", AnonymousHit, PageHit)

# Errors that say the database cannot take anything now (unreachable, busy, a schema the code
# does not expect, an internal failure), not that an event is bad: the batch waits in the
# stream and is tried again whole. Anything else an event's storing raises is the event's own
# fault, and only that event is held back.
TRANSIENT = (OperationalError, InterfaceError, ProgrammingError, InternalError)


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


def counted_rows_store(
    model: type[CountedEvent],
    events: Sequence[Event],
    *,
    own: Callable[[Event], dict[str, Any] | None],
) -> int:
    """Rows of a counted kind (consentry/kinds.py) from its pipeline events: each event's id and
    time, its machine flag, its device (created on first sight) and that device's contact, plus
    the kind's own values from `own(event)`, which may also name the contact, or return None to
    skip an event whose object has been deleted since. Idempotent by event id."""
    devices = devices_for(events)
    rows = []
    for event in events:
        values = own(event)
        if values is None:
            continue
        device = devices.get(str(event.get("d", "")))
        rows.append(
            model(
                event_id=uuid.UUID(str(event["id"])),
                created_at=dt.datetime.fromtimestamp(float(event["ts"]), tz=dt.UTC),
                machine=bool(event.get("m")),
                device=device,
                **{"contact_id": device.contact_id if device else None, **values},
            )
        )
    model._default_manager.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


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


def _store(events: Sequence[Any]) -> tuple[int, list[Rejected]]:
    """Write events (inside the caller's transaction); returns how many were written and the
    ones found malformed. Any error is raised: the caller decides what it means."""
    by_kind: dict[str, list[Event]] = {}
    stores: dict[str, Callable[[Sequence[Event]], int]] = {}
    rejected: list[Rejected] = []
    for event in events:
        store, reason = event_check(event)
        if store is None:
            rejected.append(Rejected(event=_as_event(event), reason=reason))
            continue
        code = str(event.get("k", "page"))
        stores[code] = store
        by_kind.setdefault(code, []).append(event)
    written = 0
    token = _rejected.set(rejected)
    try:
        for code, batch in by_kind.items():
            written += stores[code](batch)
            kind = kind_get(code)
            if kind is not None and kind.hook is not None:
                from webhooks.services import kind_rows_emit

                kind_rows_emit(kind=kind, event_ids=[e["id"] for e in batch])
    finally:
        _rejected.reset(token)
    return written, rejected


def _as_event(value: object) -> Event:
    return value if isinstance(value, dict) else {"value": value}


def event_check(event: object) -> tuple[Callable[[Sequence[Event]], int] | None, str]:
    """The store function of the event's kind, or None and why the event cannot be stored as
    it is: it must be an object with an id, a time, a kind that is stored, and that kind's
    typed fields (consentry/kinds.py)."""
    if not isinstance(event, dict):
        return None, "malformed: not an object"
    code = str(event.get("k", "page"))
    kind = kind_get(code)
    if kind is None or kind.store is None:
        return None, f"unknown kind {code[:50]!r}"
    try:
        uuid.UUID(str(event["id"]))
        float(event["ts"])
        for name, convert in kind.fields.items():
            if isinstance(convert, Optional):
                if event.get(name) not in (None, ""):
                    convert.convert(event[name])
            else:
                convert(event[name])
    except KeyError as exc:
        return None, f"malformed: missing {exc}"
    except (ValueError, TypeError, OverflowError) as exc:
        return None, f"malformed: {type(exc).__name__}: {exc}"
    return kind.store, ""


def events_store(events: Sequence[Any], *, source: str = "drain") -> int:
    """Write events in one transaction, with a dead letter for each malformed one. Redelivered
    events are ignored by their unique id. Raises what storing raised; nothing is written then."""
    with transaction.atomic():
        written, rejected = _store(events)
        for item in rejected:
            deadletter_add(event=item.event, error=item.reason, source=source)
    return written


def events_store_now(events: Sequence[Any], *, source: str) -> int:
    """Store events that nothing will try again (written through from a request, or from a
    spool while Redis is away): the batch at once, or, if it fails for a reason other than the
    database being away, each event alone, keeping the ones that still fail as dead letters."""
    try:
        return events_store(events, source=source)
    except TRANSIENT:
        raise
    except Exception:
        if len(events) == 1:
            _deadletter_failed(events[0], source=source)
            return 0
    written = 0
    for event in events:
        try:
            written += events_store([event], source=source)
        except TRANSIENT:
            raise
        except Exception:
            _deadletter_failed(event, source=source)
    return written


def _deadletter_failed(event: Any, *, source: str) -> None:
    import sys

    deadletter_add(event=event, error=sys.exc_info()[1] or "failed", source=source)


def pages_store(events: Sequence[Event]) -> int:
    """Page hits: anonymous ones to the staging table (rolled up, then purged with their
    salt), identified ones (a device, with a permit) kept as PageHit."""
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
