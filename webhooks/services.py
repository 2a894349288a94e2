"""Outgoing webhooks: emitting events on the commit of the change that caused them, and
delivering them at least once, signed, with retries, to the endpoints that subscribe.

A delivery is a row before it is a task: the task is only a nudge. Whatever happens to the
broker or a worker (a SIGKILL mid-send), the sweep (deliveries_due_run, every few seconds)
finds every delivery that is due and not leased, so nothing is lost; a worker that died
while sending lets its lease run out, and the retry carries the same webhook-id, so a receiver
that remembers ids sees each event once."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Model, Q
from django.utils import timezone

from consentry.kinds import Kind
from consentry.versioned import Versioned
from webhooks import net, signing
from webhooks.events import TEST, consent_summaries
from webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint, WebhookEvent

logger = logging.getLogger("webhooks")

CONNECT_TIMEOUT_S = 3.0
# What is kept of an answer for the delivery log: enough to see what went wrong.
RESPONSE_HEAD_BYTES = 1024
# The longest wait between two attempts.
MAX_BACKOFF = dt.timedelta(hours=6)
# Retries due within this are queued with a countdown; later ones wait for the sweep.
COUNTDOWN_MAX_S = 60.0
SWEEP_BATCH = 500
QUEUED_FOR = dt.timedelta(seconds=30)
USER_AGENT = "Consentry-Webhooks/1"

# The embedded default (no Celery worker) delivers from a thread of each web process; an
# emission wakes it instead of waiting for its next round.
wake = threading.Event()


@dataclass(frozen=True, slots=True)
class Emission:
    type: str
    data: dict[str, Any]
    contact_id: int | None = None
    # Stable for an event that may be emitted twice (a drain batch stored again): the
    # second emission is then the same event, not a new one.
    id: uuid.UUID | None = None
    at: dt.datetime | None = None


# A name space for event ids derived from what caused them.
_IDS = uuid.UUID("6f1c3a52-3a5e-4f7c-9a61-3f0c2b7d9e10")


def event_id_for(*, type: str, cause: str) -> uuid.UUID:
    return uuid.uuid5(_IDS, f"{type}:{cause}")


# Asked on every contact or consent change, every email sent and every drained batch of a
# hooked kind, and almost always empty: each process keeps the active endpoints, read again
# when one changes (endpoints_changed, on every save or delete, and when one is switched off),
# within a second in the other processes (consentry/versioned.py). A delivery queued for an
# endpoint switched off meanwhile is cancelled, never sent (delivery_attempt checks `active`).
_endpoints = Versioned("consentry:webhooks:endpoints")
_active: list[Endpoint] | None = None


def _subscribers() -> list[Endpoint]:
    global _active
    stale = _endpoints.stale()  # asked first: it also marks when the copy was read
    active = _active
    if active is None or stale:
        active = _active = list(Endpoint.objects.filter(active=True).only("id", "events"))
    return active


def endpoints_changed() -> None:
    """An endpoint was saved, deleted or switched off: every process reads them again."""
    global _active
    _active = None
    _endpoints.changed()


def endpoints_forget() -> None:
    """Make this process read the endpoints again (tests roll back the rows it read)."""
    global _active
    _active = None
    _endpoints.expire()


def webhooks_emit(emissions: Sequence[Emission], *, endpoints: list[Endpoint] | None = None) -> int:
    """Queue the events for every active endpoint that subscribes to their type, inside the
    caller's transaction: they are sent only if it commits. Returns the deliveries queued."""
    if not emissions:
        return 0
    if endpoints is None:
        endpoints = _subscribers()
    wanted = [(e, [p for p in endpoints if e.type in p.events]) for e in emissions]
    wanted = [(e, targets) for e, targets in wanted if targets]
    if not wanted:
        return 0
    now = timezone.now()
    events = [
        WebhookEvent(
            id=e.id or uuid.uuid4(),
            type=e.type,
            data=e.data,
            contact_id=e.contact_id,
            created_at=e.at or now,
        )
        for e, _ in wanted
    ]
    with transaction.atomic():
        known = set(
            WebhookEvent.objects.filter(id__in=[e.id for e in events]).values_list("id", flat=True)
        )
        new = [(event, targets) for event, (_, targets) in zip(events, wanted, strict=True)]
        new = [(event, targets) for event, targets in new if event.id not in known]
        if not new:
            return 0
        WebhookEvent.objects.bulk_create([event for event, _ in new], ignore_conflicts=True)
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(
                    event=event,
                    endpoint=endpoint,
                    next_attempt_at=now,
                    retry_until=now + _retry_window(),
                    created_at=now,
                )
                for event, targets in new
                for endpoint in targets
            ],
            ignore_conflicts=True,
        )
    transaction.on_commit(_nudge, robust=True)
    return len(deliveries)


