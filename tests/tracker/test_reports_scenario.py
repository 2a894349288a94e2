"""A scripted day with known answers, put through the real endpoints, the stream and the
drain, rolled up, then read on the stats API and on the admin's reports page: both show the
numbers docs/metrics.md defines, and the same ones."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from consent.services import consent_grant
from contacts.services import contact_upsert
from emails.models import Recipient
from tests.support.apiclients import api_client
from tests.support.emailing import email_make, sent_to
from tests.support.forming import form_make
from tests.support.tracking import CHROME, send
from tracker.drain import events_drain
from tracker.models import AnonymousHit
from tracker.rollups import rollup_recent

pytestmark = [pytest.mark.django_db]

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
SITE = "http://testserver"


def _browser(ip: str, agent: str = CHROME) -> Client:
    client = Client(REMOTE_ADDR=ip)
    client.defaults["HTTP_USER_AGENT"] = agent
    return client


def _hit(client: Client, path: str, ip: str, agent: str = CHROME, **fields: str) -> None:
    answer = send(
        client, page_url=f"{SITE}{path}", headers={"User-Agent": agent}, REMOTE_ADDR=ip, **fields
    )
    assert answer.status_code == 200, answer.content


def _choose(client: Client, action: str, ip: str, agent: str = CHROME) -> None:
    answer = send(
        client,
        {"type": "consent", "consent": action},
        headers={"User-Agent": agent},
        REMOTE_ADDR=ip,
    )
    assert answer.status_code == 200, answer.content


def _day() -> None:
    """Hits and opens go onto the Redis stream; the drain stores them."""
    # A: arrives from a newsletter link via Google, grants, reads on identified.
    a = _browser("198.51.100.1")
    _hit(
        a,
        "/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=autumn",
        "198.51.100.1",
        page_referrer="https://www.google.com/search?q=consentry",
    )
    _choose(a, "grant", "198.51.100.1")
    _hit(a, "/pricing", "198.51.100.1")
    # B: a phone that reads the blog, then refuses.
    b = _browser("198.51.100.2", IPHONE)
    _hit(b, "/blog", "198.51.100.2", IPHONE)
    _choose(b, "revoke", "198.51.100.2", IPHONE)
    # C: grants, then changes its mind; only its latest choice counts.
    c = _browser("198.51.100.3")
    _choose(c, "grant", "198.51.100.3")
    _choose(c, "revoke", "198.51.100.3")
    # D: objects even to anonymous counting.
    d = _browser("198.51.100.4")
    _choose(d, "object", "198.51.100.4")
    # E: grants on the choices page and reads nothing: a choice without a counted visit.
    e = _browser("198.51.100.6")
    granted = e.post("/privacy/choices", {"choice": "grant"}, headers={"Origin": SITE})
    assert granted.status_code == 200
    # A crawler: stored, counted apart from people.
    _hit(_browser("198.51.100.5", GOOGLEBOT), "/pricing", "198.51.100.5", GOOGLEBOT)
    # A consent given through the API for a contact alone is not a browser's choice.
    consent_grant(contact=contact_upsert(email="api@example.com"), source="api")

    # Two submissions of a form.
    form = form_make()
    for n in (1, 2):
        answer = Client().post(
            f"/form/submit?formId={form.pk}",
            {"email": f"f{n}@example.com"},
            headers={"Accept": "application/json", "User-Agent": CHROME},
        )
        assert answer.status_code == 200, answer.content

    # An email sent to two people: Ada opens it twice and clicks; Bea's mail proxy opens it.
    email = email_make()
    ada, bea = (sent_to(f"{n}@example.com", consented=True, email=email) for n in ("ada", "bea"))
    # Marked sent as the delivery marks it (the message is rendered as it is sent).
    Recipient.objects.filter(send__email=email).update(sent_at=timezone.now())
    link = ada.link
    reader = Client()
    for _ in range(2):
        reader.get(f"/email/{ada.recipient.token}.gif", headers={"User-Agent": CHROME})
    reader.get(f"/email/{bea.recipient.token}.gif", headers={"User-Agent": GMAIL_PROXY})
    (clicked,) = re.findall(rf'href="https?://[^/"]+(/r/{link.redirect_id}[^"]*)"', ada.html)
    reader.get(clicked.replace("&amp;", "&"), headers={"User-Agent": CHROME})

    assert not AnonymousHit.objects.exists()  # on the stream, not yet stored
    events_drain()
    rollup_recent()


TODAY = dt.datetime.now(tz=dt.UTC).date()
EXPECTED_PAGE = {
    "anonymous_hits": 2,  # A's first page and B's
    "identified_hits": 1,  # A's page after the grant
    "machine_hits": 1,
    "anonymous_visitors": 2,
    "identified_visitors": 1,
    "all_visitors": 2,  # A once, though anonymous then identified, and B
}
EXPECTED_CONSENT = {
    "browsers": 5,
    "granted": 2,  # A, E
    "refused": 2,  # B, C
    "objected": 1,  # D
    "rate": 0.4,
    "anonymous_visitors": 2,
    "identified_visitors": 1,
    "visitors": 2,
}
EXPECTED_TABLES = {
    "utm_source": [("", 2, 1, 1), ("newsletter", 1, 1, 0)],
    "utm_campaign": [("", 2, 1, 1), ("autumn", 1, 1, 0)],
    "referrer": [("", 2, 1, 1), ("www.google.com", 1, 1, 0)],
    "path": [("/pricing", 2, 1, 1), ("/blog", 1, 1, 0)],
    "device": [("desktop", 2, 1, 1), ("mobile", 1, 1, 0)],
}


def _number(html: str, element_id: str) -> str:
    found = re.search(rf'id="{re.escape(element_id)}">([^<]*)<', html)
    assert found, f"no #{element_id} on the page"
    return found.group(1).strip()


def _table(html: str, dimension: str) -> list[tuple[str, int, int, int]]:
    block = html.split(f'id="table-{dimension}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(
        r'<tr><td class="key">(.*?)</td><td class="num">(\d+)</td><td class="num">(\d+)</td>'
        r'<td class="num">(\d+)</td></tr>',
        block,
    )
    return [("" if k == "<em>(none)</em>" else k, int(h), int(a), int(i)) for k, h, a, i in rows]


def test_a_scripted_day_reads_the_same_known_numbers_on_the_api_and_the_admin(redis_client, client):
    _day()
    start = TODAY - dt.timedelta(days=2)
    api = api_client("tracker.view_dailystat")
    span = {"start": start.isoformat(), "end": TODAY.isoformat()}

    pages = api.get("/api/v1/stats/", {"kind": "page", **span}).json()
    # Every day of the range, every figure, 0 where nothing happened.
    assert [d["day"] for d in pages["days"]] == [
        (start + dt.timedelta(days=n)).isoformat() for n in range(3)
    ]
    for quiet in pages["days"][:2]:
        assert set(quiet) == {"day"} | {
            f"{a}_{m}"
            for a in ("anonymous", "identified", "machine", "all")
            for m in ("hits", "visitors", "sessions")
        }
        assert not any(v for k, v in quiet.items() if k != "day")
    today = pages["days"][2]
    assert {k: today[k] for k in EXPECTED_PAGE} == EXPECTED_PAGE
    assert pages["consent"] == EXPECTED_CONSENT

    forms = api.get("/api/v1/stats/", {"kind": "form", **span}).json()
    assert [d["submissions"] for d in forms["days"]] == [0, 0, 2]
    emails = api.get("/api/v1/stats/", {"kind": "email", **span}).json()["days"][2]
    assert (emails["sent"], emails["human_opens"], emails["machine_opens"], emails["clicks"]) == (
        2,
        2,
        1,
        1,
    )

    utm = api.get("/api/v1/stats/", {"kind": "utm", **span}).json()
    assert utm["days"] == []
    assert {(r["dimension"], r["key"]) for r in utm["rows"]} == {
        ("utm_source", ""),
        ("utm_source", "newsletter"),
        ("utm_medium", ""),
        ("utm_medium", "email"),
        ("utm_campaign", ""),
        ("utm_campaign", "autumn"),
    }
    tables = {}
    for dimension in EXPECTED_TABLES:
        rows = api.get("/api/v1/stats/", {"kind": dimension, **span}).json()["rows"]
        tables[dimension] = [
            (r["key"], r["hits"], r["anonymous_visitors"], r["identified_visitors"]) for r in rows
        ]
    assert tables == EXPECTED_TABLES

    # The admin's reports page, over the same range: the same numbers.
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    html = client.get(reverse("admin:reports"), span).content.decode()
    for figure, value in EXPECTED_PAGE.items():
        assert _number(html, f"page-{figure}") == str(value), figure
    for figure in (
        "browsers",
        "granted",
        "refused",
        "objected",
        "anonymous_visitors",
        "identified_visitors",
        "visitors",
    ):
        assert _number(html, f"consent-{figure}") == str(EXPECTED_CONSENT[figure]), figure
    assert _number(html, "consent-rate") == "40.0 %"
    assert _number(html, "total-hits") == "3"
    assert _number(html, "total-submissions") == "2"
    assert _number(html, "email-sent") == "2"
    assert _number(html, "email-human_opens") == "2"
    assert _number(html, "email-machine_opens") == "1"
    assert _number(html, "email-clicks") == "1"
    for dimension, rows in EXPECTED_TABLES.items():
        assert _table(html, dimension) == rows, dimension
