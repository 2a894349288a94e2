"""Celery tasks: thin shells over the contacts services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from contacts.rights import stream_erase


@shared_task(acks_late=True, ignore_result=True)
def stream_erase_again(contact_id: int, digests: list[str]) -> int:
    return stream_erase(contact_id=contact_id, digests=set(digests))
