"""GET /api/v1/stats/: dimension reports answer, a refused range is a 400 that says why,
presets name their days, and every day of a series is there with every figure."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from tests.support.apiclients import api_client
from tests.support.tracking import send
from tracker.reports import DIMENSION_REPORTS, report_measures

pytestmark = pytest.mark.django_db
TODAY = dt.datetime.now(tz=dt.UTC).date()


@pytest.fixture
def reader():
    return api_client("tracker.view_dailystat", "tracker.change_dailystat")


@override_settings(REDIS_URL=None)
@pytest.mark.parametrize("kind", list(DIMENSION_REPORTS))
def test_every_dimension_report_answers_with_rows_whose_hits_add_up_to_the_page_hits(
    client, reader, kind
):
    send(client, page_url="http://testserver/a?utm_source=mail&utm_medium=email&utm_campaign=x")
    send(client, page_url="http://testserver/b", page_referrer="https://news.example/item")
    answer = reader.get("/api/v1/stats/", {"kind": kind})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["days"] == []
    assert {row["dimension"] for row in body["rows"]} == set(DIMENSION_REPORTS[kind])
    for dimension in DIMENSION_REPORTS[kind]:
        assert sum(r["hits"] for r in body["rows"] if r["dimension"] == dimension) == 2


@override_settings(REDIS_URL=None)
def test_utm_answers_source_medium_and_campaign_with_the_untagged_hits_apart(client, reader):
    send(client, page_url="http://testserver/a?utm_source=mail&utm_medium=email&utm_campaign=x")
    send(client, page_url="http://testserver/b")
    rows = reader.get("/api/v1/stats/", {"kind": "utm"}).json()["rows"]
    assert [(r["dimension"], r["key"], r["hits"]) for r in rows] == [
        ("utm_source", "", 1),
        ("utm_source", "mail", 1),
        ("utm_medium", "", 1),
        ("utm_medium", "email", 1),
        ("utm_campaign", "", 1),
        ("utm_campaign", "x", 1),
    ]
    assert rows[1]["anonymous_visitors"] == 1
    assert rows[1]["identified_visitors"] == 0


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start": "2026-02-01", "end": "2025-01-01"}, "ends (2025-01-01) before it starts"),
        ({"start": "2024-01-01", "end": "2025-06-01"}, "a report covers at most 366"),
        ({"preset": "today", "start": "2026-01-01"}, "either a preset or start and end"),
    ],
)
def test_a_refused_range_is_a_400_that_says_why(reader, query, says):
    answer = reader.get("/api/v1/stats/", {"kind": "page", **query})
    assert answer.status_code == 400
    assert says in answer.json()["fields"]["non_field_errors"][0]


def test_an_unknown_kind_or_preset_or_an_object_for_a_dimension_is_a_400(reader):
    for query in ({"kind": "nope"}, {"preset": "yesterday"}, {"kind": "utm", "object": 3}):
        answer = reader.get("/api/v1/stats/", query)
        assert answer.status_code == 400, query
        assert answer.json()["error"] == "invalid"


@pytest.mark.parametrize("kind", ["page", "email", "form", "focus", "link", "asset", "video"])
def test_a_range_without_data_has_every_day_with_every_figure_at_zero(reader, kind):
    answer = reader.get("/api/v1/stats/", {"kind": kind, "preset": "last_7_days"}).json()
    assert [d["day"] for d in answer["days"]] == [
        (TODAY - dt.timedelta(days=6 - n)).isoformat() for n in range(7)
    ]
    figures = set(report_measures(kind=kind))
    assert figures
    for day in answer["days"]:
        assert {k: v for k, v in day.items() if k != "day"} == dict.fromkeys(figures, 0)


def test_a_preset_names_its_days_and_the_consent_rate_is_none_without_a_choice(reader):
    answer = reader.get("/api/v1/stats/", {"kind": "form", "preset": "this_month"}).json()
    assert (answer["start"], answer["end"]) == (TODAY.replace(day=1).isoformat(), TODAY.isoformat())
    assert answer["consent"]["rate"] is None
    assert answer["consent"]["browsers"] == 0
