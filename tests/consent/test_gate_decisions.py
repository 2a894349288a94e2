"""The gate's whole decision, over every combination of its inputs.

The expected column is written from DESIGN.md's rule list, strongest first, as a table a
reviewer can check line by line, independently of consent/gate.py's code.
"""

from __future__ import annotations

import itertools

import pytest
from django.test import RequestFactory, override_settings

from consent import registry
from consent.gate import Surface, decide
from consent.services import consent_grant
from contacts.services import dnc_add
from tests.support.browsers import FORGED_CONSENT, consent_cookie, device_cookie
from tests.support.factories import ContactFactory

MODES = ["off", "anonymous", "consent", "always"]
COOKIES = ["none", "granted", "refused", "objected", "forged"]
CONTACTS = ["none", "plain", "consented", "dnc"]
NO_TRACKING = {
    Surface.UNSUBSCRIBE,
    Surface.RESUBSCRIBE,
    Surface.EMAIL_VIEW,
    Surface.EMAIL_CONFIRM,
    Surface.PREFERENCES,
}
NEVER_STORE = NO_TRACKING | {Surface.EMAIL_OPEN, Surface.CHOICES}


def expected(mode, cookie, gpc, dnt, contact, surface):
    """(store, identify, count, reason) straight from the rule list."""

    # Clearing follows the permit: a surface that cannot store (an email client fetching an
    # image) does not expire a cookie the browser holds with a permit either.
    def out(reason, store=False, identify=False, count=True):
        return (store and surface not in NEVER_STORE, identify, count, not store, reason)

    if surface in NO_TRACKING:
        return out("surface_no_tracking", count=False)
    if mode == "off":
        return out("mode_off", count=False)
    if contact == "dnc":
        return out("do_not_contact")
    if cookie == "objected":
        return out("objected", count=False)
    if cookie == "refused":
        return out("refused")
    if cookie == "granted":
        if mode == "anonymous":
            return out("mode_anonymous")
        return out("granted", store=True, identify=True)
    if gpc:
        return out("gpc")
    if dnt:
        return out("dnt")
    if mode == "always":
        return out("mode_always", store=True, identify=True)
    if mode == "anonymous":
        return out("mode_anonymous")
    if contact in ("consented",):
        return out("contact_consent", identify=True)
    return out("no_choice")


@pytest.fixture
def contacts(db):
    consented = ContactFactory()
    consent_grant(contact=consented, source="test")
    on_dnc = ContactFactory()
    consent_grant(contact=on_dnc, source="test")
    dnc_add(contact=on_dnc)
    return {"none": None, "plain": ContactFactory(), "consented": consented, "dnc": on_dnc}


def _request(cookie, gpc, dnt):
    factory = RequestFactory()
    headers = {}
    if gpc:
        headers["HTTP_SEC_GPC"] = "1"
    if dnt:
        headers["HTTP_DNT"] = "1"
    request = factory.get("/mtc/event", **headers)
    values = {
        "none": None,
        "granted": consent_cookie("g"),
        "refused": consent_cookie("r"),
        "objected": consent_cookie("o"),
        "forged": FORGED_CONSENT[2],
    }
    if values[cookie] is not None:
        request.COOKIES[registry.CONSENT.name] = values[cookie]
    request.COOKIES[registry.DEVICE.name] = device_cookie("dev-1")
    return request


def test_every_combination_of_inputs_gives_the_decision_the_rules_say(contacts):
    mismatches = []
    cases = 0
    for mode, cookie, gpc, dnt, who in itertools.product(
        MODES, COOKIES, [False, True], [False, True], CONTACTS
    ):
        with override_settings(TRACKING_MODE=mode):
            for surface in Surface:
                request = _request(cookie, gpc, dnt)
                decision = decide(request, surface=surface, contact=contacts[who])
                got = (
                    decision.store,
                    decision.identify,
                    decision.count,
                    decision.clear,
                    decision.reason.value,
                )
                want = expected(mode, cookie, gpc, dnt, who, surface)
                cases += 1
                if got != want:
                    mismatches.append((mode, cookie, gpc, dnt, who, surface.value, got, want))
                # The device id is only handed out when the hit may be tied to it.
                want_device = "dev-1" if (decision.store and decision.identify) else None
                if decision.device_id != want_device:
                    mismatches.append(("device", mode, cookie, surface.value, decision.device_id))
    assert cases == 4 * 5 * 2 * 2 * 4 * len(Surface)
    assert mismatches == []


@pytest.mark.parametrize(
    ("honor_gpc", "honor_dnt", "reason"),
    [(False, True, "dnt"), (True, False, "gpc"), (False, False, "no_choice")],
)
def test_gpc_and_dnt_can_each_be_switched_off(db, honor_gpc, honor_dnt, reason):
    request = RequestFactory().get("/", HTTP_SEC_GPC="1", HTTP_DNT="1")
    with override_settings(HONOR_GPC=honor_gpc, HONOR_DNT=honor_dnt):
        assert decide(request, surface=Surface.PAGE).reason == reason


def test_a_page_reporting_gpc_is_refused_even_without_the_header(db):
    decision = decide(RequestFactory().get("/"), surface=Surface.PAGE, page_gpc=True)
    assert decision.reason == "gpc"
    assert not decision.store


def test_dnc_revokes_tracking_can_be_switched_off(contacts):
    request = _request("granted", False, False)
    with override_settings(DNC_REVOKES_TRACKING=False):
        decision = decide(request, surface=Surface.EMAIL_CLICK, contact=contacts["dnc"])
    assert decision.reason == "granted"
    assert decision.store


def test_a_dnc_added_after_a_decision_is_honoured_by_the_next_request(contacts):
    contact = contacts["consented"]
    request = _request("granted", False, False)
    assert decide(request, surface=Surface.EMAIL_CLICK, contact=contact).store
    dnc_add(contact=contact)
    later = decide(_request("granted", False, False), surface=Surface.EMAIL_CLICK, contact=contact)
    assert later.reason == "do_not_contact"
    assert not later.store
    assert later.clear
