"""The cookie audit's dynamic-content surface: the script's /dwc/{slot} request, from a host
page of another origin, in every tracking mode and every state a browser starts in, keeps to
the cookie rules with the real gate, and is caught when the gate permits everything."""

from __future__ import annotations

import pytest

from audit.rules import STATES, Mode, State
from tests.audit.test_cookie_audit import broken_gate as broken_gate
from tests.support.audit import surfaces_audit

pytestmark = [pytest.mark.browser]


def _audit(live_server, settings, tmp_path, *, modes, states):
    return surfaces_audit(
        live_server, settings, tmp_path, surfaces=["dwc"], modes=modes, states=states
    )


def test_the_dwc_surface_passes_in_every_mode_and_state(live_server, settings, tmp_path):
    result = _audit(live_server, settings, tmp_path, modes=tuple(Mode), states=STATES)
    assert [(s.id, s.error) for s in result.errors] == []
    assert result.findings == []
    assert len(result.scenarios) == len(Mode) * len(STATES)
    granted = next(s for s in result.scenarios if s.id == "consent/granted/dwc")
    assert {c.name for c in granted.cookies} == {"consentry_consent", "consentry_device"}


def test_against_a_broken_gate_the_dwc_request_is_named(
    broken_gate, live_server, settings, tmp_path
):
    result = _audit(live_server, settings, tmp_path, modes=(Mode.CONSENT,), states=[State.NONE])
    assert result.exit_code == 1
    places = {(f.scenario, f.subject, f.kind) for f in result.findings}
    assert ("consent/none/dwc", "consentry_device", "written") in places
