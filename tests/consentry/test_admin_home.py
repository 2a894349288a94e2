"""The admin home is a dashboard: today's and the week's figures as the reports count them,
the consent rate, the recent sends, the pipeline's health as /healthz reports it, and quick
links; then the apps, authentication and tokens last. "View site" and the favicon answer."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from html import unescape

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.staticfiles import finders
from django.core import mail
from django.test import override_settings
from django.urls import reverse

from consent.services import consent_grant
from consentry.kinds import kind_get, kind_register, kind_unregister
from consentry.management.commands.bootstrap import demo_load
from contacts.services import contact_upsert
from emails.models import EmailSend, Recipient
from emails.services import email_send, recipients_deliver
from focus.models import FocusEvent, FocusItem
from forms.models import Submission
from tests.support.emailing import email_make
from tests.support.forming import form_make
from tests.support.tracking import CHROME, consent, send
from tracker.enqueue import event_enqueue
from tracker.reports import today_utc
from tracker.rollups import rollup_day
from tracker.store import events_store

pytestmark = pytest.mark.django_db
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0"
APPLE_PROXY = "Mozilla/5.0"  # Apple Mail Privacy Protection fetches every image
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(autouse=True)
def embedded(request):
    """The embedded default (every event stored at once), but for the tests about Redis."""
    if "redis_client" in request.fixturenames:
        yield
        return
    with override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=1000):
        yield


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return client


def figures(html: str) -> dict[str, tuple[str, str]]:
    """Every figure of the home as shown: key -> (today, last 7 days)."""
    rows = re.findall(
        r'data-figure="([\w.]+)">\s*<th scope="row">[^<]*</th>\s*'
        r'<td class="n today">([^<]*)</td>\s*<td class="n week">([^<]*)</td>',
        html,
    )
    return {key: (today, week) for key, today, week in rows}


def shown(html: str, id_: str) -> str:
    match = re.search(rf'id="{id_}"[^>]*>(.*?)</(?:dd|p|td)>', html, re.S)
    assert match, id_
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def home(client) -> str:
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    text: str = response.content.decode()
    return text


def at(day: dt.date, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def page_event(day: dt.date, visitor: str) -> dict[str, object]:
    return {
        "id": str(uuid.uuid4()),
        "ts": at(day).timestamp(),
        "site": "http://testserver",
        "path": "/pricing",
        "v": visitor,
    }


def focus_href(client, item: FocusItem) -> str:
    script = client.get(f"/focus/{item.pk}.js").content.decode()
    href = re.search(r'"href": ?"([^"]+)"', script)
    assert href, script
    return href.group(1).replace("http://127.0.0.1:8000", "")


def submit(client, form, **fields):
    return client.post(
        f"/form/submit?formId={form.pk}",
        {"email": "someone@example.com", **fields},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )


def test_an_empty_home_shows_zeros_and_a_dash_for_the_rate_no_one_chose(boss):
    html = home(boss)
    shownfigures = figures(html)
    assert shownfigures["page.anonymous_hits"] == ("0", "0")
    assert shownfigures["email.sent"] == ("0", "0")
    assert shownfigures["consent.rate"] == ("—", "—")
    assert "No email has been sent yet." in html


def test_a_report_no_kind_registers_is_a_dash_not_a_zero(boss):
    focus = kind_get("focus")
    assert focus is not None
    kind_unregister("focus")
    try:
        shownfigures = figures(home(boss))
    finally:
        kind_register(focus)
    assert shownfigures["focus.views"] == ("—", "—")
    assert shownfigures["form.submissions"] == ("0", "0")


def test_the_figures_are_those_of_a_scripted_day_and_week(boss, client, django_user_model):
    """Everything made through the endpoints and services a visitor, an operator and the
    pipeline use; a few rows are then moved to earlier days (or stored with an earlier time)
    to fill the week."""
    today = today_utc()
    three_days_ago, a_week_ago = today - dt.timedelta(days=3), today - dt.timedelta(days=7)
    from django.test import Client

    # Page hits today: two anonymous visitors (three hits), one identified (two hits), a bot.
    first, second, known, bot = Client(), Client(), Client(), Client()
    # The operator's own browser (`client`, signed in) counts in no figure: a reader's does.
    reader = Client()
    send(first, REMOTE_ADDR="198.51.100.7")
    send(first, REMOTE_ADDR="198.51.100.7", page_url="http://testserver/")
    send(second, REMOTE_ADDR="203.0.113.9")
    consent(known, "grant")
    send(known, REMOTE_ADDR="192.0.2.1")
    send(known, REMOTE_ADDR="192.0.2.1", page_url="http://testserver/")
    send(bot, REMOTE_ADDR="192.0.2.200", headers={"User-Agent": GOOGLEBOT})
    # Earlier: one anonymous visitor three days ago; one eight days ago, outside the week.
    events_store([page_event(three_days_ago, "earlier"), page_event(a_week_ago, "too-early")])
    rollup_day(day=three_days_ago)
    rollup_day(day=a_week_ago)

    # Consent: besides `known`'s grant, a browser refuses and a form's box grants.
    consent(Client(), "revoke")

    # Forms: a ticked box on a form that may remember the browser (identified), a plain one;
    # one three days ago and one eight days ago.
    form = form_make(set_cookie_on_submission=True)
    assert submit(Client(), form, email="ticked@example.com", track="1").status_code == 200
    for address in ("plain@example.com", "earlier@example.com", "too-early@example.com"):
        assert submit(Client(), form, email=address).status_code == 200
    Submission.objects.filter(contact__email="earlier@example.com").update(
        created_at=at(three_days_ago)
    )
    Submission.objects.filter(contact__email="too-early@example.com").update(
        created_at=at(a_week_ago)
    )

    # Focus: four views (one moved to three days ago), one conversion through the button.
    item = FocusItem.objects.create(
        name="Sale bar",
        headline="Autumn sale",
        button_label="Shop now",
        button_url="https://shop.example.com/sale",
    )
    for _ in range(4):
        response = reader.get(f"/focus/{item.pk}/viewpixel.gif", headers={"User-Agent": CHROME})
        assert response.status_code == 200
    earliest = FocusEvent.objects.filter(kind="view").order_by("id").first()
    assert earliest is not None
    FocusEvent.objects.filter(pk=earliest.pk).update(created_at=at(three_days_ago))
    assert reader.get(focus_href(reader, item), headers={"User-Agent": CHROME}).status_code == 302

    # Email: an older send three days ago to one contact; today's to three, one without
    # email consent (skipped). One human open and one by Apple's proxy; one click.
    yes = contact_upsert(email="yes@example.com", first_name="Yan")
    plain = contact_upsert(email="plain-mail@example.com", first_name="Pia")
    none = contact_upsert(email="no@example.com", first_name="Noa")
    consent_grant(contact=yes, source="form")
    for contact in (yes, plain):
        consent_grant(contact=contact, purpose="email", source="form")
    older = email_send(email=email_make(name="Spring news"), contacts=[plain])
    recipients_deliver(recipient_ids=list(older.recipients.values_list("id", flat=True)))
    EmailSend.objects.filter(pk=older.pk).update(created_at=at(three_days_ago))
    Recipient.objects.filter(send=older).update(sent_at=at(three_days_ago))
    mail.outbox.clear()
    autumn = email_send(email=email_make(name="Autumn sale"), contacts=[yes, plain, none])
    recipients_deliver(recipient_ids=list(autumn.recipients.values_list("id", flat=True)))
    messages = {m.to[0]: m.alternatives[0][0] for m in mail.outbox}
    assert set(messages) == {"yes@example.com", "plain-mail@example.com"}
    img = r'<img src="http://127\.0\.0\.1:8000(/email/[^"]+\.gif)"'
    pixel = re.search(img, messages["yes@example.com"])
    shared = re.search(img, messages["plain-mail@example.com"])
    link = re.search(r'href="http://127\.0\.0\.1:8000(/r/[^"]+)"', messages["yes@example.com"])
    assert pixel
    assert shared
    assert link
    assert reader.get(pixel.group(1), headers={"User-Agent": THUNDERBIRD}).status_code == 200
    assert reader.get(shared.group(1), headers={"User-Agent": APPLE_PROXY}).status_code == 200
    click = reader.get(unescape(link.group(1)), headers={"User-Agent": CHROME})
    assert click.status_code == 302

    html = home(boss)
    assert figures(html) == {
        "page.anonymous_hits": ("3", "4"),
        "page.identified_hits": ("2", "2"),
        "page.anonymous_visitors": ("2", "3"),
        "page.identified_visitors": ("1", "1"),
        "form.submissions": ("2", "3"),
        "form.identified_submissions": ("1", "1"),
        "focus.views": ("3", "4"),
        "focus.conversions": ("1", "1"),
        "email.sent": ("2", "3"),
        "email.human_opens": ("1", "1"),
        "email.clicks": ("1", "1"),
        # Three browsers chose (two script commands, one form box), two of them granted.
        "consent.rate": ("67 %", "67 %"),
    }

    # The recent sends, newest first, each recipient counted by what became of them.
    sends = re.findall(
        r'<tr data-send="\d+">\s*<td class="email">(?:<a [^>]*>)?([^<]*)(?:</a>)?'
        r'<span class="when">([^<]*)</span></td>\s*'
        r'<td class="recipients"><span class="count">(?:<a [^>]*>)?(\d+)(?:</a>)? recipients?'
        r'</span><span class="status">([^<]*)</span></td>',
        html,
    )
    assert [(name, count, status) for name, _, count, status in sends] == [
        ("Autumn sale", "3", "2 sent, 1 skipped (no consent)"),
        ("Spring news", "1", "1 sent"),
    ]
    assert sends[1][1] == at(three_days_ago).strftime("%Y-%m-%d %H:%M")


def test_the_health_panel_reads_as_healthz_with_a_dead_letter(boss, client):
    assert event_enqueue({**page_event(today_utc(), "v"), "ts": "soon"}) == "database"
    report = client.get("/healthz").json()
    assert (report["dead_letters"], report["status"]) == (1, "degraded")
    html = home(boss)
    assert shown(html, "health-status").startswith("Degraded")
    assert shown(html, "health-dead-letters") == "1"
    assert 'href="/admin/tracker/deadletter/">1</a>' in html
    assert shown(html, "health-lag") == "0 s"
    assert shown(html, "health-redis") == "embedded"


@override_settings(DRAIN_LAG_DEGRADED_S=60)
def test_the_health_panel_shows_the_drains_lag_and_backlog(boss, redis_client):
    two_minutes_ago = int(time.time() * 1000) - 120_000
    redis_client.xadd("consentry:events", {"e": "1"}, id=f"{two_minutes_ago}-0")
    html = home(boss)
    assert shown(html, "health-status").startswith("Degraded")
    assert 119 <= float(shown(html, "health-lag").removesuffix(" s")) <= 180
    assert shown(html, "health-backlog") == "1"
    assert shown(html, "health-dead-letters") == "0"
    assert shown(html, "health-redis") == "ok"


def test_the_apps_come_after_the_dashboard_with_authentication_and_tokens_last(boss):
    response = boss.get(reverse("admin:index"))
    labels = [app["app_label"] for app in response.context["app_list"]]
    assert labels[-2:] == ["auth", "authtoken"]
    html = response.content.decode()
    assert html.index('id="home"') < html.index("app-forms") < html.index("app-auth ")


def test_quick_links_lead_to_pages_that_answer(boss):
    html = home(boss)
    links = re.findall(r'<li><a href="([^"]+)">([^<]+)</a></li>', html.split('id="quick-links"')[1])
    assert [label for _, label in links] == [
        "New form",
        "New focus item",
        "New email",
        "Reports",
        "Privacy settings",
        "Cookie declaration",
        "Dead letters",
        "API docs",
    ]
    for url, label in links:
        assert boss.get(url).status_code == 200, label


def test_a_staff_member_without_permissions_sees_figures_but_no_sends_or_builders(client):
    user = User.objects.create_user("clerk", "clerk@example.com", "pw", is_staff=True)
    client.force_login(user)
    html = home(client)
    assert figures(html)["form.submissions"] == ("0", "0")
    assert 'id="sends"' not in html
    assert "New form" not in html
    user.user_permissions.add(Permission.objects.get(codename="view_emailsend"))
    client.force_login(User.objects.get(pk=user.pk))
    assert 'id="sends"' in home(client)


def test_view_site_leads_to_the_demo_once_it_is_loaded_and_is_hidden_otherwise(boss):
    assert "View site" not in home(boss)
    demo_load()
    html = home(boss)
    link = re.search(r'<a href="([^"]+)">View site</a>', html)
    assert link
    assert boss.get(link.group(1)).status_code == 200


def test_the_favicon_is_served_and_linked_from_every_admin_page(boss, client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert icon.content.startswith(b"<svg")
    assert client.get("/favicon.ico", headers={"If-None-Match": icon["ETag"]}).status_code == 304
    assert finders.find("consentry/favicon.svg")
    for path in (reverse("admin:index"), reverse("admin:forms_form_changelist")):
        assert (
            '<link rel="icon" href="/static/consentry/favicon.svg"'
            in boss.get(path).content.decode()
        )
