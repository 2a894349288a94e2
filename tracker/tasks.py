"""Celery tasks: thin shells over the pipeline's services, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from tracker.drain import events_drain
from tracker.retention import retention_run
from tracker.rollups import rollup_recent


@shared_task(acks_late=True, ignore_result=True)
def drain_events() -> int:
    return events_drain()


@shared_task(acks_late=True, ignore_result=True)
def rollup_days() -> int:
    return rollup_recent()


@shared_task(acks_late=True, ignore_result=True)
def retention() -> dict[str, int]:
    return retention_run()
