"""The reports page: ranges and presets, a refused range said out loud, CSV downloads a
spreadsheet cannot run, and charts that draw unaddable measures side by side and a year as a
dozen readable bars."""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.urls import reverse

from consentry.charts import HEIGHT, TOP, WIDTH, bars, bucket_size, buckets
from tests.support.tracking import consent, send
from tracker.reports import RangeRefused, report_range

pytestmark = pytest.mark.django_db
TODAY = dt.datetime.now(tz=dt.UTC).date()


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


@pytest.mark.parametrize(
    ("preset", "start", "end"),
    [
        ("today", "2026-03-15", "2026-03-15"),
        ("last_7_days", "2026-03-09", "2026-03-15"),
        ("last_30_days", "2026-02-14", "2026-03-15"),
        ("this_month", "2026-03-01", "2026-03-15"),
        ("last_month", "2026-02-01", "2026-02-28"),
        ("last_12_months", "2025-04-01", "2026-03-15"),
    ],
)
def test_each_preset_covers_the_days_its_name_says(preset, start, end):
    today = dt.date(2026, 3, 15)
    assert report_range(preset=preset, today=today) == (
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
    )


def test_last_12_months_in_january_reaches_back_into_last_february():
    assert report_range(preset="last_12_months", today=dt.date(2027, 1, 31)) == (
        dt.date(2026, 2, 1),
        dt.date(2027, 1, 31),
    )


@pytest.mark.parametrize(
    ("start", "end", "says"),
    [
        ("2026-02-01", "2025-01-01", "ends (2025-01-01) before it starts (2026-02-01)"),
        ("2024-01-01", "2025-01-01", "covers 367 days; a report covers at most 366"),
    ],
)
def test_a_range_over_a_year_or_backwards_is_refused_by_the_admin_with_its_reason(
    staff, start, end, says
):
    html = staff.get(reverse("admin:reports"), {"start": start, "end": end}).content.decode()
    refused = re.search(r'id="range-refused">(.*?)</p>', html, re.S)
    assert refused, "no message for a refused range"
    assert says in refused.group(1)
    assert "Showing the last 30 days instead" in refused.group(1)
    default = report_range()
    assert f"{default[0]:%Y-%m-%d} to {default[1]:%Y-%m-%d}, by day" in html


def test_a_range_of_a_full_leap_year_is_accepted():
    assert report_range(start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31))
    with pytest.raises(RangeRefused):
        report_range(start=dt.date(2024, 1, 1), end=dt.date(2025, 1, 1))


def test_a_date_that_is_not_a_date_is_named_in_the_admin(staff):
    html = staff.get(reverse("admin:reports"), {"start": "2026-13-45"}).content.decode()
    assert "start &#x27;2026-13-45&#x27; is not a date (YYYY-MM-DD)" in html


def test_a_preset_link_shows_its_days_and_is_marked_current(staff):
    html = staff.get(reverse("admin:reports"), {"preset": "last_7_days"}).content.decode()
    first = TODAY - dt.timedelta(days=6)
    assert f"{first:%Y-%m-%d} to {TODAY:%Y-%m-%d}, by day" in html
    assert '<a href="?preset=last_7_days" aria-current="true">Last 7 days</a>' in html
    assert "range-refused" not in html


@override_settings(REDIS_URL=None)
def test_every_table_downloads_as_csv_that_cannot_start_a_formula(staff):
    visitor = Client()  # the operator's own hits are never counted
    send(visitor, page_url="http://testserver/p?utm_source=%3DHYPERLINK(%22http://evil%22)")
    consent(visitor, "grant")
    html = staff.get(reverse("admin:reports")).content.decode()
    links = re.findall(
        r'<a class="csv" href="\?([^"]+)" download aria-label="[^"]+ as CSV">CSV</a>', html
    )
    tables = [re.search(r"export=(\w+)", link.replace("&amp;", "&")).group(1) for link in links]
    assert sorted(tables) == sorted(
        [
            "consent",
            "page",
            "email",
            "form",
            "focus",
            "asset",
            "dwc",
            "video",
            "path",
            "referrer",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "device",
            "browser",
        ]
    )
    for link in links:
        response = staff.get(reverse("admin:reports") + "?" + link.replace("&amp;", "&"))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith("attachment; filename=")
        rows = list(csv.reader(io.StringIO(response.content.decode())))
        assert len(rows) >= 2, link
        for row in rows:
            assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row), row
    utm = staff.get(reverse("admin:reports"), {"export": "utm_source"}).content.decode()
    assert '\'=HYPERLINK(""http://evil"")' in utm
    page = list(
        csv.DictReader(
            io.StringIO(staff.get(reverse("admin:reports"), {"export": "page"}).content.decode())
        )
    )
    assert len(page) == 30  # every day of the default range
    assert page[-1]["day"] == TODAY.isoformat()
    assert (page[-1]["anonymous_hits"], page[0]["anonymous_hits"]) == ("1", "0")
    consent_csv = staff.get(reverse("admin:reports"), {"export": "consent"}).content.decode()
    assert consent_csv.splitlines()[1].split(",")[:5] == ["1", "1", "0", "0", "1.0"]


