"""The cookie audit's consent-banner scenarios in Chromium: Consent Mode through dataLayer, a
TCF v2.2 CMP, and a banner's start-up "no choice yet", on a host page of another origin, against
the real product. With a rule that takes every report as a choice (what the product did before),
the audit names the cookie the start-up report wrote."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from audit.rules import Mode, State
from audit.run import run_audit
from audit.targets import InProcessTarget
from consent import services

pytestmark = [pytest.mark.browser]

BANNERS = ["consent-mode", "tcf", "banner-start"]


def audit_banners(live_server: Any, settings: Any, tmp_path: Path, states: list[State]):
    settings.MEDIA_ROOT = tmp_path / "media"  # the audit's asset, not in ./var/media
    return run_audit(
        InProcessTarget(live_server.url, modes=(Mode.CONSENT,)),
        states=states,
        surfaces=BANNERS,
        problems=[],
    )


def test_the_banner_scenarios_pass_against_the_real_product(live_server, settings, tmp_path):
    result = audit_banners(live_server, settings, tmp_path, [State.NONE, State.GRANTED, State.DNC])
    assert [(s.id, s.error) for s in result.errors] == []
    assert result.findings == []
    played = {s.id for s in result.scenarios}
    assert {"consent/none/consent-mode", "consent/granted/tcf", "consent/dnc/banner-start"} <= (
        played
    )
    tcf = next(s for s in result.scenarios if s.id == "consent/none/tcf")
    # Granted after the click; refused after the rejection; the stored answer changed nothing.
    assert {"granted", "refused"} <= set(tcf.reasons)


def test_a_server_that_takes_every_report_as_a_choice_is_named(
    live_server, settings, tmp_path, monkeypatch
):
    """The one thing broken on purpose: the rule that drops reports which change nothing."""
    monkeypatch.setattr(services, "choice_taken", lambda decision, **_: True)
    result = audit_banners(live_server, settings, tmp_path, [State.NONE])
    named = {(f.scenario, f.subject, f.place, f.kind) for f in result.findings}
    assert ("consent/none/banner-start", "consentry_consent", "/mtc/event", "written") in named
    assert ("consent/none/consent-mode", "consentry_consent", "/mtc/event", "written") in named
