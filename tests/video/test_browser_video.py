"""Gated video in a real Chromium, on a host page of another origin of the same site.

The page carries Mautic's gated-video markup (tests/video/mautic_gatedvideo.html, verbatim
from Mautic) or a plain <video> the operator configured by its address, and the product's
player script (/video/gate.js). At the gate's second the form shows over the player and the
video pauses; the submission is stored by the forms endpoint and the video plays on; every
play is reported to /video/hit and counted. Nothing is written on the device before consent.

The video is a few seconds of silence in a WAV file, generated here and served from a CDN
address by Chromium's own request interception: an HTML5 <video> element plays it like any
other source, and no codec or fixture file is needed.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect

from forms.models import Submission
from tests.support.browser import (
    CONSENT,
    TIMEOUT_MS,
    HostSite,
    Person,
    browsing,
    eventually,
    host_page,
)
from tests.support.browser import chromium as chromium
from tests.support.browser import site as site
from tests.support.browsers import consent_cookie
from tests.support.forming import form_make
from video.models import Video, VideoHit

pytestmark = [pytest.mark.browser]

VIDEO = "https://cdn.example.com/videos/intro.wav"
MAUTIC_SLOT = (Path(__file__).parent / "mautic_gatedvideo.html").read_text()
SUCCESS = "Thank you, we received your message."


def silence(seconds: int) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(1)
        audio.setframerate(8000)
        audio.writeframes(b"\x80" * 8000 * seconds)
    return out.getvalue()


class Viewer(Person):
    def watch(self, site: HostSite, body: str) -> None:
        def cdn(route: Route) -> None:
            route.fulfill(status=200, content_type="audio/wav", body=silence(8))

        self.page.route(VIDEO, cdn)
        script = f'<script src="{site.tracker}/video/gate.js" async></script>'
        path = site.serve("/watch", host_page("Our product", body=body + script))
        self.page.goto(site.origin + path)

    def play(self) -> None:
        video = self.page.locator("video")
        expect(video).to_have_js_property("readyState", 4, timeout=TIMEOUT_MS)
        video.evaluate("(v) => { v.muted = true; return v.play(); }")

    def time(self) -> float:
        return float(self.page.locator("video").evaluate("(v) => v.currentTime"))

    def paused(self) -> bool:
        return bool(self.page.locator("video").evaluate("(v) => v.paused"))

    def keeps_nothing(self) -> None:
        assert self.cookies() == {} or set(self.cookies()) == {CONSENT}
        stored = self.storage()
        assert (stored["cookie"], stored["local"], stored["session"]) == ("", 0, 0)


@pytest.fixture
def viewer(chromium: Browser, site: HostSite) -> Iterator[Viewer]:
    with browsing(Viewer.start(chromium, tracker=site.tracker)) as person:
        yield person


def mautic_markup(*, form_id: int, seconds: int) -> str:
    """Mautic's slot as a site owner fills it in, with an HTML5 source instead of YouTube."""
    filled = (
        MAUTIC_SLOT.replace('data-form-id=""', f'data-form-id="{form_id}"')
        .replace('data-gate-time=""', f'data-gate-time="{seconds}"')
        .replace('type="video/youtube" src=""', f'type="audio/wav" src="{VIDEO}"')
    )
    assert VIDEO in filled
    assert f'data-form-id="{form_id}"' in filled
    return filled


def test_mautics_gated_video_shows_the_form_at_its_second_and_plays_on_after_it(viewer, site):
    form = form_make()
    viewer.watch(site, mautic_markup(form_id=form.pk, seconds=2))
    viewer.play()

    gate = viewer.page.locator(".consentry-video-gate form.consentry-form")
    expect(gate).to_be_visible(timeout=TIMEOUT_MS)
    viewer.until(viewer.paused, "the video pauses under the form")
    assert 2 <= viewer.time() < 3.5
    viewer.keeps_nothing()  # nothing on the device before consent

    gate.locator("[name=email]").fill("ada@example.com")
    gate.locator("button[type=submit]").click()
    eventually(lambda: Submission.objects.filter(form=form).exists(), "the submission is stored")
    expect(gate.locator(".consentry-message")).to_have_text(SUCCESS)
    # The video plays on from where it paused, the form gone.
    viewer.until(lambda: not viewer.paused() and viewer.time() > 3.2, "the video plays on")
    expect(viewer.page.locator(".consentry-video-gate")).to_have_count(0)
    # The play is counted, anonymously: the box for tracking was not ticked.
    eventually(
        lambda: VideoHit.objects.filter(url=VIDEO, seconds__gte=3).exists(),
        "the play is reported with the time watched",
        timeout=12,
    )
    hit = VideoHit.objects.get()
    assert (hit.device, hit.contact, hit.duration) == (None, None, 8)
    viewer.keeps_nothing()


def test_a_video_configured_by_its_address_is_gated_and_a_granted_play_is_identified(viewer, site):
    form = form_make()
    Video.objects.create(name="Intro", url=VIDEO, form=form, gate_seconds=1)
    viewer.carry(**{CONSENT: consent_cookie("g")})
    viewer.watch(site, f'<video width="640" height="360" src="{VIDEO}"></video>')
    viewer.play()
    gate = viewer.page.locator(".consentry-video-gate form.consentry-form")
    expect(gate).to_be_visible(timeout=TIMEOUT_MS)
    viewer.until(viewer.paused, "the video pauses under the form")
    # Playing again does not get past the form.
    viewer.page.locator("video").evaluate("(v) => v.play()")
    viewer.until(viewer.paused, "the video stays paused under the form")
    gate.locator("[name=email]").fill("ada@example.com")
    gate.locator("button[type=submit]").click()
    viewer.until(lambda: viewer.time() > 2.2, "the video plays on")
    eventually(
        lambda: VideoHit.objects.filter(device__isnull=False, seconds__gte=2).exists(),
        "the play is reported and tied to the device the gate gave",
        timeout=12,
    )
    assert VideoHit.objects.get().video is not None