def test_an_unknown_table_or_a_refused_range_gets_no_csv(staff):
    assert staff.get(reverse("admin:reports"), {"export": "nothing"}).status_code == 400
    backwards = staff.get(
        reverse("admin:reports"), {"export": "page", "start": "2026-02-01", "end": "2025-01-01"}
    )
    assert backwards.status_code == 400
    assert b"before it starts" in backwards.content


def _rects(svg: str) -> list[tuple[float, float, float, float, str]]:
    return [
        (float(x), float(y), float(w), float(h), title)
        for x, y, w, h, title in re.findall(
            r'<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#\w+">'
            r"<title>(.*?)</title>",
            svg,
        )
    ]


def test_measures_that_cannot_be_added_stand_side_by_side_not_stacked():
    day = [{"day": TODAY, "sent": 10, "human_opens": 6, "clicks": 2}]
    svg = bars(buckets(day, size="day"), ["sent", "human_opens", "clicks"], title="Email")
    rects = _rects(svg)
    assert len(rects) == 3
    bottoms = {round(y + h, 1) for _, y, _, h, _ in rects}
    assert len(bottoms) == 1  # every bar stands on the axis
    assert len({x for x, *_ in rects}) == 3  # next to each other
    tallest = max(rects, key=lambda r: r[3])
    assert tallest[4].endswith("sent: 10")


def test_disjoint_parts_are_stacked_into_their_whole():
    day = [{"day": TODAY, "anonymous_hits": 3, "identified_hits": 1}]
    rects = _rects(
        bars(
            buckets(day, size="day"),
            ["anonymous_hits", "identified_hits"],
            title="Hits",
            stacked=True,
        )
    )
    assert len({x for x, *_ in rects}) == 1
    assert round(sum(h for *_, h, _ in rects), 1) == round(
        max(y + h for _, y, _, h, _ in rects) - min(y for _, y, *_ in rects), 1
    )


def test_a_year_is_drawn_by_month_in_bars_a_person_can_see_with_every_label_inside():
    start, end = report_range(preset="last_12_months")
    rows = [
        {"day": start + dt.timedelta(days=n), "sent": 5, "human_opens": 3}
        for n in range((end - start).days + 1)
    ]
    assert bucket_size(start, end) == "month"
    months = buckets(rows, size="month")
    assert len(months) == 12
    svg = bars(months, ["sent", "human_opens"], title="Email per month")
    rects = _rects(svg)
    assert len(rects) == 24
    assert min(w for _, _, w, _, _ in rects) >= 10  # no hairlines
    labels = re.findall(
        r'<text x="([\d.]+)" y="(\d+)" font-size="(\d+)"[^>]*text-anchor="middle">([^<]+)</text>',
        svg,
    )
    assert len(labels) >= 6
    for x, y, size, text in labels:
        half = len(text) * int(size) * 0.6 / 2
        assert float(x) - half >= 0, text
        assert float(x) + half <= WIDTH, text
        assert TOP < int(y) <= HEIGHT
    xs = [float(x) for x, *_ in labels]
    widest = max(len(t) for *_, t in labels) * 12 * 0.6
    assert all(b - a >= widest for a, b in itertools.pairwise(xs))  # no overlap
    assert bucket_size(TODAY - dt.timedelta(days=90), TODAY) == "week"
