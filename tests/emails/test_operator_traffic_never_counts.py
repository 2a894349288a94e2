"""The operator's own traffic counts in no report: a hit made with a valid admin session of a
staff user (the demo's or a landing page's pageview, an email's pixel or link tested from the
operator's browser) is answered as usual and counted nowhere. Anyone else's hit, a signed-in
user who is not staff, or a session that has ended, counts as before."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from emails.models import EmailClick, EmailOpen
from emails.rendering import ct_make
from tests.support.emailing import sent_to
from tests.support.tracking import CHROME, send
from tracker.models import AnonymousHit, PageHit

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def embedded():
    """Hits are stored as they come (no Redis): what was counted can be read at once."""
    with override_settings(REDIS_URL=None):
        yield


def _signed_in(*, staff: bool) -> tuple[Client, User]:
    user = User.objects.create_user("someone", "someone@example.com", "pw", is_staff=staff)
    client = Client()
    client.force_login(user)
    return client, user


def _hits() -> int:
    return AnonymousHit.objects.count() + PageHit.objects.count()


def test_a_staff_users_pageview_is_answered_and_not_counted():
    operator, _ = _signed_in(staff=True)
    answer = send(operator)
    assert answer.status_code == 200
    assert answer["X-Consentry-Decision"] == "staff"
    assert answer.json()["counted"] is False
    assert _hits() == 0
    # Nothing written, nothing expired: the operator's browser keeps what it holds.
    assert not answer.cookies


def test_the_same_pageview_without_the_session_counts():
    answer = send(Client())
    assert answer.json()["counted"] is True
    assert _hits() == 1


def test_a_signed_in_user_who_is_not_staff_counts():
    member, _ = _signed_in(staff=False)
    assert send(member).json()["counted"] is True
    assert _hits() == 1


def test_a_session_ended_by_a_password_change_or_unknown_counts():
    operator, user = _signed_in(staff=True)
    user.set_password("changed")
    user.save()
    assert send(operator).json()["counted"] is True
    stranger = Client()
    stranger.cookies["sessionid"] = "no-such-session-0123456789abcdef"
    assert send(stranger).json()["counted"] is True
    assert _hits() == 2


def test_an_email_opened_and_clicked_from_the_operators_browser_counts_nothing():
    sent = sent_to("ada@example.com", consented=True)
    operator, _ = _signed_in(staff=True)
    pixel = operator.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    click = operator.get(
        f"/r/{sent.link.redirect_id}",
        {"ct": ct_make(link=sent.link, recipient=sent.recipient)},
        headers={"User-Agent": CHROME},
    )
    # The reader still gets the image and the page the link leads to.
    assert pixel.status_code == 200
    assert (click.status_code, click["Location"]) == (302, "https://shop.example.com/sale?x=1&y=2")
    assert not EmailOpen.objects.exists()
    assert not EmailClick.objects.exists()
    # The recipient's own, from a browser without the session, count.
    Client().get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    assert EmailOpen.objects.get().recipient == sent.recipient
