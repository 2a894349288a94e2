"""The kinds registry: a new counted kind is one model, one store function and one registry
row, and the pipeline, the reports, the export, the erasure, device linking and the timeline
take it up without a change anywhere else."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, models
from django.db.models import Q

from consentry.kinds import (
    ERASED_DEVICE,
    Hook,
    Kind,
    Series,
    kind_get,
    kind_register,
    kind_unregister,
    reports,
)
from contacts.models import Contact, Device
from contacts.rights import contact_erase, contact_export
from contacts.selectors import contact_activity
from contacts.services import device_link
from tests.support.apiclients import api_client
from tracker.drain import events_drain
from tracker.enqueue import event_enqueue
from tracker.models import CountedEvent, DeadLetter
from tracker.reports import stats_daily
from tracker.store import counted_rows_store
from webhooks.events import event_types
from webhooks.models import WebhookEvent
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def new_kind() -> Kind:
    """The whole of a new kind: a model, a store function and a registry row."""

    class VideoHit(CountedEvent):
        seconds = models.PositiveIntegerField()

        class Meta:
            app_label = "tracker"
            db_table = "test_videohit"

    def videos_store(events):
        return counted_rows_store(VideoHit, events, own=lambda e: {"seconds": int(e["sec"])})

    return Kind(
        code="video",
        model=VideoHit,
        owner="contact",
        export_as="video_hits",
        store=videos_store,
        fields={"sec": int},
        series=(
            Series(
                report="video",
                counts={
                    "plays": Q(machine=False),
                    "identified_plays": Q(contact__isnull=False) | Q(device__isnull=False),
                },
            ),
        ),
        device="device",
        erase_detach=("contact", "device"),
        timeline=lambda hit: ("video_hit", {"seconds": hit.seconds}),
        hook=Hook(
            event="video.watched",
            description="A known contact watched a video.",
            data=lambda hit: {"seconds": hit.seconds, "contact": {"id": hit.contact_id}},
            where=Q(machine=False),
        ),
    )


@pytest.fixture
def video_kind(redis_client):
    kind = new_kind()
    with connection.schema_editor() as editor:
        editor.create_model(kind.model)
    # The product's own video kind steps aside for the test's, and comes back after it.
    product = kind_get(kind.code)
    kind_register(kind)
    yield kind
    kind_unregister(kind.code)
    if product is not None:
        kind_register(product)
    # Out of the app registry again, so that no other test's deletions look for its table
    # (the table itself goes with the test's transaction).
    del apps.all_models["tracker"][kind.model._meta.model_name]
    apps.clear_cache()


def _event(**fields: Any) -> dict[str, Any]:
    return {"k": "video", "id": str(uuid.uuid4()), "ts": time.time(), "sec": 30, **fields}


def test_a_new_kind_is_stored_reported_exported_linked_and_erased_through_the_registry(
    video_kind,
):
    VideoHit = video_kind.model
    ada = Contact.objects.create(email="ada@example.com")
    known = Device.objects.create(public_id="dev-ada", contact=ada)
    later = Device.objects.create(public_id="dev-later")
    # Its webhook event is one an endpoint may subscribe to, like the product's own.
    assert "video.watched" in event_types()
    endpoint_create(url="https://crm.example.com/hooks", events=["video.watched"])
    # Through the real path: enqueue onto the stream, drain into PostgreSQL.
    for event in (
        _event(),  # anonymous
        _event(m=1),  # a machine's
        _event(d=known.public_id, sec=90),
        _event(d=later.public_id),  # a device not tied to anyone yet
        _event(sec="a lot"),  # malformed: a dead letter, not a lost event
    ):
        assert event_enqueue(event) == "stream"
    events_drain()
    assert VideoHit.objects.count() == 4
    assert DeadLetter.objects.get().kind == "video"
    # Only the known contact's own play sends an event: not the anonymous one, not the
    # machine's, not the device tied to no one yet.
    (sent,) = WebhookEvent.objects.filter(type="video.watched")
    assert sent.data["seconds"] == 90
    assert sent.data["contact"] == {"id": ada.pk}

    # Reported, per day, people apart from machines; through the API too.
    assert "video" in reports()
    (today,) = stats_daily(kind="video", start=_today(), end=_today())
    assert (today["plays"], today["identified_plays"]) == (3, 2)
    answer = api_client("tracker.view_dailystat").get("/api/v1/stats/?kind=video")
    assert answer.status_code == 200, answer.content

    # Device linking reaches it: the later device's earlier play becomes Ada's.
    device_link(device=later, contact=ada)
    assert VideoHit.objects.filter(contact=ada).count() == 2

    # Exported and on the timeline.
    document = contact_export(contact=ada)
    assert sorted(row["seconds"] for row in document["video_hits"]) == [30, 90]
    assert [item["type"] for item in contact_activity(contact=ada)].count("video_hit") == 2

    # Erased: the plays stay in the counts, attributed to no one, and the report reads as
    # before; what was Ada's points at the stand-in device that every erased person shares.
    (before,) = stats_daily(kind="video", start=_today(), end=_today())
    contact_erase(contact=ada)
    assert VideoHit.objects.count() == 4
    assert not VideoHit.objects.filter(contact__isnull=False).exists()
    held = set(VideoHit.objects.exclude(device=None).values_list("device__public_id", flat=True))
    assert held == {ERASED_DEVICE}
    assert stats_daily(kind="video", start=_today(), end=_today()) == [before]


def test_an_unregistered_kind_is_a_dead_letter_not_a_lost_event(redis_client):
    event_enqueue(_event(k="clip"))
    events_drain()
    assert "unknown kind 'clip'" in DeadLetter.objects.get().error


def _today():
    import datetime as dt

    return dt.datetime.now(tz=dt.UTC).date()
