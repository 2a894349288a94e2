"""Celery tasks: thin shells over the contacts services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from contacts.rights import deadletters_erase, stream_erase


@shared_task(acks_late=True, ignore_result=True)
def stream_erase_again(contact_id: int, digests: list[str]) -> int:
    # A late event the drain could not store is a dead letter by now, not a stream entry.
    removed = stream_erase(contact_id=contact_id, digests=set(digests))
    return removed + deadletters_erase(contact_id=contact_id, digests=set(digests))
