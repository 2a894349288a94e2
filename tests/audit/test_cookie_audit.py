"""The cookie audit (audit/, `manage.py cookie_audit`) in a real Chromium.

Nothing is mocked but the one thing a test breaks on purpose: run as the operator runs it, the
audit drives the real product (its own throwaway database, the real request cycle, the real
consent gate) and must pass while reporting every public surface; run in-process against a
live server whose gate permits storing everywhere, it must fail and name the surfaces that
wrote or kept what they must not.
"""

from __future__ import annotations

import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from audit.rules import Mode, State
from audit.run import run_audit
from audit.targets import InProcessTarget
from consent import gate

pytestmark = [pytest.mark.browser]

# Every surface the issue names, as the report titles them.
SURFACES = {
    "tracking script and its pageview event",
    "tracking script, consent grant command",
    "consent banner: Google Consent Mode through dataLayer",
    "consent banner: IAB TCF v2.2 CMP (__tcfapi)",
    "consent banner's start-up report, no choice yet",
    "mtracking.gif (image on the host page)",
    "email link (/r/…?ct=)",
    "email link, forwarded (fresh browser)",
    "email open pixel",
    "unsubscribe page (GET)",
    "unsubscribe (GET, then POST)",
    "resubscribe (GET, then POST)",
    "email web view",
    "double opt-in confirmation (GET, then POST)",
    "email preference page (GET, then POST)",
    "form, set-cookie on, tracking box ticked",
    "form, set-cookie on, box not ticked",
    "form, set-cookie off, tracking box ticked",
    "form, set-cookie off, box not ticked",
    "form, set-cookie on, kiosk embed, box ticked",
    "focus item script and view pixel",
    "asset download",
    "landing page",
    "privacy choices page, grant",
    "privacy choices page, refuse",
    "dynamic web content: the script asks /dwc/{slot}",
    "gated video: the player script, its form and /video/hit",
}
PROBLEMS = {f"rfc-{n}" for n in range(1, 7)}
# The modules whose views (or services) call the gate, each through its own imported name.
GATE_CALLERS = {
    "consent.gate",
    "consent.views",
    "consentry.views",
    "dwc.views",
    "emails.views",
    "focus.views",
    "forms.views",
    "pages.views",
    "tracker.views",
    "video.views",
}
OUR_APPS = {
    "api",
    "consent",
    "consentry",
    "contacts",
    "dwc",
    "emails",
    "focus",
    "forms",
    "pages",
    "tracker",
    "video",
}


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, dict[str, Any]]:
    """The whole audit, once for the module, exactly as `make audit` runs it (a child process
    on a temporary database), with JSON output: (exit status, report)."""
    output = tmp_path_factory.mktemp("cookie-audit") / "audit.json"
    status = 0
    try:
        call_command("cookie_audit", "--format", "json", "--output", str(output))
    except CommandError as exc:
        status = exc.returncode
    assert output.exists(), "the audit wrote no report"
    return status, json.loads(output.read_text())


def test_the_audit_reports_every_surface_in_every_mode_and_state(audit):
    _, report = audit
    scenarios = report["scenarios"]
    assert report["modes"] == ["off", "anonymous", "consent", "always"]
    assert set(report["surfaces"]) == SURFACES
    for mode in report["modes"]:
        for state in ("none", "granted", "refused", "gpc", "dnc"):
            covered = {
                s["surface"]
                for s in scenarios
                if (s["group"], s["mode"], s["state"]) == ("matrix", mode, state)
            }
            assert covered == SURFACES, (mode, state)
        named = {
            s["id"].split("/")[-1] for s in scenarios if (s["group"], s["mode"]) == ("rfc", mode)
        }
        assert named == PROBLEMS, mode
    assert report["errors"] == []
    # The Do-Not-Contact browser really is one: a grant and a device tied to the contact.
    assert report["prepared"]["dnc"] == ["consentry_consent", "consentry_device"]
    # What each scenario records: cookies with their attributes, and the gate's reason codes.
    grant = next(s for s in scenarios if s["id"] == "consent/none/script-grant")
    device = next(c for c in grant["cookies"] if c["name"] == "consentry_device")
    assert (device["days"], device["same_site"], device["http_only"]) == (395, "Lax", True)
    assert grant["reasons"] == ["granted"]
    legacy = next(s for s in scenarios if s["id"] == "consent/rfc-6")
    assert {c["name"] for c in legacy["cookies"] if not c["at_end"]} >= {"mtc_id", "mtc_sid"}


def test_the_audit_of_the_real_product_passes(audit):
    status, report = audit
    assert report["unpermitted"] == [], "\n".join(
        f"{f['scenario']}: {f['subject']} {f['kind']} by the {f['place']}: {f['rule']}"
        for f in report["unpermitted"]
    )
    assert (status, report["verdict"]) == (0, "PASS")


