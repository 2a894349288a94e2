"""/video/hit takes the payload Mautic's gated-video player posts every few seconds (guid, url,
duration, total_watched; PageBundle's BuildJsSubscriber::onBuildJsForVideo and
VideoModel::hitVideo) and counts a play as a counted kind: anonymously without a permit, tied
to a person only with one, each play one row whose time watched only grows."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import urlencode

import pytest
from django.test import override_settings

from consent import registry
from consentry.kinds import ERASED_DEVICE
from contacts.models import Contact, Device
from contacts.rights import contact_erase, contact_export
from contacts.selectors import contact_activity
from contacts.services import device_link
from tests.support.browsers import consent_cookie
from tests.support.forming import form_make
from tests.support.tracking import CHROME, live
from tracker.drain import events_drain
from tracker.models import DeadLetter
from tracker.reports import stats_daily
from video.models import Video, VideoHit

pytestmark = pytest.mark.django_db

SITE = "http://testserver"
VIDEO = "https://cdn.example.com/videos/intro.mp4"


@pytest.fixture
def written_through():
    with override_settings(REDIS_URL=None):
        yield


def mautic_hit(client, *, method="post", origin=SITE, headers=None, **fields):
    """What Mautic's player sends: MauticJS.makeCORSRequest('POST', '…video/hit', view), a
    form-encoded body with X-Requested-With, and what appendTrackedContact adds to it."""
    view = {
        "guid": fields.pop("guid", str(uuid.uuid4())),
        "locked": "false",
        "duration": "61.44",
        "url": VIDEO,
        "total_watched": "12.3",
        "mtc_id": "17",  # Mautic's stored contact id: never an identity here
        **fields,
    }
    sent = {
        "HTTP_USER_AGENT": CHROME,
        "HTTP_X_REQUESTED_WITH": "XMLHttpRequest",
        **({"HTTP_ORIGIN": origin} if origin else {}),
        **(headers or {}),
    }
    if method == "get":
        return client.get(f"/video/hit?{urlencode(view)}", **sent)
    return client.post(
        "/video/hit", urlencode(view), content_type="application/x-www-form-urlencoded", **sent
    )


def test_mautics_payload_counts_a_play_anonymously_and_writes_no_cookie(client, written_through):
    response = mautic_hit(client, url=f"{VIDEO}?token=secret#t=3")
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "counted": True}
    assert response["Access-Control-Allow-Origin"] == SITE
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert live(response) == {}
    hit = VideoHit.objects.get()
    # The CDN's signed query never reaches the database.
    assert (hit.url, hit.seconds, hit.duration) == (VIDEO, 12, 61)
    assert (hit.device, hit.contact, hit.machine) == (None, None, False)


def test_every_report_of_a_play_is_one_row_whose_time_watched_only_grows(client, written_through):
    play = str(uuid.uuid4())
    for watched in ("3.1", "9.7", "6.0", "15.2"):  # the 6.0 arrived late
        assert mautic_hit(client, guid=play, total_watched=watched).status_code == 200
    assert list(VideoHit.objects.values_list("seconds", flat=True)) == [15]
    mautic_hit(client, total_watched="4")  # another play of the same video
    assert sorted(VideoHit.objects.values_list("seconds", flat=True)) == [4, 15]


def test_a_get_as_mautics_route_accepts_counts_too(client, written_through):
    assert mautic_hit(client, method="get", origin=None, headers={"HTTP_REFERER": f"{SITE}/a"})
    assert VideoHit.objects.count() == 1


def test_a_duration_the_player_does_not_know_yet_is_filled_in_later(client, written_through):
    play = str(uuid.uuid4())
    assert mautic_hit(client, guid=play, duration="NaN").status_code == 200
    assert VideoHit.objects.get().duration is None
    mautic_hit(client, guid=play, duration="Infinity", total_watched="20")
    mautic_hit(client, guid=play, duration="300.2", total_watched="30")
    assert VideoHit.objects.values_list("duration", "seconds").get() == (300, 30)


def test_a_play_of_a_configured_video_counts_for_it(client, written_through):
    video = Video.objects.create(name="Intro", url=VIDEO)
    mautic_hit(client)
    assert VideoHit.objects.get().video == video


def test_with_a_grant_the_play_is_identified_and_the_gate_writes_the_device(
    client, written_through
):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = mautic_hit(client)
    assert registry.DEVICE.name in live(response)
    assert VideoHit.objects.get().device is not None


def test_a_refusal_keeps_the_play_anonymous(client, written_through):
    client.cookies[registry.CONSENT.name] = consent_cookie("r")
    response = mautic_hit(client)
    assert response.json()["counted"] is True
    assert live(response) == {}
    assert VideoHit.objects.get().device is None


def test_with_tracking_off_nothing_is_counted_yet_the_player_is_answered(client, written_through):
    with override_settings(TRACKING_MODE="off"):
        response = mautic_hit(client)
    assert response.json() == {"success": True, "counted": False}
    assert not VideoHit.objects.exists()


def test_a_crawlers_play_is_a_machines(client, written_through):
    mautic_hit(
        client, headers={"HTTP_USER_AGENT": "Googlebot/2.1 (+http://www.google.com/bot.html)"}
    )
    assert VideoHit.objects.get().machine is True


def test_mautics_preflight_is_answered_for_a_tracked_site(client):
    response = client.options("/video/hit", HTTP_ORIGIN=SITE)
    assert response.status_code == 204
    assert "X-Requested-With" in response["Access-Control-Allow-Headers"]
    assert response["Access-Control-Allow-Origin"] == SITE


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"guid": "1"}, 400, "invalid_guid"),
        ({"guid": "<script>"}, 400, "invalid_guid"),
        ({"url": ""}, 400, "invalid_url"),
        ({"url": "javascript:alert(1)"}, 400, "invalid_url"),
        ({"url": "blob:https://site.example/0f1e"}, 400, "invalid_url"),
        ({"url": "https://cdn.example.com/" + "a" * 3000}, 400, "invalid_url"),
        ({"total_watched": ""}, 400, "invalid_total_watched"),
        ({"total_watched": "NaN"}, 400, "invalid_total_watched"),
        ({"total_watched": "-1"}, 400, "invalid_total_watched"),
        ({"total_watched": "1e308"}, 400, "invalid_total_watched"),
        ({"total_watched": "ten"}, 400, "invalid_total_watched"),
        ({"duration": "-5"}, 400, "invalid_duration"),
        ({"duration": "9" * 400}, 400, "invalid_duration"),
    ],
)
def test_hostile_values_are_refused_by_name_and_store_nothing(
    client, written_through, fields, status, code
):
    response = mautic_hit(client, **fields)
    assert response.status_code == status, response.content
    assert response.json()["error"] == code
    assert not VideoHit.objects.exists()
    assert not DeadLetter.objects.exists()


def test_control_characters_stop_at_the_text_edge(client, written_through):
    response = mautic_hit(client, url=f"{VIDEO}\x00")
    assert response.status_code == 400
    assert not VideoHit.objects.exists()


@pytest.mark.parametrize("origin", ["https://evil.example", "null"])
def test_a_site_that_is_not_tracked_is_refused(client, written_through, origin):
    response = mautic_hit(client, origin=origin)
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert not VideoHit.objects.exists()


def test_a_body_not_form_or_json_is_refused(client, written_through):
    response = client.post(
        "/video/hit", b"<xml/>", content_type="application/xml", HTTP_ORIGIN=SITE
    )
    assert response.status_code == 415


@pytest.mark.postgres
def test_a_play_goes_through_the_pipeline_and_is_reported_exported_linked_and_erased(
    client, redis_client
):
    video = Video.objects.create(name="Intro", url=VIDEO)
    ada = Contact.objects.create(email="ada@example.com")
    mautic_hit(client, total_watched="40")  # anonymous
    mautic_hit(client, total_watched="5", headers={"HTTP_USER_AGENT": "Googlebot/2.1"})
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    play = str(uuid.uuid4())
    first = mautic_hit(client, guid=play, total_watched="10")
    client.cookies[registry.DEVICE.name] = first.cookies[registry.DEVICE.name].value
    mautic_hit(client, guid=play, total_watched="25")
    assert not VideoHit.objects.exists()  # on the stream, not yet stored
    events_drain()
    assert VideoHit.objects.count() == 3
    assert not DeadLetter.objects.exists()

    today = dt.datetime.now(tz=dt.UTC).date()
    (day,) = stats_daily(kind="video", start=today, end=today, object_id=video.pk)
    assert (day["plays"], day["seconds_watched"], day["identified_plays"]) == (2, 65, 1)

    device = VideoHit.objects.get(device__isnull=False).device
    assert isinstance(device, Device)
    device_link(device=device, contact=ada)
    document = contact_export(contact=ada)
    assert [(row["url"], row["seconds"]) for row in document["video_hits"]] == [(VIDEO, 25)]
    assert [i["type"] for i in contact_activity(contact=ada)].count("video_hit") == 1

    contact_erase(contact=ada)
    assert VideoHit.objects.count() == 3
    assert not VideoHit.objects.filter(contact__isnull=False).exists()
    # Ada's play now names only the stand-in every erased person shares; the report is as
    # it was.
    held = VideoHit.objects.exclude(device=None).values_list("device__public_id", flat=True)
    assert set(held) == {ERASED_DEVICE}
    (day,) = stats_daily(kind="video", start=today, end=today)
    assert (day["plays"], day["seconds_watched"], day["identified_plays"]) == (2, 65, 1)


def test_the_gate_of_a_configured_video_is_given_to_any_page(client):
    form = form_make()
    Video.objects.create(name="Intro", url=VIDEO, form=form, gate_seconds=12)
    Video.objects.create(name="Draft", url=f"{VIDEO}.draft", form=form, published=False)
    response = client.get("/video/gate", {"url": f"{VIDEO}?sig=abc"}, HTTP_ORIGIN=SITE)
    gate = response.json()["gate"]
    assert (gate["form"], gate["seconds"]) == (form.pk, 12)
    assert gate["script"].endswith(f"/form/generate.js?id={form.pk}")
    assert response["Access-Control-Allow-Origin"] == "*"
    assert live(response) == {}
    assert client.get("/video/gate", {"url": f"{VIDEO}.draft"}).json() == {"gate": None}
    assert client.get("/video/gate", {"url": "nonsense"}).json() == {"gate": None}


def test_the_player_script_is_static_and_writes_nothing(client):
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    response = client.get("/video/gate.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert live(response) == {}
    body = response.content.decode()
    assert "/video/hit" in body
    # No cookie, no storage, no eval in the script itself.
    for forbidden in ("document.cookie", "localStorage", "sessionStorage", "eval("):
        assert forbidden not in body
    again = client.get("/video/gate.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
