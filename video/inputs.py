"""Reading a video hit as Mautic's player sends it: `guid` (one play), `url` (the video's
address), `duration` and `total_watched` (seconds, as JavaScript prints numbers). Anything
else the player adds (Mautic appends its stored contact ids) is ignored: only the gate
identifies."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tracker.inputs import BadInput
from tracker.minimise import url_without_query
from video.models import MAX_SECONDS

# Mautic's MauticJS.guid(): 8-4-4-4-12 hexadecimal digits; any UUID has the same shape.
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# The player reads `duration` before the video's metadata has arrived (NaN) and for a live
# stream (Infinity): an unknown duration, not a bad request.
_UNKNOWN = {"", "nan", "infinity", "undefined", "null"}
MAX_URL = 2048


@dataclass(frozen=True, slots=True)
class HitReport:
    guid: str
    url: str  # without query and fragment
    seconds: int
    duration: int | None


def _seconds(value: str, *, field: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise BadInput(400, f"invalid_{field}", f"{field} must be a number of seconds") from None
    if not math.isfinite(number) or not 0 <= number <= MAX_SECONDS:
        raise BadInput(400, f"invalid_{field}", f"{field} must be between 0 and {MAX_SECONDS}")
    return number


def hit_read(data: dict[str, str]) -> HitReport:
    """A hit's fields, checked; BadInput (a 4xx naming the field) for anything else."""
    guid = data.get("guid", "")
    if not _GUID.match(guid):
        raise BadInput(400, "invalid_guid", "guid must be the play's id (8-4-4-4-12 hex digits)")
    raw = data.get("url", "")
    # Only an http(s) address names a video: a blob: or data: source is the page's own.
    url = url_without_query(raw) if len(raw) <= MAX_URL else ""
    if not url:
        raise BadInput(400, "invalid_url", "url must be the video's http(s) address")
    watched = data.get("total_watched", "")
    if watched.strip().lower() in _UNKNOWN:
        raise BadInput(400, "invalid_total_watched", "total_watched is required")
    seconds = _seconds(watched, field="total_watched")
    duration_text = data.get("duration", "").strip()
    duration = (
        None
        if duration_text.lower() in _UNKNOWN
        else round(_seconds(duration_text, field="duration"))
    )
    return HitReport(guid=guid.lower(), url=url, seconds=int(seconds), duration=duration)