@pytest.fixture
def broken_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A gate that permits storing everywhere and never expires anything: every module that
    imported `decide` gets it (they hold their own reference, so patching consent.gate alone
    would not reach them)."""
    import consentry.urls  # noqa: F401 (imports every view module, so each can be patched)

    real = gate.decide

    def permits_everything(
        request: Any,
        *,
        surface: gate.Surface,
        contact: Any = None,
        page_gpc: bool = False,
        browser: gate.Browser | None = None,
        contact_facts: gate.ContactFacts | None = None,
        form: gate.FormFacts | None = None,
    ) -> gate.Decision:
        held = browser if browser is not None else gate.read_browser(request)
        return gate.Decision(
            surface=surface,
            store=True,
            identify=True,
            count=True,
            clear=False,
            reason=gate.Reason.GRANTED,
            browser=held,
            new_device_id=gate.device_new_id() if held.device is None else None,
        )

    patched = set()
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in OUR_APPS and getattr(module, "decide", None) is real:
            monkeypatch.setattr(module, "decide", permits_everything)
            patched.add(name)
    assert patched >= GATE_CALLERS


def audit_in_process(live_server: Any, settings: Any, tmp_path: Path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the audit's asset, not in ./var/media
    return run_audit(
        InProcessTarget(live_server.url, modes=(Mode.CONSENT,)),
        states=[State.NONE, State.DNC],
        surfaces=["pixel", "unsubscribe-get", "open-pixel"],
        problems=["rfc-1", "rfc-4"],
    )


def test_the_scenarios_the_broken_gate_fails_pass_with_the_real_gate(
    live_server, settings, tmp_path
):
    result = audit_in_process(live_server, settings, tmp_path)
    assert [s.id for s in result.errors] == []
    assert result.findings == []
    assert result.exit_code == 0


def test_against_a_broken_gate_the_audit_fails_and_names_the_surfaces(
    broken_gate, live_server, settings, tmp_path
):
    result = audit_in_process(live_server, settings, tmp_path)
    assert [s.id for s in result.errors] == []
    assert result.exit_code == 1
    assert result.verdict == "FAIL"
    named = {(f.scenario, f.subject, f.place, f.kind) for f in result.findings}
    # Problem 4: the pixel hands a device to a browser that never chose.
    assert ("consent/none/pixel", "consentry_device", "mtracking.gif", "written") in named
    assert ("consent/rfc-4", "consentry_device", "mtracking.gif", "written") in named
    # Problem 1: the link sets it, and the unsubscribe page keeps it.
    assert ("consent/rfc-1", "consentry_device", "email link /r/", "written") in named
    assert ("consent/rfc-1", "consentry_device", "unsubscribe page", "kept") in named
    # A contact on Do-Not-Contact keeps the device cookie on the unsubscribe page.
    assert ("consent/dnc/unsubscribe-get", "consentry_device", "unsubscribe page", "kept") in named
    # The report says the same, surface by surface.
    markdown = result.to_markdown("")
    assert "**FAIL**" in markdown
    assert "`consentry_device` kept by the unsubscribe page" in markdown
    assert "`consentry_device` written by the mtracking.gif" in markdown


def test_against_a_deployment_the_fixtures_go_through_the_api_and_are_removed(
    live_server, settings, tmp_path
):
    """The --base-url path, against the live server as if it were a deployment: the host pages
    are served at an origin it tracks (--site), the fixtures are made and removed through the
    REST API with a token, and the deployment's own mode is audited."""
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from audit.targets import MAIL_DOMAIN, RemoteTarget
    from contacts.models import Contact
    from focus.models import FocusItem
    from forms.models import Form
    from pages.models import Asset, LandingPage

    with socket.socket() as probe:  # a free port for the host site the deployment tracks
        probe.bind(("localhost", 0))
        site = f"http://localhost:{probe.getsockname()[1]}"
    settings.PUBLIC_URL = live_server.url
    settings.TRACKED_SITES = [site]
    settings.TRACKING_MODE = "consent"
    settings.COOKIE_SECURE = False
    settings.COOKIE_DOMAIN = None
    settings.REDIS_URL = None
    settings.MEDIA_ROOT = tmp_path / "media"
    user = get_user_model().objects.create_superuser("auditor", "auditor@example.com", "x" * 24)
    token = Token.objects.create(user=user)

    target = RemoteTarget(live_server.url, token.key)
    assert target.modes == (Mode.CONSENT,)
    result = run_audit(
        target,
        site=site,
        states=[State.NONE, State.GRANTED],
        surfaces=["script", "pixel", "link", "unsubscribe-post", "form-on-ticked", "focus"],
        problems=["rfc-1"],
    )

    assert [(s.id, s.error) for s in result.errors] == []
    assert result.findings == []
    assert result.prepared["dnc"] == ["consentry_consent", "consentry_device"]
    granted = next(s for s in result.scenarios if s.id == "consent/granted/script")
    assert {c.name for c in granted.cookies} == {"consentry_consent", "consentry_device"}
    # Everything made for the audit is gone again; the email stays, its sends protect it.
    assert not Contact.objects.filter(email__endswith=MAIL_DOMAIN).exists()
    assert (Form.objects.count(), FocusItem.objects.count()) == (0, 0)
    assert (Asset.objects.count(), LandingPage.objects.count()) == (0, 0)
    assert len(result.notes) == 1
    assert "could not remove /api/v1/emails/" in result.notes[0]
