"""Tracked sites: kept in the admin, seeded by TRACKED_SITES, read on every hit from a copy
each process keeps (no query per hit), and an untracked site told why in an answer its page
can read, with the refused origins listed for the operator."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse

from consentry.env import origin_normalise
from consentry.models import RefusedOrigin, TrackedSite
from consentry.sites import (
    REFUSED_COUNT,
    REFUSED_KEEP,
    REFUSED_SEEN,
    SITES_CHECK_S,
    SITES_RELOAD_S,
    site_add,
    site_refusal_note,
    site_tracked,
    sites_refused,
    sites_switch,
)
from forms.models import Form
from tests.support.tracking import live, send
from tracker.models import AnonymousHit, PageHit

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"
NEW = "https://new.example.com"
CHANGELIST = "/admin/consentry/trackedsite/"
NOT_TRACKED = {
    "error": "site_not_tracked",
    "origin": NEW,
    "hint": f"{NEW} is not tracked by this Consentry server: add it under Tracked sites in "
    "the admin",
    "consent": "none",
    "counted": False,
    "reason": "site_not_tracked",
}


def hit(client, site, **kwargs):
    """A pageview from a page of `site`, as the script sends it from there."""
    return send(client, page_url=f"{site}/pricing", headers={"Origin": site}, **kwargs)


@pytest.fixture
def embedded() -> Iterator[None]:
    """The embedded default: no Redis; hits and refusals go to the database."""
    with override_settings(REDIS_URL=None):
        yield


@pytest.fixture
def staff() -> Client:
    """The operator, in a browser of their own: their own hits would count nowhere."""
    operator = Client()
    operator.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    return operator


@pytest.mark.parametrize(
    ("written", "origin"),
    [
        ("https://Shop.Example.com", SHOP),
        ("https://shop.example.com:443/", SHOP),
        ("http://shop.example.com:80", "http://shop.example.com"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_an_origin_is_read_as_a_browser_sends_it(written, origin):
    assert origin_normalise(written) == origin


@pytest.mark.parametrize(
    "written",
    [
        "shop.example.com",
        "ftp://shop.example.com",
        "https://shop.example.com/blog",
        "null",
        "https://user@shop.example.com",
        "https://<b>.example",
        "https://bücher.example",
    ],
)
def test_what_is_not_an_origin_is_refused(written):
    with pytest.raises(ValueError, match="origin"):
        origin_normalise(written)


def test_an_untracked_site_is_told_why_in_an_answer_its_page_can_read(client, embedded, caplog):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = hit(client, NEW)
    assert response.status_code == 403
    assert response.json() == NOT_TRACKED
    assert response["Access-Control-Allow-Origin"] == NEW
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert live(response) == {}
    assert not AnonymousHit.objects.exists()
    assert not PageHit.objects.exists()
    # The log names the site and the reason, once, instead of a bare "Forbidden".
    lines = [r.getMessage() for r in caplog.records if r.name == "django.request"]
    assert lines == [
        f"Site not tracked: {NEW} refused at /mtc/event (add it under Tracked sites in the admin)"
    ]


@override_settings(TRACKED_SITES=[SHOP])
def test_a_tracked_page_that_reports_an_untracked_site_is_refused_the_same_way(client, embedded):
    response = send(client, page_url=f"{NEW}/pricing", headers={"Origin": SHOP})
    assert response.status_code == 403
    assert response.json() == NOT_TRACKED
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert not AnonymousHit.objects.exists()


def test_the_pixel_of_an_untracked_site_says_why_in_a_header(client, embedded):
    response = client.get("/mtracking.gif", {"page_url": f"{NEW}/a"})
    assert response.status_code == 400
    assert response["X-Consentry-Error"].startswith(f"site_not_tracked: {NEW} is not tracked")
    assert not AnonymousHit.objects.exists()
    assert [r.origin for r in sites_refused()] == [NEW]


def test_a_site_added_in_the_admin_is_counted_from_its_next_hit(client, staff, embedded):
    assert hit(client, NEW).status_code == 403
    added = staff.post(
        f"{CHANGELIST}add/",
        {"origin": " HTTPS://New.Example.com:443/ ", "label": "The new shop", "active": "on"},
    )
    assert added.status_code == 302
    assert TrackedSite.objects.get().origin == NEW
    response = hit(client, NEW)
    assert response.status_code == 200
    assert response.json()["counted"] is True
    assert response["Access-Control-Allow-Origin"] == NEW
    assert AnonymousHit.objects.get().site == NEW


def test_the_admin_refuses_an_origin_with_a_path_saying_why(staff):
    page = staff.post(f"{CHANGELIST}add/", {"origin": f"{NEW}/blog", "active": "on"})
    assert page.status_code == 200
    assert "must be an origin, without a path" in page.content.decode()
    assert not TrackedSite.objects.exists()


def test_a_deactivated_site_is_refused_even_while_TRACKED_SITES_names_it(
    client, staff, embedded, settings
):
    settings.TRACKED_SITES = [SHOP]
    assert hit(client, SHOP).status_code == 200
    # Opening the list writes TRACKED_SITES' origins into it, marked as named there.
    page = staff.get(CHANGELIST)
    assert SHOP in page.content.decode()
    site = TrackedSite.objects.get(origin=SHOP)
    assert site.active
    staff.post(CHANGELIST, {"action": "deactivate", "_selected_action": [site.pk]})
    assert hit(client, SHOP).status_code == 403
    # Deleting it would not stop its tracking: the admin offers to deactivate it instead.
    assert staff.get(f"{CHANGELIST}{site.pk}/delete/").status_code == 403
    staff.get(CHANGELIST)
    assert not TrackedSite.objects.get(origin=SHOP).active, "a seed never switches itself on"
    staff.post(CHANGELIST, {"action": "activate", "_selected_action": [site.pk]})
    assert hit(client, SHOP).status_code == 200


def test_a_site_the_admin_added_can_be_deleted_and_is_refused_after(client, staff, embedded):
    site = site_add(origin=NEW)
    assert hit(client, NEW).status_code == 200
    assert staff.post(f"{CHANGELIST}{site.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not TrackedSite.objects.exists()
    assert hit(client, NEW).status_code == 403


@override_settings(TRACKED_SITES=[SHOP, NEW])
def test_bootstrap_lists_the_sites_TRACKED_SITES_names_once(capsys):
    call_command("bootstrap")
    assert f"added {SHOP} from TRACKED_SITES" in capsys.readouterr().out
    TrackedSite.objects.filter(origin=NEW).update(active=False)
    call_command("bootstrap")
    assert "TRACKED_SITES" not in capsys.readouterr().out
    assert dict(TrackedSite.objects.values_list("origin", "active")) == {SHOP: True, NEW: False}
    assert not site_tracked(origin=NEW)


def test_the_privacy_settings_page_names_the_sites_the_admin_tracks(staff, settings):
    settings.TRACKED_SITES = [SHOP]
    site_add(origin=NEW)
    html = staff.get(reverse("admin:privacy-settings")).content.decode()
    assert f"{NEW}, {SHOP}" in html


def test_a_form_may_be_framed_by_a_site_added_in_the_admin(client):
    form = Form.objects.create(name="Contact")
    assert NEW not in client.get(f"/form/{form.pk}")["Content-Security-Policy"]
    site_add(origin=NEW)
    assert NEW in client.get(f"/form/{form.pk}")["Content-Security-Policy"]


def test_a_hit_asks_the_database_nothing_about_sites(client, redis_client, settings):
    settings.TRACKED_SITES = [SHOP]
    site_add(origin=NEW)
    assert site_tracked(origin=NEW)  # this process reads the table once
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        for _ in range(1000):
            assert site_tracked(origin=NEW)
            assert site_tracked(origin=SHOP)
            assert not site_tracked(origin="https://other.example")
        # A refusal, the log line and the refused list included: Redis holds the list.
        for _ in range(5):
            assert hit(client, "https://other.example").status_code == 403
    assert len(queries) == 0, [q["sql"] for q in queries]


def test_refused_origins_are_listed_with_a_count_and_nothing_about_the_visitor(
    client, staff, redis_client
):
    for address in ("198.51.100.7", "198.51.100.8", "203.0.113.9"):
        hit(client, NEW, REMOTE_ADDR=address)
    hit(client, "https://other.example")
    assert [(r.origin, r.count) for r in sites_refused()] == [
        ("https://other.example", 1),
        (NEW, 3),
    ]
    # Only the origins are kept: no address, agent or page.
    stored = json.dumps(
        {
            "seen": [m.decode() for m in redis_client.zrange(REFUSED_SEEN, 0, -1)],
            "count": {
                k.decode(): v.decode() for k, v in redis_client.hgetall(REFUSED_COUNT).items()
            },
        }
    )
    assert "198.51.100" not in stored
    assert "pricing" not in stored
    assert redis_client.ttl(REFUSED_SEEN) > 0
    html = staff.get(CHANGELIST).content.decode()
    assert f'<tr data-origin="{NEW}">' in html
    assert "Track this site" in html


def test_the_refused_list_keeps_the_latest_origins_only(redis_client):
    for n in range(REFUSED_KEEP + 10):
        site_refusal_note(origin=f"https://site{n}.example")
    refused = sites_refused()
    assert len(refused) == REFUSED_KEEP
    assert refused[0].origin == f"https://site{REFUSED_KEEP + 9}.example"
    assert redis_client.hlen(REFUSED_COUNT) == REFUSED_KEEP


def test_on_the_embedded_default_the_refused_list_is_a_small_table(client, embedded):
    hit(client, NEW)
    hit(client, NEW)
    assert RefusedOrigin.objects.get().count == 2
    for n in range(REFUSED_KEEP + 5):
        site_refusal_note(origin=f"https://site{n}.example")
    assert RefusedOrigin.objects.count() == REFUSED_KEEP
    assert not RefusedOrigin.objects.filter(origin=NEW).exists()


def test_what_is_not_an_origin_is_not_listed(client, embedded):
    client.post(
        "/mtc/event", "{}", content_type="text/plain", headers={"Origin": "https://<b>.example"}
    )
    site_refusal_note(origin="null")
    assert sites_refused() == []


def test_track_this_site_takes_an_origin_from_the_refused_list_to_the_tracked_ones(
    client, staff, embedded
):
    assert hit(client, NEW).status_code == 403
    page = staff.get(CHANGELIST).content.decode()
    assert 'name="origin" value="https://new.example.com"' in page
    done = staff.post(f"{CHANGELIST}track/", {"origin": NEW}, follow=True)
    assert f"Now tracking {NEW}: its next page view counts." in done.content.decode()
    assert sites_refused() == []
    assert hit(client, NEW).status_code == 200
    # A site switched off is switched on again the same way.
    sites_switch(sites=TrackedSite.objects.all(), active=False)
    assert hit(client, NEW).status_code == 403
    staff.post(f"{CHANGELIST}track/", {"origin": NEW})
    assert hit(client, NEW).status_code == 200


def test_track_this_site_needs_the_permission_to_add_sites(client):
    viewer = User.objects.create_user("viewer", is_staff=True)
    client.force_login(viewer)
    assert client.post(f"{CHANGELIST}track/", {"origin": NEW}).status_code == 403
    assert not TrackedSite.objects.exists()


# Another web process: it asks about one origin a hundred times a second, prints each change
# of answer as it sees it, and at the end how many queries it made.
WATCHER = """
import json, sys, time
import django
django.setup()
from django.db import connection
from consentry.sites import site_tracked
queries = []
origin, changes, deadline = sys.argv[1], int(sys.argv[2]), time.monotonic() + 30
answer, polls = None, 0
with connection.execute_wrapper(lambda run, sql, *a: queries.append(sql) or run(sql, *a)):
    while changes >= 0 and time.monotonic() < deadline:
        now = site_tracked(origin=origin)
        polls += 1
        if now != answer:
            print(json.dumps({"at": time.time(), "tracked": now}), flush=True)
            answer, changes = now, changes - 1
        time.sleep(0.01)
