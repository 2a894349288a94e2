"""Export (Art. 15, 20) holds every row about the contact; erasure (Art. 17) leaves no trace
of them in any table nor in Redis, keeps anonymous aggregates and leaves a tombstone."""

from __future__ import annotations

import base64
import json

import pytest
from django.apps import apps
from django.core import signing
from django.db import models
from django.test import override_settings

from consent import registry
from consent.models import ConsentRecord
from consent.services import browser_key_hash
from contacts.models import Contact, DataSubjectRequest, Device
from contacts.rights import contact_erase
from emails.models import EmailClick, EmailOpen, Recipient
from emails.rendering import ct_make
from focus.models import FocusEvent, FocusItem
from forms.models import Submission
from tests.support.apiclients import api_client
from tests.support.browsers import consent_cookie
from tests.support.emailing import sent_to
from tests.support.forming import form_make
from tests.support.traces import every_report, only_the_tombstone_is_left, redis_holding
from tests.support.tracking import CHROME, send
from tracker.drain import events_drain
from tracker.models import DailyStat, PageHit
from tracker.rollups import rollup_recent

pytestmark = pytest.mark.django_db
ADDRESS = "198.51.100.77"
MASKED = "198.51.0.0"


def _life_of_a_contact(client):
    """A person who consented on a form, browsed, opened and clicked an email, saw a focus
    item, and was unsubscribed: rows in every table that can hold them."""
    form = form_make(set_cookie_on_submission=True)
    response = client.post(
        f"/form/submit?formId={form.pk}",
        {"email": "ada@example.com", "first_name": "Ada", "track": "1", "newsletter": "1"},
        headers={"Accept": "application/json", "User-Agent": CHROME},
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 200
    contact = Contact.objects.get(email="ada@example.com")
    send(client, REMOTE_ADDR=ADDRESS)
    sent = sent_to("ada@example.com", consented=True)
    client.get(f"/email/{sent.recipient.token}.gif", headers={"User-Agent": CHROME})
    client.get(
        f"/r/{sent.link.redirect_id}",
        {"ct": ct_make(link=sent.link, recipient=sent.recipient)},
        headers={"User-Agent": CHROME},
    )
    item = FocusItem.objects.create(name="Bar", headline="Hi")
    client.get(
        f"/focus/{item.pk}/viewpixel.gif", headers={"User-Agent": CHROME}, REMOTE_ADDR=ADDRESS
    )
    device = Device.objects.get(contact=contact)
    return contact, device, sent


def _browser_key(client):
    """The key in the browser's consent cookie, and the one-way form consent records keep."""
    key = signing.loads(client.cookies[registry.CONSENT.name].value, salt=registry.CONSENT.salt)
    return key["k"], browser_key_hash(key["k"])


def _holds(model, field, needle):
    rows = model.objects.all()
    if isinstance(field, models.JSONField):
        return any(needle in json.dumps(v) for v in rows.values_list(field.name, flat=True))
    if isinstance(field, models.GenericIPAddressField):
        return needle.count(".") == 3 and rows.filter(**{field.name: needle}).exists()
    return rows.filter(**{f"{field.name}__icontains": needle}).exists()


def _fields_holding(needle):
    """Every model field, in every table, that holds the needle."""
    text = (models.CharField, models.TextField, models.JSONField, models.GenericIPAddressField)
    return [
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, text) and _holds(model, field, needle)
    ]


@override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=1000)
def test_the_export_holds_everything_the_contacts_rows_hold(client):
    contact, device, sent = _life_of_a_contact(client)
    exporter = api_client("contacts.view_contact", "contacts.add_datasubjectrequest")
    document = exporter.get(f"/api/v1/contacts/{contact.pk}/export/").json()
    assert document["contact"]["email"] == "ada@example.com"
    assert [d["public_id"] for d in document["devices"]] == [device.public_id]
    assert (
        len(document["consent_records"])
        == ConsentRecord.objects.filter(contact=contact).count()
        == 3
    )
    assert len(document["page_hits"]) == PageHit.objects.filter(contact=contact).count() == 1
    assert len(document["form_submissions"]) == 1
    assert document["form_submissions"][0]["data"]["first_name"] == "Ada"
    assert [r["id"] for r in document["email_recipients"]] == [sent.recipient.pk]
    # A recipient's token would let whoever reads the export unsubscribe them.
    assert sent.recipient.token not in json.dumps(document)
    assert len(document["email_opens"]) == 1
    assert len(document["email_clicks"]) == 1
    assert len(document["focus_events"]) == 1
    log = DataSubjectRequest.objects.get()
    assert (log.kind, log.contact_ref) == ("export", contact.pk)
    assert log.completed_at is not None


