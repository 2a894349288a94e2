"""The videos API: an operator configures a video by its address, its gate form and the second
the form shows at, and reads the plays reported per video. Who may call which operation is
held in tests/api/test_api_permissions.py."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from tests.support.apiclients import api_client, model_perms
from tests.support.forming import form_make
from tests.support.tracking import CHROME
from video.models import Video

pytestmark = pytest.mark.django_db

VIDEO = "https://cdn.example.com/videos/intro.mp4"


def test_a_video_and_its_gate_are_created_changed_read_and_deleted(client):
    api = api_client(*model_perms("video", "video", "view", "add", "change", "delete"))
    form = form_make()
    made = api.post(
        "/api/v1/videos/",
        {"name": "Intro", "url": VIDEO, "form": form.pk, "gate_seconds": 12},
        format="json",
    )
    assert made.status_code == 201, made.content
    video_id = made.json()["id"]
    # The page's player is given the gate at once.
    gate = client.get("/video/gate", {"url": VIDEO}).json()["gate"]
    assert (gate["form"], gate["seconds"]) == (form.pk, 12)

    changed = api.patch(f"/api/v1/videos/{video_id}/", {"gate_seconds": 30}, format="json")
    assert changed.status_code == 200
    assert client.get("/video/gate", {"url": VIDEO}).json()["gate"]["seconds"] == 30
    assert api.get(f"/api/v1/videos/{video_id}/").json()["gate_seconds"] == 30

    assert api.delete(f"/api/v1/videos/{video_id}/").status_code == 204
    assert client.get("/video/gate", {"url": VIDEO}).json() == {"gate": None}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "not a url"}, "url"),
        ({"gate_seconds": -1}, "gate_seconds"),
        ({"gate_seconds": 10**9}, "gate_seconds"),
        ({"form": 999999}, "form"),
    ],
)
def test_a_bad_video_is_refused_naming_the_field(fields, field):
    api = api_client(*model_perms("video", "video", "add"))
    answer = api.post("/api/v1/videos/", {"name": "Intro", "url": VIDEO, **fields}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not Video.objects.exists()


def test_the_same_address_cannot_be_configured_twice():
    api = api_client(*model_perms("video", "video", "add"))
    first = api.post("/api/v1/videos/", {"name": "A", "url": VIDEO}, format="json")
    assert first.status_code == 201
    again = api.post("/api/v1/videos/", {"name": "B", "url": VIDEO}, format="json")
    assert again.status_code == 400
    assert "url" in again.json()["fields"]


@override_settings(REDIS_URL=None)
def test_the_report_gives_plays_and_seconds_watched_per_video(client):
    video = Video.objects.create(name="Intro", url=VIDEO)
    for url, watched in ((VIDEO, "30"), (VIDEO, "12.5"), ("https://cdn.example.com/b.mp4", "7")):
        client.post(
            "/video/hit",
            urlencode(
                {"guid": str(uuid.uuid4()), "url": url, "duration": "60", "total_watched": watched}
            ),
            content_type="application/x-www-form-urlencoded",
            HTTP_ORIGIN="http://testserver",
            HTTP_USER_AGENT=CHROME,
        )
    report = api_client("video.view_videohit").get("/api/v1/videos/report/")
    assert report.status_code == 200, report.content
    assert report.json()["videos"] == [
        {
            "url": VIDEO,
            "video": video.pk,
            "plays": 2,
            "seconds_watched": 42,
            "identified_plays": 0,
        },
        {
            "url": "https://cdn.example.com/b.mp4",
            "video": None,
            "plays": 1,
            "seconds_watched": 7,
            "identified_plays": 0,
        },
    ]
    stats = api_client("tracker.view_dailystat").get("/api/v1/stats/", {"kind": "video"})
    assert stats.status_code == 200
    assert sum(day.get("seconds_watched", 0) for day in stats.json()["days"]) == 49


def test_a_report_over_a_bad_range_is_refused():
    api = api_client("video.view_videohit")
    bad = api.get("/api/v1/videos/report/", {"start": "2024-05-02", "end": "2024-05-01"})
    assert bad.status_code == 400
    assert api.get("/api/v1/videos/report/", {"start": "1990-01-01"}).status_code == 400
