from __future__ import annotations

from celery import shared_task

from emails.services import recipients_deliver


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def deliver_batch(recipient_ids: list[int]) -> dict[str, int]:
    return recipients_deliver(recipient_ids=recipient_ids)
