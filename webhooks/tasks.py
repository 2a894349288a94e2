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
    from webhooks.services import SWEEP_BATCH, deliveries_queue

    due = deliveries_queue(limit=SWEEP_BATCH)
    for delivery_id in due:
        webhook_deliver.delay(delivery_id)
    if len(due) == SWEEP_BATCH:
        # A backlog: queue the next batch now rather than at the next beat.
        webhooks_deliver_due.delay()
    return len(due)


@shared_task(acks_late=True, ignore_result=True)
def webhooks_log_purge_task() -> int:
    from webhooks.services import webhooks_log_purge

    return webhooks_log_purge()
