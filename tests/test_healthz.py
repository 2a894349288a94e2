from __future__ import annotations

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_embedded_default(client):
    with override_settings(REDIS_URL=None):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "redis": "embedded", "backlog": 0, "status": "ok"}
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
