"""Retention: anonymous staging rows go with their salt after 48 hours (after a last rollup),
identified hits after RETENTION_DAYS, dead letters after DEAD_LETTER_DAYS. Idempotent: run it
as often as you like."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from tracker.models import AnonymousHit, DeadLetter, PageHit, Salt
from tracker.rollups import rollup_day
from tracker.salts import salts_forget


def retention_run(*, now: dt.datetime | None = None) -> dict[str, int]:
    now = now or dt.datetime.now(tz=dt.UTC)
    # A day's salt lives 48 h from that day's midnight: days before yesterday are done.
    keep_from = now.date() - dt.timedelta(days=1)
    done_days = sorted(
        set(AnonymousHit.objects.filter(day__lt=keep_from).values_list("day", flat=True))
        | set(
            PageHit.objects.filter(day__lt=keep_from)
            .exclude(visitor="")
            .values_list("day", flat=True)
        )
    )
    for day in done_days:
        rollup_day(day=day)
    staging, _ = AnonymousHit.objects.filter(day__lt=keep_from).delete()
    salts, _ = Salt.objects.filter(day__lt=keep_from).delete()
    salts_forget()
    # Identified hits keep their page data, but not a hash that outlived its salt.
    unhashed = (
        PageHit.objects.filter(day__lt=keep_from)
        .exclude(visitor="")
        .update(visitor="", visitor_prev="")
    )
    expired, _ = PageHit.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.RETENTION_DAYS)
    ).delete()
    # A dead letter is kept for an operator to re-drive, not for ever: it may hold a device id.
    dead, _ = DeadLetter.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.DEAD_LETTER_DAYS)
    ).delete()
    return {
        "dead_letters_expired": dead,
        "rolled_up_days": len(done_days),
        "staging_deleted": staging,
        "salts_deleted": salts,
        "hashes_cleared": unhashed,
        "hits_expired": expired,
    }
