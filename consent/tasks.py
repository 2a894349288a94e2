from __future__ import annotations

from celery import shared_task

from consent.optin import optin_requests_expire, optin_send


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(ConnectionError,),
    retry_backoff=True,
    max_retries=5,
)
def optin_send_task(optin_id: int) -> bool:
    return optin_send(optin_id=optin_id)


@shared_task(ignore_result=True)
def optin_requests_expire_task() -> int:
    return optin_requests_expire()
