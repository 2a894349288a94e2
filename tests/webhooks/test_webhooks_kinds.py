"""The counted kinds' webhook events (each kind's registry row names its own): sent for a known
contact's own activity only. A machine's open or click, a recipient who does not consent to
tracking, an anonymous visitor: no event. The scripted campaign of the email figures is the
scenario, with its known answers."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from consent import registry
from contacts.models import Contact
from emails.machines import ranges_reload
from focus.models import FocusItem
from tests.emails.test_email_figures import _campaign
from tests.support.browsers import consent_cookie
from tests.support.forming import form_make
from tests.support.smtp import Inbox
from tests.support.smtp import inbox as inbox
from tests.support.tracking import CHROME, send
from tracker.store import events_store
from webhooks.events import event_types
from webhooks.models import WebhookEvent
from webhooks.services import endpoint_create

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def embedded() -> Iterator[None]:
    """Events are stored as they come (no Redis), so their webhook events exist at once."""
    with override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=1000):
        ranges_reload()
        yield
    ranges_reload()


@pytest.fixture
def everything() -> None:
    """An endpoint that subscribes to every type there is."""
    endpoint_create(url="https://crm.example.com/hooks", events=list(event_types()))


def emitted(type_: str) -> list[dict[str, Any]]:
    return [e.data for e in WebhookEvent.objects.filter(type=type_).order_by("created_at")]


def test_every_kind_with_a_hook_is_in_the_catalog():
    assert {
        "form.submitted",
        "email.sent",
        "email.opened",
        "email.clicked",
        "focus.converted",
    } <= set(event_types())


def test_a_campaign_sends_events_for_known_readers_own_opens_and_clicks_only(
    everything, inbox: Inbox, django_capture_on_commit_callbacks: Any
):
    _, readers = _campaign(inbox, django_capture_on_commit_callbacks)
    name = {contact.pk: contact.email.split("@")[0] for contact in readers.values()}

    def who(type_: str) -> Counter[str]:
        return Counter(name[data["contact"]["id"]] for data in emitted(type_))

    # fay is on Do-Not-Contact: not mailed, so not sent.
    assert who("email.sent") == Counter(ann=1, bob=1, cat=1, dan=1, eve=1)
    # ann opened twice; bob's prefetch and dan's Apple proxy are machines; eve does not
    # consent to tracking, so her open is the email's alone.
    assert who("email.opened") == Counter(ann=2, bob=1)
    # The link scanner that followed ann's link is a machine.
    assert who("email.clicked") == Counter(ann=1, cat=1)
    click = emitted("email.clicked")[0]
    assert click["link"]["url"] == "https://shop.example.com/sale?x=1&y=2"
    assert click["consent"]["tracking"] == "granted"
    assert set(click) == {"email", "send", "recipient", "contact", "link", "consent"}


def test_storing_a_batch_again_emits_nothing_new(
    everything, inbox, django_capture_on_commit_callbacks
):
    _campaign(inbox, django_capture_on_commit_callbacks)
    from emails.models import EmailOpen

    opened = EmailOpen.objects.filter(recipient__isnull=False, machine=False).first()
    assert opened is not None
    before = WebhookEvent.objects.count()
    # The drain's redelivery of an event it stored already: the same row, the same event.
    again = {
        "k": "open",
        "id": str(opened.event_id),
        "ts": opened.created_at.timestamp(),
        "t": opened.recipient.token,
    }
    events_store([again])
    assert WebhookEvent.objects.count() == before


def test_a_form_submission_sends_its_answers_only_when_it_names_a_contact(everything, client):
    form = form_make()
    client.post(
        f"/form/submit?formId={form.pk}",
        {"email": "ada@example.com", "first_name": "Ada", "message": "Call me"},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )
    (data,) = emitted("form.submitted")
    assert data["form"] == {"id": form.pk, "name": "Contact us"}
    assert data["submission"]["values"]["message"] == "Call me"
    assert data["contact"]["id"] == Contact.objects.get(email="ada@example.com").pk
    nameless = form_make(name="Feedback")
    nameless.fields.filter(type="email").delete()
    client.post(
        f"/form/submit?formId={nameless.pk}",
        {"message": "Nice site"},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )
    assert len(emitted("form.submitted")) == 1  # an anonymous submission names no one


def test_a_focus_conversion_sends_an_event_for_a_known_browser_only(everything, client):
    form = form_make(set_cookie_on_submission=True)
    item = FocusItem.objects.create(name="Join", headline="Join us", button_label="Go", form=form)
    fields = {"email": "ada@example.com", "cs_focus": str(item.pk)}
    with override_settings(TRACKING_MODE="always"):
        client.post(
            f"/form/submit?formId={form.pk}",
            fields,
            headers={"Accept": "application/json", "User-Agent": CHROME},
        )
    (data,) = emitted("focus.converted")
    assert data["focus"] == {"id": item.pk, "name": "Join"}
    assert data["contact"]["id"] == Contact.objects.get().pk
    # The same conversion from a kiosk keeps no device: counted, tied to no one, no event.
    client.cookies.clear()
    client.post(
        f"/form/submit?formId={form.pk}",
        {**fields, "email": "grace@example.com", "kiosk": "1"},
        headers={"Accept": "application/json", "User-Agent": CHROME},
    )
    assert len(emitted("focus.converted")) == 1


def test_anonymous_counting_sends_nothing(everything, client):
    item = FocusItem.objects.create(
        name="Bar", headline="Sale", button_label="Go", button_url="https://shop.example.com/"
    )
    for _ in range(3):
        send(client)
        client.get(f"/focus/{item.pk}/viewpixel.gif", headers={"User-Agent": CHROME})
    # A browser that granted tracking but is tied to no contact is still no one.
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    send(client, id=str(uuid.uuid4()))
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == []
    assert json.dumps(list(WebhookEvent.objects.values("data"))) == "[]"
