"""Thin shells over webhooks.services: the rows are the truth, a task only says when to look."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def webhook_deliver(delivery_id: int) -> None:
    from webhooks.services import delivery_attempt

    delivery_attempt(delivery_id=delivery_id)


@shared_task(acks_late=True, ignore_result=True)
def webhooks_deliver_due() -> int:
    """Queue every delivery that is due and not held (a new event, a retry whose time came,
    one a dead worker let go). Each is claimed with a lease, so queuing one twice sends once."""
    from webhooks.services import deliveries_queue

    due = deliveries_queue()
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    return len(due)


@shared_task(acks_late=True, ignore_result=True)
def webhooks_log_purge_task() -> int:
    from webhooks.services import webhooks_log_purge

    return webhooks_log_purge()
