"""The drain isolates poison: an entry that cannot be stored is tried alone, then kept as a
dead letter with its error, and every other event — before and after it — is stored."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from consentry.streams import SINGLE_TRIES as EVENT_TRIES
from tests.support.apiclients import api_client
from tests.support.tracking import send
from tracker.drain import events_drain
from tracker.enqueue import event_enqueue
from tracker.models import AnonymousHit, DeadLetter

pytestmark = pytest.mark.django_db


def _page(title="Pricing", **extra):
    return {
        "id": str(uuid.uuid4()),
        "ts": round(time.time(), 3),
        "site": "http://testserver",
        "path": "/pricing",
        "title": title,
        "v": "a" * 32,
        **extra,
    }


def _xadd(redis_client, event):
    # Straight into the stream, past the request's edge: as a bug or an old release would.
    return redis_client.xadd(EVENT_STREAM, {"e": json.dumps(event)})


def _drain_until_empty(redis_client, runs=10):
    for _ in range(runs):
        events_drain()
        if redis_client.xlen(EVENT_STREAM) == 0:
            return True
    return False


@pytest.mark.postgres
def test_one_entry_postgres_refuses_holds_back_no_other_and_ends_as_a_dead_letter(
    client, redis_client
):
    before = [_page() for _ in range(3)]
    poison = _page(title="a\ud800b")  # PostgreSQL refuses a lone surrogate in JSON
    after = [_page() for _ in range(3)]
    for event in (*before, poison, *after):
        _xadd(redis_client, event)

    with override_settings(DRAIN_MAX_TRIES=3):
        events_drain()
        # The first run stores all the others; the poison waits for its next try.
        stored = set(AnonymousHit.objects.values_list("event_id", flat=True))
        assert {uuid.UUID(e["id"]) for e in (*before, *after)} <= stored
        assert redis_client.xlen(EVENT_STREAM) == 1
        assert DeadLetter.objects.count() == 0
        assert _drain_until_empty(redis_client)

    letter = DeadLetter.objects.get()
    assert letter.event_id == poison["id"]
    assert letter.source == "drain"
    assert letter.tries == 3
    assert "DataError" in letter.error
    assert json.loads(letter.payload)["title"] == "a\ud800b"
    assert redis_client.hlen(EVENT_TRIES) == 0
    report = client.get("/healthz").json()
    assert report["status"] == "degraded"
    assert report["dead_letters"] == 1

    # The drain goes on: hits sent afterwards through the request cycle are stored.
    ids = [str(uuid.uuid4()) for _ in range(5)]
    for event_id in ids:
        assert send(client, id=event_id).status_code == 200
    assert _drain_until_empty(redis_client)
    assert AnonymousHit.objects.filter(event_id__in=ids).count() == 5


def test_malformed_events_become_dead_letters_and_their_batch_mates_are_stored(redis_client):
    from tests.support.emailing import sent_to

    sent = sent_to("ada@example.com", consented=False)
    good_open = {
        "k": "open",
        "id": str(uuid.uuid4()),
        "ts": time.time(),
        "t": sent.email.pixel_token,
    }
    bad_open = {"k": "open", "id": "not-a-uuid", "ts": time.time(), "t": sent.email.pixel_token}
    no_time = {**_page(), "ts": "yesterday"}
    unknown = {**_page(), "k": "teleport"}
    for event in (good_open, bad_open, _page(), no_time, unknown):
        _xadd(redis_client, event)
    redis_client.xadd(EVENT_STREAM, {"e": b"{not json"})

    assert _drain_until_empty(redis_client, runs=2)

    assert AnonymousHit.objects.count() == 1
    assert sent.email.opens.count() == 1
    reasons = sorted(DeadLetter.objects.values_list("error", flat=True))
    assert len(reasons) == 4
    assert any("unknown kind 'teleport'" in r for r in reasons)
    assert any("unreadable entry" in r for r in reasons)
    assert sum("malformed" in r for r in reasons) == 2


@pytest.mark.postgres
def test_dead_letters_are_listed_and_re_driven_once_their_cause_is_fixed(redis_client):
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE tracker_anonymoushit ADD CONSTRAINT no_poison CHECK (title <> 'poison')"
        )
    poisoned = [_page(title="poison") for _ in range(2)]
    for event in poisoned:
        _xadd(redis_client, event)
    _xadd(redis_client, _page())
    with override_settings(DRAIN_MAX_TRIES=1):
        assert _drain_until_empty(redis_client)
    assert AnonymousHit.objects.count() == 1
    assert DeadLetter.objects.count() == 2
    assert "IntegrityError" in DeadLetter.objects.first().error

    listed = api_client("tracker.view_deadletter").get("/api/v1/dead-letters/")
    assert listed.status_code == 200
    assert {r["event_id"] for r in listed.json()["results"]} == {e["id"] for e in poisoned}
    assert (
        api_client("tracker.view_deadletter").post("/api/v1/dead-letters/redrive/").status_code
        == 403
    )

    # Still failing: the letter stays, one try more.
    with pytest.raises(SystemExit):
        call_command("tracker_redrive")
    assert list(DeadLetter.objects.values_list("tries", flat=True)) == [2, 2]

    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tracker_anonymoushit DROP CONSTRAINT no_poison")
    first = DeadLetter.objects.order_by("id").first()
    answer = api_client("tracker.change_deadletter").post(
        "/api/v1/dead-letters/redrive/", {"ids": [first.pk]}, format="json"
    )
    assert answer.json() == {"stored": 1, "failed": 0}
    call_command("tracker_redrive")
    assert DeadLetter.objects.count() == 0
    assert AnonymousHit.objects.count() == 3


def test_an_event_the_database_refuses_on_the_embedded_default_is_kept_not_a_500():
    with override_settings(REDIS_URL=None):
        assert event_enqueue({**_page(), "ts": "soon"}) == "database"
        assert event_enqueue(_page(title="x" * 301 + "\x00")) == "database"
    letters = DeadLetter.objects.all()
    assert all(letter.source == "write-through" for letter in letters)
    assert letters.count() >= 1


def test_the_admin_lists_dead_letters_for_staff_with_the_permission(admin_client):
    from tracker.store import deadletter_add

    deadletter_add(event=_page(), error="malformed: missing 'ts'", source="drain")
    page = admin_client.get("/admin/tracker/deadletter/")
    assert page.status_code == 200
    assert b"malformed: missing" in page.content


@pytest.mark.postgres
def test_a_fault_that_is_not_the_events_own_holds_the_batch_and_dead_letters_nothing(
    redis_client,
):
    from django.db.utils import ProgrammingError

    events = [_page() for _ in range(3)]
    for event in events:
        _xadd(redis_client, event)
    # A release running before its migration: the table is not there.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tracker_anonymoushit RENAME TO tracker_anonymoushit_away")
    with override_settings(DRAIN_MAX_TRIES=1):
        for _ in range(3):
            with pytest.raises(ProgrammingError), transaction.atomic():
                events_drain()
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE tracker_anonymoushit_away RENAME TO tracker_anonymoushit")
    assert DeadLetter.objects.count() == 0
    assert redis_client.hlen(EVENT_TRIES) == 0
    assert _drain_until_empty(redis_client)
    assert AnonymousHit.objects.count() == 3


def test_retention_deletes_dead_letters_older_than_dead_letter_days():
    import datetime as dt

    from tracker.retention import retention_run
    from tracker.store import deadletter_add

    old = deadletter_add(event=_page(), error="x", source="drain")
    DeadLetter.objects.filter(pk=old.pk).update(
        created_at=dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=31)
    )
    recent = deadletter_add(event=_page(), error="x", source="drain")
    with override_settings(DEAD_LETTER_DAYS=30):
        assert retention_run()["dead_letters_expired"] == 1
    assert list(DeadLetter.objects.values_list("pk", flat=True)) == [recent.pk]
