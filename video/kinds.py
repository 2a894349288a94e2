"""Videos' counted kind: a play, with the seconds watched."""

from __future__ import annotations

from typing import Any

from consentry.kinds import Kind, Optional, Series, kind_register

MAX_URL = 2048


def _timeline(hit: Any) -> tuple[str, dict[str, Any]]:
    return "video_hit", {"url": hit.url, "seconds": hit.seconds, "video_id": hit.video_id}


def _url(value: object) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("not a video address")
    if len(value) > MAX_URL:
        raise ValueError("video address too long")
    return value


def _seconds(value: object) -> int:
    seconds = int(str(value))
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"seconds out of range: {seconds}")
    return seconds


def register() -> None:
    from video.models import VideoHit
    from video.selectors import video_stats_daily
    from video.services import videos_store

    kind_register(
        Kind(
            code="video",
            model=VideoHit,
            owner="contact",
            export_as="video_hits",
            store=videos_store,
            fields={"u": _url, "sec": _seconds, "dur": Optional(_seconds)},
            series=(
                Series(
                    report="video",
                    counts={},
                    daily=video_stats_daily,
                    measures=("plays", "seconds_watched", "identified_plays"),
                ),
            ),
            device="device",
            # Plays stay in the video's counts, attributed to no one.
            erase_detach=("contact", "device"),
            timeline=_timeline,
        )
    )
