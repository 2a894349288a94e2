"""Counting video plays: a hit as the gate allows it, and storing the pipeline's hits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django.db.models import Case, F, IntegerField, Value, When
from django.db.models.functions import Greatest
from django.http import HttpRequest

from consent.gate import Decision
from tracker.enqueue import event_enqueue
from tracker.services import counted_event
from tracker.store import counted_rows_store
from video.inputs import HitReport
from video.models import Video, VideoHit

# A play's reports share one event id, derived from the player's play id and the video:
# every report of a play then lands on the same row, and a redelivery stays one row.
_PLAYS = uuid.UUID("4f3c1c2e-6a53-4c1e-9d0b-3b8f6f1d2a77")


def video_play_id(*, guid: str, url: str) -> str:
    return str(uuid.uuid5(_PLAYS, f"{guid}\n{url}"))


def video_hit_record(*, request: HttpRequest, decision: Decision, report: HitReport) -> str | None:
    """Count a play's report as the decision allows (anonymously without a permit); returns
    the device the response should remember."""
    if not decision.count:
        return decision.device_id
    fields: dict[str, object] = {"u": report.url, "sec": report.seconds}
    if report.duration is not None:
        fields["dur"] = report.duration
    event, identity = counted_event(request=request, decision=decision, kind="video", **fields)
    event["id"] = video_play_id(guid=report.guid, url=report.url)
    event_enqueue(event)
    return identity.device_id or decision.device_id


def videos_store(events: Sequence[dict[str, Any]]) -> int:
    """Video plays from the pipeline (their fields checked by the registry): a play's first
    report makes its row; later ones raise the time watched, never lower it (reports can
    arrive out of order)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        seen = latest.get(str(event["id"]))
        if seen is None or int(event["sec"]) >= int(seen["sec"]):
            latest[str(event["id"])] = event
    videos = dict(
        Video.objects.filter(url__in={str(e["u"]) for e in latest.values()}).values_list(
            "url", "id"
        )
    )

    def own(event: dict[str, Any]) -> dict[str, Any]:
        url = str(event["u"])
        raw = event.get("dur")
        return {
            "video_id": videos.get(url),
            "url": url,
            "seconds": int(event["sec"]),
            "duration": None if raw in (None, "") else int(str(raw)),
        }

    written = counted_rows_store(VideoHit, list(latest.values()), own=own)
    # Plays already stored by an earlier batch: one UPDATE for all of them.
    ids = [uuid.UUID(key) for key in latest]
    seconds = Case(
        *[When(event_id=uuid.UUID(k), then=Value(int(e["sec"]))) for k, e in latest.items()],
        output_field=IntegerField(),
    )
    VideoHit.objects.filter(event_id__in=ids, seconds__lt=seconds).update(
        seconds=Greatest(F("seconds"), seconds)
    )
    # A play first reported before the player knew the video's length.
    durations = {k: int(e["dur"]) for k, e in latest.items() if e.get("dur") not in (None, "")}
    if durations:
        VideoHit.objects.filter(
            event_id__in=[uuid.UUID(k) for k in durations], duration__isnull=True
        ).update(
            duration=Case(
                *[When(event_id=uuid.UUID(k), then=Value(d)) for k, d in durations.items()],
                output_field=IntegerField(),
            )
        )
    return written