def webhook_emit(
    *, type: str, data: dict[str, Any], contact_id: int | None = None, id: uuid.UUID | None = None
) -> int:
    """One event. A contact's event carries its consent state beside its data."""
    endpoints = [p for p in _subscribers() if type in p.events]
    if not endpoints:
        return 0  # the common case: nothing more is read
    if contact_id is not None:
        data = {**data, "consent": consent_summaries(contact_ids=[contact_id])[contact_id]}
    emission = Emission(type=type, data=data, contact_id=contact_id, id=id)
    return webhooks_emit([emission], endpoints=endpoints)


def kind_rows_emit(
    *, kind: Kind, rows: Iterable[Model] | None = None, event_ids: Iterable[Any] = ()
) -> int:
    """The events of a counted kind's new rows (its registry row's `hook`): the rows given, or
    the ones stored with these pipeline event ids. Only rows that belong to a contact and
    that the hook selects send one; an event id follows from the row, so storing the same
    batch twice emits nothing new."""
    hook = kind.hook
    if hook is None:
        return 0
    endpoints = [p for p in _subscribers() if hook.event in p.events]
    if not endpoints:
        return 0
    owned = Q(**{f"{kind.owner}__isnull": False})
    manager = kind.model._default_manager
    if rows is None:
        found = manager.filter(owned, hook.where, event_id__in=list(event_ids))
    else:
        found = manager.filter(owned, hook.where, pk__in=[row.pk for row in rows])
    found = found.select_related(*hook.related).order_by("pk")
    chosen = [(row, _owner_id(row, kind.owner)) for row in found]
    summaries = consent_summaries(contact_ids={c for _, c in chosen if c is not None})
    return webhooks_emit(
        [
            Emission(
                type=hook.event,
                data={**hook.data(row), "consent": summaries[contact_id]},
                contact_id=contact_id,
                id=event_id_for(
                    type=hook.event,
                    cause=str(getattr(row, "event_id", None) or f"{kind.code}:{row.pk}"),
                ),
                at=getattr(row, "created_at", None),
            )
            for row, contact_id in chosen
            if contact_id is not None
        ],
        endpoints=endpoints,
    )


def _owner_id(row: Model, owner: str) -> int | None:
    *path, last = owner.split("__")
    target: Any = row
    for name in path:
        target = getattr(target, name, None)
        if target is None:
            return None
    value = getattr(target, f"{last}_id", None)
    return int(value) if value is not None else None


def _retry_window() -> dt.timedelta:
    return dt.timedelta(hours=settings.WEBHOOK_RETRY_HOURS)


