"""The cookie audit's double opt-in confirmation page and email preference page: each opened
from an email (GET) and its button pressed (POST), in every tracking mode and every state a
browser starts in. They keep to the cookie rules with the real gate (nothing written, a device
cookie already held expired), and are caught when the gate permits everything."""

from __future__ import annotations

import pytest

from audit.rules import STATES, Mode, State
from tests.audit.test_cookie_audit import broken_gate as broken_gate
from tests.support.audit import surfaces_audit

pytestmark = [pytest.mark.browser]
PAGES = ["optin-confirm", "preferences"]


def _audit(live_server, settings, tmp_path, *, modes, states):
    return surfaces_audit(
        live_server, settings, tmp_path, surfaces=PAGES, modes=modes, states=states
    )


def test_the_confirmation_and_preference_pages_pass_in_every_mode_and_state(
    live_server, settings, tmp_path
):
    result = _audit(live_server, settings, tmp_path, modes=tuple(Mode), states=STATES)
    assert [(s.id, s.error) for s in result.errors] == []
    assert result.findings == []
    assert len(result.scenarios) == len(Mode) * len(STATES) * len(PAGES)
    # The Do-Not-Contact browser arrives with a device cookie; both pages expire it.
    for page in PAGES:
        dnc = next(s for s in result.scenarios if s.id == f"consent/dnc/{page}")
        assert "consentry_device" in {c.name for c in dnc.cookies}
        assert "consentry_device" not in {c.name for c in dnc.cookies if c.at_end}


def test_against_a_broken_gate_both_pages_are_named(broken_gate, live_server, settings, tmp_path):
    result = _audit(live_server, settings, tmp_path, modes=(Mode.CONSENT,), states=[State.DNC])
    assert result.exit_code == 1
    places = {(f.scenario, f.place) for f in result.findings}
    assert ("consent/dnc/optin-confirm", "double opt-in confirmation page") in places
    assert ("consent/dnc/preferences", "email preference page") in places