print(json.dumps({"polls": polls, "queries": len(queries)}), flush=True)
"""


def watcher_start(*, redis: bool) -> subprocess.Popen[str]:
    db = django_settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consentry.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": (django_settings.REDIS_URL or "") if redis else "",
        "SECRET_KEY": django_settings.SECRET_KEY,
        "TRACKED_SITES": "",
    }
    return subprocess.Popen(
        [sys.executable, "-c", WATCHER, NEW, "2"],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def line(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None
    read: dict[str, Any] = json.loads(process.stdout.readline())
    return read


def watch_a_change(*, redis: bool, delay: float) -> None:
    """Add then deactivate a site here; the other process must answer by each change within
    `delay` seconds, having asked the database only when it reads the table again."""
    watcher = watcher_start(redis=redis)
    try:
        assert line(watcher)["tracked"] is False
        added = time.time()
        site_add(origin=NEW)
        seen = line(watcher)
        assert seen["tracked"] is True
        assert seen["at"] - added < delay
        deactivated = time.time()
        sites_switch(sites=TrackedSite.objects.filter(origin=NEW), active=False)
        seen = line(watcher)
        assert seen["tracked"] is False
        assert seen["at"] - deactivated < delay
        stats = line(watcher)
        seconds = seen["at"] - added
        assert stats["polls"] > 50
        # A read of the table at start, on each change, and every reload: never one per hit.
        assert stats["queries"] <= 3 + seconds / SITES_RELOAD_S * (0 if redis else 1) + 1
    finally:
        watcher.kill()
        watcher.wait()


@pytest.mark.django_db(transaction=True)
def test_with_redis_another_process_answers_by_a_change_within_a_second(redis_client):
    watch_a_change(redis=True, delay=SITES_CHECK_S + 0.5)


@pytest.mark.django_db(transaction=True)
def test_without_redis_another_process_answers_by_a_change_within_five_seconds(settings):
    settings.REDIS_URL = None
    watch_a_change(redis=False, delay=SITES_RELOAD_S + 0.5)


def test_track_this_site_is_a_post_with_its_csrf_token(settings):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(User.objects.create_superuser("boss", "boss@example.com", "pw"))
    assert strict.get(f"{CHANGELIST}track/", {"origin": NEW}).status_code == 405
    assert strict.post(f"{CHANGELIST}track/", {"origin": NEW}).status_code == 403
    assert not TrackedSite.objects.exists()


@override_settings(TRACKED_SITES=[SHOP])
def test_a_view_only_user_reading_the_list_writes_nothing(client):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_trackedsite"))
    client.force_login(viewer)
    site_refusal_note(origin=NEW)
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    assert f'<tr data-origin="{NEW}">' in page.content.decode()
    assert "Track this site" not in page.content.decode()
    assert not TrackedSite.objects.exists()
    assert site_tracked(origin=SHOP)