def _nudge() -> None:
    """Ask for the due deliveries to be sent now rather than at the next sweep."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        wake.set()  # the embedded default's thread; never a send inside the request
        return
    from webhooks.tasks import webhooks_deliver_due

    webhooks_deliver_due.delay()


def backoff(attempts: int) -> dt.timedelta:
    """The wait after the n-th failed attempt: exponential (4 times the wait before), capped
    at six hours, and jittered so that the retries of many deliveries do not arrive together
    (half the wait fixed, half random)."""
    first = float(settings.WEBHOOK_RETRY_FIRST_SECONDS)
    wait = min(first * 4 ** max(attempts - 1, 0), MAX_BACKOFF.total_seconds())
    return dt.timedelta(seconds=wait / 2 + random.uniform(0, wait / 2))


def _due(now: dt.datetime) -> Any:
    return Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


def deliveries_due(*, limit: int = SWEEP_BATCH) -> list[int]:
    return list(
        _due(timezone.now()).order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
    )


def deliveries_queue(*, limit: int = SWEEP_BATCH) -> list[int]:
    """The due deliveries not already handed to the task queue, marked as handed for
    QUEUED_FOR (a task lost with its worker is handed again after)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            _due(now)
            .filter(Q(queued_until__isnull=True) | Q(queued_until__lt=now))
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        Delivery.objects.filter(id__in=ids).update(queued_until=now + QUEUED_FOR)
    return ids


def deliveries_due_run(*, limit: int = SWEEP_BATCH) -> int:
    """Send every delivery that is due, one after another (the embedded default's thread)."""
    sent = 0
    for delivery_id in deliveries_due(limit=limit):
        if delivery_attempt(delivery_id=delivery_id) is not None:
            sent += 1
    return sent


# The system resolver's own worst case (a few servers, retried): the name is resolved before
# net.post's deadlines start.
DNS_ALLOWANCE_S = 30.0


def lease() -> dt.timedelta:
    """How long a worker holds a delivery while sending it: longer than any send can take
    (resolving the name, then net.post's connect and read deadlines), so only a dead
    worker's runs out. A delivery a dead worker held is taken again after the lease, or after
    QUEUED_FOR when its task died with the worker, whichever is later."""
    seconds = DNS_ALLOWANCE_S + CONNECT_TIMEOUT_S + settings.WEBHOOK_TIMEOUT_SECONDS + 5
    return dt.timedelta(seconds=seconds)


def _claim(delivery_id: int) -> Delivery | None:
    now = timezone.now()
    token = uuid.uuid4()
    claimed = (
        Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + lease(), lease_token=token)
    )
    if not claimed:
        return None
    return Delivery.objects.select_related("event", "endpoint").get(pk=delivery_id)


def _about_someone_erased(event: WebhookEvent) -> bool:
    """An event about a contact erased after it was emitted (an open stored while the erasure
    ran): it is never sent, and what it held is emptied as the erasure would have."""
    from contacts.models import Contact

    if event.contact_id is None or Contact.objects.filter(pk=event.contact_id).exists():
        return False
    WebhookEvent.objects.filter(pk=event.pk).update(data={}, contact_id=None)
    return True


def body_of(event: WebhookEvent) -> bytes:
    """The request body, the same bytes at every attempt: {type, timestamp, data}."""
    return json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    milliseconds: int
    head: str
    error: str


def _send(delivery: Delivery) -> Outcome:
    event, endpoint = delivery.event, delivery.endpoint
    body = body_of(event)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": event.msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signing.signature(
            secret=endpoint.secret, msg_id=event.msg_id, timestamp=timestamp, body=body
        ),
    }
    started = time.monotonic()
    try:
        reply = net.post(
            url=endpoint.url,
            body=body,
            headers=headers,
            allowed=settings.WEBHOOK_ALLOWED_NETWORKS,
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=float(settings.WEBHOOK_TIMEOUT_SECONDS),
            max_response_bytes=RESPONSE_HEAD_BYTES,
        )
    except (net.Refused, net.SendFailed) as exc:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, elapsed, "", str(exc)[:300])
    except Exception as exc:  # anything else is a failed attempt too, never a stuck delivery
        elapsed = int((time.monotonic() - started) * 1000)
        logger.exception("webhook delivery %s failed unexpectedly", delivery.pk)
        return Outcome(None, elapsed, "", f"could not send: {type(exc).__name__}")
    head = reply.head.decode("utf-8", "replace")
    return Outcome(reply.status, int(reply.seconds * 1000), head, "")


