"""Which endpoints an event goes to is read from the process's copy of the active endpoints:
no query per event while nothing changed, a change made here applies at once, and one made by
another process within about a second (consentry/versioned.py)."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consentry.redis import get_redis
from webhooks import signing
from webhooks.models import Delivery, Endpoint
from webhooks.services import _disable, _endpoints, endpoint_create, webhook_emit

pytestmark = pytest.mark.django_db
URL = "https://hooks.example.com/in"


def _emit() -> int:
    return webhook_emit(type="dnc.added", data={"contact": {"id": 1}, "channel": "email"})


def test_no_query_per_event_while_the_endpoints_are_unchanged():
    assert _emit() == 0  # reads the (empty) list once
    with CaptureQueriesContext(connection) as queries:
        assert _emit() == 0
    assert len(queries) == 0


def test_an_endpoint_created_or_switched_off_here_applies_to_the_next_event():
    endpoint = endpoint_create(url=URL, events=["dnc.added"])
    assert _emit() == 1
    _disable(endpoint, "the receiver answered 410 Gone")
    assert _emit() == 0
    assert Delivery.objects.count() == 1


def test_an_endpoint_another_process_added_gets_events_within_seconds(redis_client):
    assert _emit() == 0
    # Another process's endpoint: no signal reaches this one, only the version it publishes.
    Endpoint.objects.bulk_create(
        [Endpoint(url=URL, events=["dnc.added"], secret=signing.secret_new(), active=True)]
    )
    get_redis().set(_endpoints.key, "changed elsewhere")
    time.sleep(1.2)
    assert _emit() == 1
