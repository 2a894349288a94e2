"""Daily rollups: counts, unique visitors and sessions per site and dimension, split by
audience. Recomputing a day replaces its rows, so running it again is harmless."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import transaction
from django.db.models import Max

from consentry.kinds import ERASED_DEVICE
from contacts.models import Device
from tracker.models import AnonymousHit, Audience, DailyStat, PageHit
from tracker.services import SESSION_GAP

# Dimension name -> hit field (None: the site's total).
DIMENSIONS: dict[str, str | None] = {
    "total": None,
    "path": "path",
    "referrer": "referrer_domain",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "device": "device_class",
    "browser": "browser",
}
_FIELDS = [f for f in DIMENSIONS.values() if f]
Key = tuple[str, str, str]  # site, dimension, key


class _Tally:
    def __init__(self) -> None:
        self.hits: dict[Key, int] = defaultdict(int)
        self.sessions: dict[Key, int] = defaultdict(int)
        self.visitors: dict[Key, set[str]] = defaultdict(set)

    def add(self, site: str, who: str, values: dict[str, str], session_start: bool) -> None:
        for dimension, field in DIMENSIONS.items():
            key = (site, dimension, values[field] if field else "")
            self.hits[key] += 1
            self.visitors[key].add(who)
            if session_start:
                self.sessions[key] += 1

    def rows(self, day: dt.date, audience: str) -> Iterator[DailyStat]:
        for key, hits in self.hits.items():
            site, dimension, value = key
            yield DailyStat(
                day=day,
                site=site,
                dimension=dimension,
                key=value,
                audience=audience,
                hits=hits,
                visitors=len(self.visitors[key]),
                sessions=self.sessions[key],
            )


def _continued(day: dt.date) -> set[tuple[str, str]]:
    """(site, yesterday's visitor hash) pairs whose session ran past midnight into `day`."""
    prevs = set(
        AnonymousHit.objects.filter(day=day, machine=False)
        .exclude(visitor_prev="")
        .values_list("visitor_prev", flat=True)
        .distinct()
    )
    if not prevs:
        return set()
    last = AnonymousHit.objects.filter(day=day - dt.timedelta(days=1), visitor__in=prevs)
    cutoff = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) - SESSION_GAP
    return {
        (str(r["site"]), str(r["visitor"]))
        for r in last.values("site", "visitor").annotate(at=Max("created_at"))
        if r["at"] >= cutoff
    }


def _tally(
    day: dt.date,
    rows: Iterable[dict[str, object]],
    who_field: str,
    tally: _Tally,
    everyone: _Tally | None,
    crossing: set[tuple[str, str]],
) -> None:
    last_seen: dict[tuple[str, str], dt.datetime] = {}
    for row in rows:
        site, who = str(row["site"]), str(row[who_field])
        at = row["created_at"]
        assert isinstance(at, dt.datetime)
        previous = last_seen.get((site, who))
        if previous is None:
            start = (site, str(row.get("visitor_prev", ""))) not in crossing
        else:
            start = at - previous > SESSION_GAP
        last_seen[(site, who)] = at
        values = {f: str(row[f]) for f in _FIELDS}
        tally.add(site, who, values, start)
        if everyone is not None:
            everyone.add(site, str(row["visitor"]) or who, {f: "" for f in _FIELDS}, start)


def _by_device(
    rows: Iterable[dict[str, object]], erased: int | None
) -> Iterator[dict[str, object]]:
    """Identified hits are told apart by their device; those of erased people, which share one
    stand-in device, by the anonymous visitor key they carry like any hit (kept as long as the
    day's salt), so that an erasure leaves the day's figures as they were."""
    for row in rows:
        if row["device_id"] in (None, erased):
            row["device_id"] = f"v:{row['visitor']}"
        yield row


def rollup_day(*, day: dt.date) -> int:
    """Recompute the rollups of one UTC day from the rows still held for it."""
    columns = ["site", "created_at", "visitor", "visitor_prev", *_FIELDS]
    # Streamed, never held as a list: a busy day is millions of rows.
    anonymous = (
        AnonymousHit.objects.filter(day=day, machine=False)
        .order_by("created_at", "id")
        .values(*columns)
        .iterator(chunk_size=5000)
    )
    machines = AnonymousHit.objects.filter(day=day, machine=True).order_by("created_at", "id")
    identified = PageHit.objects.filter(day=day).order_by("created_at", "id")
    crossing = _continued(day)
    erased = Device.objects.filter(public_id=ERASED_DEVICE).values_list("pk", flat=True).first()
    people, robots, known, everyone = _Tally(), _Tally(), _Tally(), _Tally()
    _tally(day, anonymous, "visitor", people, everyone, crossing)
    _tally(day, machines.values(*columns).iterator(chunk_size=5000), "visitor", robots, None, set())
    _tally(
        day,
        _by_device(identified.values("device_id", *columns).iterator(chunk_size=5000), erased),
        "device_id",
        known,
        everyone,
        set(),
    )
    rows = [
        *people.rows(day, Audience.ANONYMOUS),
        *robots.rows(day, Audience.MACHINE),
        *known.rows(day, Audience.IDENTIFIED),
        *(r for r in everyone.rows(day, Audience.ALL) if r.dimension == "total"),
    ]
    with transaction.atomic():
        DailyStat.objects.filter(day=day).delete()
        DailyStat.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rollup_recent(*, today: dt.date | None = None) -> int:
    """Today and yesterday: the days whose hits may still be arriving."""
    today = today or dt.datetime.now(tz=dt.UTC).date()
    return rollup_day(day=today - dt.timedelta(days=1)) + rollup_day(day=today)