def delivery_attempt(*, delivery_id: int) -> Outcome | None:
    """Send one delivery if it is due and no other worker holds it; record what happened.
    Returns None when there was nothing to do (already sent, not due, held elsewhere)."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    if not delivery.endpoint.active or _about_someone_erased(delivery.event):
        Delivery.objects.filter(pk=delivery.pk, lease_token=delivery.lease_token).update(
            status=DeliveryStatus.CANCELLED, leased_until=None, finished_at=timezone.now()
        )
        return None
    outcome = _send(delivery)
    _record(delivery, outcome)
    return outcome


def _record(delivery: Delivery, outcome: Outcome) -> None:
    """Log the attempt and move the delivery on, if this worker still holds its lease (a
    worker that lost it, or whose delivery an erasure removed, changes nothing else)."""
    now = timezone.now()
    code = outcome.status_code
    endpoint = delivery.endpoint
    change: dict[str, Any] = {
        "attempts": delivery.attempts + 1,
        "last_status_code": code,
        "last_error": outcome.error or ("" if code and code < 300 else f"HTTP {code}"),
        "leased_until": None,
        "lease_token": None,
        "queued_until": None,
    }
    disable = ""
    if code is not None and 200 <= code < 300:
        change.update(status=DeliveryStatus.SUCCEEDED, finished_at=now)
    elif code == 410:
        change.update(status=DeliveryStatus.FAILED, finished_at=now)
        disable = "The receiver answered 410 Gone: it asked not to be sent more."
    else:
        failing_since = endpoint.failing_since or now
        hours = settings.WEBHOOK_DISABLE_AFTER_HOURS
        if now - failing_since >= dt.timedelta(hours=hours):
            disable = (
                f"Every attempt failed for {hours} hours (since "
                f"{failing_since:%Y-%m-%d %H:%M} UTC); last: {change['last_error']}"
            )
        wait = backoff(delivery.attempts + 1)
        if not disable and now + wait <= delivery.retry_until:
            change["next_attempt_at"] = now + wait
        else:  # out of time, or the endpoint is being switched off
            change.update(status=DeliveryStatus.FAILED, finished_at=now)
    # A retry due soon is queued now, with a countdown; a later one waits for the sweep.
    countdown = (change.get("next_attempt_at", now) - now).total_seconds()
    soon = (
        "status" not in change
        and countdown <= COUNTDOWN_MAX_S
        and not settings.CELERY_TASK_ALWAYS_EAGER
    )
    if soon:
        change["queued_until"] = change["next_attempt_at"] + QUEUED_FOR
    with transaction.atomic():
        held = Delivery.objects.filter(
            pk=delivery.pk, lease_token=delivery.lease_token, status=DeliveryStatus.PENDING
        ).update(**change)
        if not held and not Delivery.objects.filter(pk=delivery.pk).exists():
            return  # erased while it was being sent: nothing of it is kept
        Attempt.objects.create(
            delivery_id=delivery.pk,
            at=now,
            status_code=code,
            milliseconds=outcome.milliseconds,
            response_head=outcome.head,
            error=outcome.error,
        )
        if not held:
            return
        succeeded = code is not None and 200 <= code < 300
        if succeeded:
            Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(
                failing_since=None
            )
        elif code != 410:
            Endpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
                failing_since=now
            )
        if disable:
            _disable(endpoint, disable)
    if soon:
        from webhooks.tasks import webhook_deliver

        webhook_deliver.apply_async(args=(delivery.pk,), countdown=max(countdown, 0))


def _disable(endpoint: Endpoint, reason: str) -> None:
    """Switch an endpoint off and say why in the admin; its waiting deliveries are not sent."""
    now = timezone.now()
    endpoint.active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    Endpoint.objects.filter(pk=endpoint.pk).update(
        active=False, disabled_at=now, disabled_reason=endpoint.disabled_reason, updated_at=now
    )
    endpoints_changed()
    Delivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.CANCELLED, leased_until=None, lease_token=None, finished_at=now
    )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)


def endpoint_create(
    *,
    url: str,
    events: Sequence[str],
    secret: str = "",
    description: str = "",
    active: bool = True,
) -> Endpoint:
    """A new endpoint; without a secret, one is generated (the caller shows it once)."""
    return Endpoint.objects.create(
        url=url,
        events=sorted(set(events)),
        secret=secret or signing.secret_new(),
        description=description,
        active=active,
    )


def endpoint_update(*, endpoint: Endpoint, **changes: Any) -> Endpoint:
    """Change an endpoint. Switching it back on forgets why it was switched off."""
    if "events" in changes:
        changes["events"] = sorted(set(changes["events"]))
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if changes.get("active"):
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
    endpoint.save()
    return endpoint


def endpoint_secret_rotate(*, endpoint: Endpoint) -> str:
    """A new signing secret, returned for the caller to show once. Every attempt from now on
    is signed with it, the retries of deliveries already queued included."""
    endpoint.secret = signing.secret_new()
    endpoint.save(update_fields=["secret", "updated_at"])
    return endpoint.secret


def endpoint_test_send(*, endpoint: Endpoint) -> Delivery:
    """A test event for this endpoint alone, sent even if it subscribes to nothing."""
    now = timezone.now()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            type=TEST,
            data={"endpoint": {"id": endpoint.pk}, "message": "A test event from Consentry."},
            created_at=now,
        )
        delivery = Delivery.objects.create(
            event=event,
            endpoint=endpoint,
            next_attempt_at=now,
            retry_until=now + _retry_window(),
            created_at=now,
        )
    transaction.on_commit(_nudge, robust=True)
    return delivery


def delivery_redeliver(*, delivery: Delivery) -> Delivery:
    """Send a delivery again, as a new series of attempts with the same webhook-id. One that
    a worker is sending right now is left to it: sent twice at once, it could be recorded
    twice."""
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).exclude(
        status=DeliveryStatus.PENDING, leased_until__gt=now
    ).update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        retry_until=now + _retry_window(),
        leased_until=None,
        lease_token=None,
        queued_until=None,
        finished_at=None,
    )
    delivery.refresh_from_db()
    transaction.on_commit(_nudge, robust=True)
    return delivery


def endpoint_delete(*, endpoint: Endpoint) -> None:
    """Forget an endpoint and its delivery log, with the events that were for it alone: their
    payloads are about people, and no other endpoint's log needs them."""
    with transaction.atomic():
        shared = Delivery.objects.exclude(endpoint=endpoint).values("event_id")
        WebhookEvent.objects.filter(deliveries__endpoint=endpoint).exclude(id__in=shared).delete()
        endpoint.delete()


