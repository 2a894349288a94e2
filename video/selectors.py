"""Reads of videos: the gate a page's player asks for, and the plays reported per video."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from tracker.minimise import url_without_query
from video.models import Video, VideoHit

_PEOPLE = Q(machine=False)
_IDENTIFIED = Q(contact__isnull=False) | Q(device__isnull=False)


@dataclass(frozen=True, slots=True)
class Gate:
    video_id: int
    form_id: int
    seconds: int


def video_gate_get(*, url: str) -> Gate | None:
    """The gate of the published video at this address (its query ignored), if it has one."""
    address = url_without_query(url)
    if not address:
        return None
    video = (
        Video.objects.filter(url=address, published=True, form__isnull=False)
        .values("id", "form_id", "gate_seconds")
        .first()
    )
    if video is None:
        return None
    return Gate(video_id=video["id"], form_id=video["form_id"], seconds=video["gate_seconds"])


def video_stats_daily(
    *, start: dt.date, end: dt.date, object_id: int | None = None, site: str | None = None
) -> dict[dt.date, dict[str, int]]:
    """The `video` report (stats/?kind=video&object=<video id>): per day, plays and seconds
    watched by people, and the plays tied to someone. A video is not a site's: `site` is
    ignored."""
    hits = VideoHit.objects.filter(_PEOPLE, created_at__date__gte=start, created_at__date__lte=end)
    if object_id:
        hits = hits.filter(video_id=object_id)
    rows = (
        hits.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            plays=Count("id"),
            seconds_watched=Sum("seconds"),
            identified_plays=Count("id", filter=_IDENTIFIED),
        )
    )
    return {
        row["day"]: {
            "plays": int(row["plays"]),
            "seconds_watched": int(row["seconds_watched"] or 0),
            "identified_plays": int(row["identified_plays"]),
        }
        for row in rows
    }


def video_report(*, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Plays and seconds watched by people, per video address, most played first."""
    rows = (
        VideoHit.objects.filter(_PEOPLE, created_at__date__gte=start, created_at__date__lte=end)
        .values("url", "video_id")
        .annotate(
            plays=Count("id"),
            seconds_watched=Sum("seconds"),
            identified_plays=Count("id", filter=_IDENTIFIED),
        )
        .order_by("-plays", "url")
    )
    return [
        {
            "url": row["url"],
            "video": row["video_id"],
            "plays": int(row["plays"]),
            "seconds_watched": int(row["seconds_watched"] or 0),
            "identified_plays": int(row["identified_plays"]),
        }
        for row in rows
    ]
