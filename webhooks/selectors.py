"""Reads of the webhooks app: endpoints with the state an operator acts on, and the delivery
log."""

from __future__ import annotations

from django.db.models import QuerySet

from webhooks.models import Delivery, Endpoint

ACTIVE, FAILING, DISABLED = "active", "failing", "disabled"
ENDPOINT_STATUSES = (ACTIVE, FAILING, DISABLED)


def endpoint_status(*, endpoint: Endpoint) -> str:
    """ "disabled": switched off, by an operator or by the product (`disabled_reason` then says
    why); "failing": on, but every attempt since `failing_since` failed, so it is switched off
    after WEBHOOK_DISABLE_AFTER_HOURS unless one succeeds; else "active"."""
    if not endpoint.active:
        return DISABLED
    if endpoint.failing_since is not None:
        return FAILING
    return ACTIVE


def endpoint_list() -> QuerySet[Endpoint]:
    return Endpoint.objects.order_by("id")


def endpoint_deliveries(*, endpoint: Endpoint, status: str | None = None) -> QuerySet[Delivery]:
    """An endpoint's delivery log, newest first, optionally of one status."""
    deliveries = Delivery.objects.filter(endpoint=endpoint)
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries.select_related("event").order_by("-created_at", "-id")


def delivery_list() -> QuerySet[Delivery]:
    """Deliveries with what the one-delivery view shows: the event and every attempt."""
    return Delivery.objects.select_related("event", "endpoint").prefetch_related("attempt_log")


def webhook_types_subscribed() -> set[str]:
    """The event types some active endpoint subscribes to: a bulk writer asks once, and
    builds no payload that no one would receive."""
    subscribed: set[str] = set()
    for events in Endpoint.objects.filter(active=True).values_list("events", flat=True):
        subscribed.update(events)
    return subscribed