def webhooks_contact_erase(*, contact_id: int) -> int:
    """An erasure's part here: the contact's events that wait are not sent, what the log kept
    of their payloads (and of the answers, which may echo them) is emptied, and endpoints
    that subscribe to contact.erased learn the former id, and nothing else."""
    with transaction.atomic():
        events = WebhookEvent.objects.filter(contact_id=contact_id)
        Delivery.objects.filter(event__in=events, status=DeliveryStatus.PENDING).delete()
        Attempt.objects.filter(delivery__event__in=events).update(response_head="")
        emptied = events.update(data={}, contact_id=None)
        webhooks_emit(
            [
                Emission(
                    type="contact.erased",
                    data={"contact": {"id": contact_id}},
                    id=event_id_for(type="contact.erased", cause=str(contact_id)),
                )
            ]
        )
    return emptied


def webhooks_log_purge() -> int:
    """The delivery log is kept WEBHOOK_LOG_DAYS: older events go with their deliveries and
    attempts once none of them waits to be sent."""
    cutoff = timezone.now() - dt.timedelta(days=settings.WEBHOOK_LOG_DAYS)
    waiting = Delivery.objects.filter(status=DeliveryStatus.PENDING).values("event_id")
    deleted, _ = WebhookEvent.objects.filter(created_at__lt=cutoff).exclude(id__in=waiting).delete()
    return deleted