@override_settings(REDIS_URL=None, FORM_SUBMIT_LIMIT=1000)
def test_after_erasure_no_table_holds_the_email_the_device_or_the_masked_ip(client):
    contact, device, sent = _life_of_a_contact(client)
    rollup_recent()
    aggregates = DailyStat.objects.count()
    figures = every_report()
    assert figures["form"][-2]["submissions"] == 1
    assert figures["email"][-2]["sent"] == 1
    assert "contacts.Contact.email" in _fields_holding("ada@example.com")
    assert _fields_holding(MASKED)  # consent records keep the masked address as proof
    browser_key, stored_key = _browser_key(client)
    assert _fields_holding(stored_key)
    eraser = api_client("contacts.delete_contact")
    response = eraser.post(f"/api/v1/contacts/{contact.pk}/erase/")
    assert response.status_code == 200
    assert response.json()["completed_at"]
    assert _fields_holding("ada@example.com") == []
    assert _fields_holding(device.public_id) == []
    assert _fields_holding(sent.recipient.token) == []
    assert _fields_holding(MASKED) == []
    assert _fields_holding(browser_key) == []
    assert _fields_holding(stored_key) == []
    # Anonymous aggregates stay; every report reads as before, today's rolled up again too;
    # the counted rows stay, attributed to no one.
    assert DailyStat.objects.count() == aggregates
    rollup_recent()
    assert every_report() == figures
    recipient = Recipient.objects.get()
    assert (recipient.contact, recipient.token, recipient.message_id) == (None, None, "")
    assert EmailOpen.objects.get().recipient == recipient
    assert EmailClick.objects.get().recipient == recipient
    assert FocusEvent.objects.get().contact is None
    submission = Submission.objects.get()
    assert (submission.contact, submission.data) == (None, {})
    assert only_the_tombstone_is_left()


def test_erasure_reaches_the_redis_stream_and_keys(db, client, redis_client):
    contact, device, sent = _life_of_a_contact(client)
    client.cookies[registry.CONSENT.name] = consent_cookie("g")
    send(client)  # still queued when the erasure comes
    assert redis_holding(redis_client, device.public_id) == ["consentry:events"]
    needles = (device.public_id, sent.recipient.token, "ada@example.com", MASKED, ADDRESS)
    needles += _browser_key(client)
    contact_erase(contact=contact)
    # Every key's name and value, of every type: the stream, the rate limiter's counters, the
    # broker's queue (the second pass waits there).
    assert {n: redis_holding(redis_client, n) for n in needles} == {n: [] for n in needles}
    # What was left in the stream still drains cleanly.
    events_drain()
    assert not PageHit.objects.filter(device__public_id=device.public_id).exists()


def test_a_hit_still_spooled_at_erasure_is_erased_by_a_second_pass(db, client, redis_client):
    from contacts.tasks import stream_erase_again

    contact, device, sent = _life_of_a_contact(client)
    contact_erase(contact=contact)
    # A web worker ships its spool after the erasure: the hit lands in the stream late.
    late = {"id": "5e0f8f2a-1d7c-4a8e-9b1f-2c3d4e5f6a7b", "ts": 1.0, "d": device.public_id}
    redis_client.xadd("consentry:events", {"e": json.dumps(late)})
    # The second pass waits in the broker, holding no identifier of the erased contact.
    [message] = redis_client.lrange("celery", 0, -1)
    envelope = json.loads(message)
    assert envelope["headers"]["task"] == "contacts.tasks.stream_erase_again"
    raw = message.decode() + base64.b64decode(envelope["body"]).decode()
    for needle in (device.public_id, sent.recipient.token, "ada@example.com"):
        assert needle not in raw
    args, kwargs, _embed = json.loads(base64.b64decode(envelope["body"]))
    assert stream_erase_again(*args, **kwargs) == 1
    stream = json.dumps([f[b"e"].decode() for _i, f in redis_client.xrange("consentry:events")])
    assert device.public_id not in stream


def test_a_recipient_erased_before_delivery_is_never_mailed_and_the_send_still_counts_it(db):
    from django.core import mail

    from consent.services import consent_grant
    from emails.selectors import send_stats
    from emails.services import email_send, recipients_deliver
    from tests.support.emailing import email_make

    ada, bob = (Contact.objects.create(email=f"{n}@example.com") for n in ("ada", "bob"))
    for contact in (ada, bob):
        consent_grant(contact=contact, purpose="email", source="form")
    send = email_send(email=email_make(), contacts=[ada, bob])
    contact_erase(contact=ada)
    recipients_deliver(recipient_ids=list(send.recipients.values_list("id", flat=True)))
    assert [m.to for m in mail.outbox] == [["bob@example.com"]]
    figures = send_stats(send=send)
    assert (figures.sent, figures.skipped) == (1, 1)
