from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_embedded_default(client):
    with override_settings(REDIS_URL=None):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "database": "ok",
        "dead_letters": 0,
        "redis": "embedded",
        "backlog": 0,
        "lag_seconds": 0.0,
        "status": "ok",
    }
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_redis_and_its_backlog(client, redis_client):
    redis_client.xadd("consentry:events", {"e": "1"})
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["redis"] == "ok"
    assert response.json()["backlog"] == 1


def test_healthz_answers_503_when_redis_is_unreachable(client):
    # Port 9 (discard) on loopback: nothing listens, so the connection is refused for real.
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"].startswith("error")
    assert response.json()["status"] == "unhealthy"


def test_healthz_is_degraded_while_the_oldest_waiting_event_is_older_than_the_threshold(
    client, redis_client
):
    import time

    old = int(time.time() * 1000) - 120_000
    redis_client.xadd("consentry:events", {"e": "1"}, id=f"{old}-0")
    with override_settings(DRAIN_LAG_DEGRADED_S=60):
        response = client.get("/healthz")
    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "degraded"
    assert 119 <= report["lag_seconds"] <= 180
    with override_settings(DRAIN_LAG_DEGRADED_S=600):
        assert client.get("/healthz").json()["status"] == "ok"


def test_healthz_is_degraded_while_dead_letters_exist(client):
    from tracker.store import deadletter_add

    with override_settings(REDIS_URL=None):
        assert client.get("/healthz").json()["status"] == "ok"
        deadletter_add(event={"id": "x"}, error="malformed: test", source="drain")
        report = client.get("/healthz").json()
    assert report["status"] == "degraded"
    assert report["dead_letters"] == 1
