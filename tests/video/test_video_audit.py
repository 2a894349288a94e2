"""The cookie audit's gated-video surface: a host page of another origin with an HTML5 player
and /video/gate.js, whose video the operator gated with a form, played up to the form, the
form submitted and the video paused (each pause reported to /video/hit), in every tracking
mode and every state a browser starts in: it keeps to the cookie rules with the real gate, and
is caught when the gate permits everything."""

from __future__ import annotations

import pytest

from audit.rules import STATES, Mode, State
from tests.audit.test_cookie_audit import broken_gate as broken_gate
from tests.support.audit import surfaces_audit
from video.models import VideoHit

pytestmark = [pytest.mark.browser]


def _audit(live_server, settings, tmp_path, *, modes, states):
    return surfaces_audit(
        live_server, settings, tmp_path, surfaces=["video"], modes=modes, states=states
    )


def test_the_video_surface_passes_in_every_mode_and_state(live_server, settings, tmp_path):
    result = _audit(live_server, settings, tmp_path, modes=tuple(Mode), states=STATES)
    assert [(s.id, s.error) for s in result.errors] == []
    assert result.findings == []
    assert len(result.scenarios) == len(Mode) * len(STATES)
    # A grant lets the play be remembered on the device; without one nothing is kept.
    granted = next(s for s in result.scenarios if s.id == "consent/granted/video")
    assert {c.name for c in granted.cookies} == {"consentry_consent", "consentry_device"}
    assert any("consentry_device at video hit /video/hit" in st.writes for st in granted.steps)
    none = next(s for s in result.scenarios if s.id == "consent/none/video")
    assert none.cookies == []
    # The plays really were reported: every mode but off counted at least one (a scenario
    # has been seen to store two plays once; what this checks is that none is missing).
    assert VideoHit.objects.filter(seconds__gte=2).count() >= (len(Mode) - 1) * len(STATES)


def test_against_a_broken_gate_the_video_hit_is_named(broken_gate, live_server, settings, tmp_path):
    result = _audit(live_server, settings, tmp_path, modes=(Mode.CONSENT,), states=[State.NONE])
    assert result.exit_code == 1
    named = {(f.scenario, f.subject, f.place, f.kind) for f in result.findings}
    assert ("consent/none/video", "consentry_device", "video hit /video/hit", "written") in named
