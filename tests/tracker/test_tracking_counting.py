"""Counting without cookies: random daily salts, unique visitors and sessions, rollups split
by audience, and retention that purges hashes with their salt."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

import pytest
from django.test import override_settings

from contacts.models import Device
from tracker.models import AnonymousHit, DailyStat, PageHit, Salt
from tracker.retention import retention_run
from tracker.rollups import rollup_day
from tracker.salts import salt_for, salts_forget
from tracker.store import events_store

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 10)


@pytest.fixture(autouse=True)
def embedded():
    salts_forget()
    with override_settings(REDIS_URL=None):
        yield
    salts_forget()


def at(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC).timestamp()


def event(ts, visitor, path="/", **extra):
    return {
        "id": str(uuid.uuid4()),
        "ts": ts,
        "site": "https://shop.example",
        "path": path,
        "v": visitor,
        **extra,
    }


def stat(dimension="total", key="", audience="anonymous", day=DAY):
    return DailyStat.objects.get(
        day=day, site="https://shop.example", dimension=dimension, key=key, audience=audience
    )


def test_salts_are_random_per_day_and_not_derived_from_the_date():
    first, second = salt_for(DAY), salt_for(DAY + dt.timedelta(days=1))
    assert first != second
    assert len(first) == 32
    assert first not in (
        hashlib.sha256(DAY.isoformat().encode()).digest(),
        hashlib.blake2b(DAY.isoformat().encode(), digest_size=32).digest(),
    )
    salts_forget()
    assert salt_for(DAY) == first  # kept for the day, shared by every process


def test_unique_visitors_and_sessions_are_counted_per_day():
    events_store(
        [
            event(at(9, 0), "a", "/"),
            event(at(9, 10), "a", "/pricing"),  # same session
            event(at(11, 0), "a", "/"),  # a second session: more than 30 minutes later
            event(at(10, 0), "b", "/pricing"),
        ]
    )
    rollup_day(day=DAY)
    total = stat()
    assert (total.hits, total.visitors, total.sessions) == (4, 2, 3)
    pricing = stat("path", "/pricing")
    assert (pricing.hits, pricing.visitors) == (2, 2)


def test_a_session_crossing_midnight_continues():
    before = DAY - dt.timedelta(days=1)
    events_store(
        [
            event(at(23, 50, before), "yesterday-hash"),
            event(at(0, 10), "today-hash", vp="yesterday-hash"),
            event(at(0, 20), "stranger", vp="someone-not-seen-yesterday"),
        ]
    )
    rollup_day(day=DAY)
    assert stat().sessions == 1  # only the stranger starts a session today
    assert stat().visitors == 2


def test_machines_and_identified_visitors_are_counted_apart():
    device = Device.objects.create(public_id="dev")
    events_store(
        [
            event(at(9), "anon"),
            event(at(9, 1), "bot", m=1),
            event(at(9, 2), "anon", d=device.public_id),  # the same visitor, after a grant
        ]
    )
    rollup_day(day=DAY)
    assert stat(audience="anonymous").hits == 1
    assert stat(audience="machine").hits == 1
    assert stat(audience="identified").hits == 1
    everyone = stat(audience="all")
    assert (everyone.hits, everyone.visitors) == (2, 1)


def test_rollups_split_referrers_utm_devices_and_browsers():
    events_store(
        [event(at(9), "a", refd="news.example", utm_source="mail", dev="mobile", br="Firefox 120")]
    )
    rollup_day(day=DAY)
    assert stat("referrer", "news.example").hits == 1
    assert stat("utm_source", "mail").hits == 1
    assert stat("device", "mobile").hits == 1
    assert stat("browser", "Firefox 120").hits == 1


def test_a_rollup_run_twice_gives_the_same_rows():
    events_store([event(at(9), "a"), event(at(10), "b")])
    rollup_day(day=DAY)
    first = list(DailyStat.objects.values_list("dimension", "key", "audience", "hits"))
    rollup_day(day=DAY)
    assert list(DailyStat.objects.values_list("dimension", "key", "audience", "hits")) == first


def test_retention_rolls_up_then_purges_staging_and_salts_after_48_hours():
    old_day = DAY - dt.timedelta(days=2)
    Salt.objects.create(day=old_day, value="00" * 32)
    Salt.objects.create(day=DAY, value="11" * 32)
    device = Device.objects.create(public_id="dev")
    events_store(
        [
            event(at(9, day=old_day), "old"),
            event(at(9), "new"),
            event(at(9, day=old_day), "old", d=device.public_id),
        ]
    )
    now = dt.datetime.combine(DAY, dt.time(12), tzinfo=dt.UTC)
    report = retention_run(now=now)
    assert report["staging_deleted"] == 1
    assert list(Salt.objects.values_list("day", flat=True)) == [DAY]
    assert list(AnonymousHit.objects.values_list("visitor", flat=True)) == ["new"]
    # The old day was rolled up before its rows went.
    assert stat(day=old_day).hits == 1
    # Identified hits stay, but lose the hash that outlived its salt.
    assert PageHit.objects.get().visitor == ""
    assert retention_run(now=now)["staging_deleted"] == 0


@override_settings(RETENTION_DAYS=30)
def test_identified_hits_expire_after_the_retention_period():
    device = Device.objects.create(public_id="dev")
    events_store([event(at(9), "x", d=device.public_id)])
    retention_run(now=dt.datetime.combine(DAY + dt.timedelta(days=29), dt.time(), tzinfo=dt.UTC))
    assert PageHit.objects.count() == 1
    retention_run(now=dt.datetime.combine(DAY + dt.timedelta(days=31), dt.time(), tzinfo=dt.UTC))
    assert PageHit.objects.count() == 0


def test_malformed_events_are_dropped_not_fatal():
    assert events_store([{"id": "not-a-uuid"}, event(at(9), "a")]) == 1
    assert AnonymousHit.objects.count() == 1
