"""The tracker's counted kind: the page hit."""

from __future__ import annotations

from typing import Any

from consentry.kinds import Kind, Series, kind_register


def _timeline(hit: Any) -> tuple[str, dict[str, Any]]:
    return "page_hit", {"url": hit.url, "title": hit.title}


def register() -> None:
    from tracker.models import PageHit
    from tracker.reports import PAGE_MEASURES, pages_daily
    from tracker.store import pages_store

    kind_register(
        Kind(
            code="page",
            # Identified hits; anonymous ones are staging rows (rolled up, then purged).
            model=PageHit,
            owner="contact",
            export_as="page_hits",
            store=pages_store,
            fields={"site": str, "path": str},
            series=(Series(report="page", counts={}, daily=pages_daily, measures=PAGE_MEASURES),),
            device="device",
            # An erased person's hits stay in the day's rollup, with what an anonymous hit
            # holds and nothing more (tracker/rollups.py counts them by their visitor key).
            erase_detach=("contact", "device"),
            erase_clear={"url": "", "referrer": "", "language": "", "resolution": ""},
            timeline=_timeline,
        )
    )
