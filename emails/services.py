"""Sending, and what the email surface changes: opens, clicks, unsubscribes, bounces."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from consent.models import Purpose
from consent.services import consent_grant, consent_withdraw
from consentry.kinds import kind_get
from contacts.models import Channel, Contact, DncReason
from contacts.selectors import contact_get_by_email, contact_is_dnc
from contacts.services import dnc_add, dnc_remove
from emails.models import (
    Email,
    EmailClick,
    EmailOpen,
    EmailSend,
    MachineSource,
    Recipient,
    RecipientStatus,
    TrackedLink,
)
from emails.rendering import (
    Rendered,
    message_render,
    message_sample,
    tracking_allowed,
    tracking_allowed_among,
)
from emails.selectors import recipient_basis
from webhooks.services import kind_rows_emit

logger = logging.getLogger("emails")


def email_send(*, email: Email, contacts: Iterable[Contact] | QuerySet[Contact]) -> EmailSend:
    """Queue a send: one recipient record for each contact with an address, delivered by tasks
    after the commit.

    Whom it reaches is settled at send time, for each recipient: Do-Not-Contact for email,
    then the email's basis (by default, the contact's email consent). Those no basis covers
    are recorded as skipped, never mailed.
    """
    from emails.tasks import deliver_batch

    if not isinstance(contacts, QuerySet):
        contacts = Contact.objects.filter(pk__in=[c.pk for c in contacts])
    with transaction.atomic():
        send = EmailSend.objects.create(email=email)
        Recipient.objects.bulk_create(
            [
                Recipient(send=send, contact_id=contact_id)
                for contact_id in contacts.exclude(email="").values_list("pk", flat=True)
            ],
            ignore_conflicts=True,
        )
        ids = list(send.recipients.values_list("id", flat=True).order_by("id"))
        size = settings.EMAIL_BATCH_SIZE
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            transaction.on_commit(partial(deliver_batch.delay, batch))
    return send


def _message(rendered: Rendered) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=rendered.subject,
        body=rendered.text,
        from_email=rendered.from_email,
        to=[rendered.to],
        headers=rendered.headers,
    )
    message.attach_alternative(rendered.html, "text/html")
    return message


def recipients_deliver(*, recipient_ids: Sequence[int]) -> dict[str, int]:
    """Deliver the queued recipients among these ids. Safe to run twice: a recipient leaves
    the queued state once, under a row lock."""
    counts = {"sent": 0, "skipped_dnc": 0, "skipped_consent": 0, "failed": 0}
    connection = get_connection()
    for recipient_id in recipient_ids:
        with transaction.atomic():
            recipient = (
                # The recipient's row alone: its contact may be gone (an erasure keeps the
                # row), and PostgreSQL locks no row of an outer join's nullable side.
                Recipient.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("contact", "send__email")
                .filter(pk=recipient_id, status=RecipientStatus.QUEUED)
                .first()
            )
            if recipient is None:
                continue
            # Fresh from the database, never a cache: an unsubscribe a second ago counts.
            # An erased contact's recipient has no one to mail: it counts as never covered.
            if recipient.contact is None:
                recipient.status = RecipientStatus.SKIPPED_CONSENT
                recipient.save(update_fields=["status"])
                counts["skipped_consent"] += 1
                continue
            if contact_is_dnc(contact=recipient.contact, channel=Channel.EMAIL):
                recipient.status = RecipientStatus.SKIPPED_DNC
                recipient.save(update_fields=["status"])
                counts["skipped_dnc"] += 1
                continue
            basis = recipient_basis(recipient=recipient)
            if basis is None:
                recipient.status = RecipientStatus.SKIPPED_CONSENT
                recipient.save(update_fields=["status"])
                counts["skipped_consent"] += 1
                continue
            tracked = tracking_allowed(contact=recipient.contact)
            rendered = message_render(recipient=recipient, tracked=tracked)
            try:
                connection.send_messages([_message(rendered)])
            except Exception as exc:  # the SMTP server's answer, kept for the operator
                recipient.status = RecipientStatus.FAILED
                recipient.error = f"{type(exc).__name__}: {exc}"[:500]
                recipient.save(update_fields=["status", "error"])
                counts["failed"] += 1
                continue
            recipient.status = RecipientStatus.SENT
            recipient.tracked = tracked
            recipient.basis = basis
            recipient.message_id = rendered.headers["Message-ID"]
            recipient.sent_at = timezone.now()
            recipient.save(update_fields=["status", "tracked", "basis", "message_id", "sent_at"])
            counts["sent"] += 1
            sent_kind = kind_get("sent")
            if sent_kind is not None:
                kind_rows_emit(kind=sent_kind, rows=[recipient])
    return counts


def email_test_send(*, email: Email, to: str, contact: Contact | None = None) -> str:
    """Send the message, as `contact` would read it, to any address: it creates no contact and
    no recipient, and counts in no report (its links are untracked and it has no pixel).
    Returns the Message-ID; the SMTP server's refusal is raised to the caller."""
    rendered = message_sample(email=email, contact=contact, to=to)
    message = _message(rendered)
    # A reader must not take a test for the real thing, nor a filter for a campaign.
    message.subject = f"[Test] {rendered.subject}"
    message.send()
    return rendered.headers["Message-ID"]


class EmailInUse(Exception):
    """A sent email cannot be deleted: archive it."""


def email_archive(*, email: Email) -> Email:
    """Hide the email from the lists; its sends, links and figures stay as they were."""
    if email.archived_at is None:
        email.archived_at = timezone.now()
        email.save(update_fields=["archived_at", "updated_at"])
    return email


def email_unarchive(*, email: Email) -> Email:
    if email.archived_at is not None:
        email.archived_at = None
        email.save(update_fields=["archived_at", "updated_at"])
    return email


def email_delete(*, email: Email) -> None:
    """Delete an email never sent. One that was (here or through a site's own sender) is
    refused: its recipient rows are the record of who was mailed, its figures feed the
    reports, and delivered mail still links to it. Archive it instead."""
    with transaction.atomic():
        if EmailSend.objects.filter(email=email).exists():
            raise EmailInUse(f"{email} was sent: archive it instead of deleting it.")
        email.delete()


def email_render_external(*, email: Email, contact: Contact) -> Rendered:
    """One recipient's message for a site that sends through its own provider: the same
    tokens, tracked links, pixel and unsubscribe headers as a message sent from here."""
    send = EmailSend.objects.filter(email=email, external=True).first()
    if send is None:
        send = EmailSend.objects.create(email=email, external=True)
    recipient, _ = Recipient.objects.get_or_create(
        send=send, contact=contact, defaults={"status": RecipientStatus.EXTERNAL}
    )
    tracked = tracking_allowed(contact=contact)
    if recipient.tracked != tracked:
        recipient.tracked = tracked
        recipient.save(update_fields=["tracked"])
    return message_render(recipient=recipient, tracked=tracked)


def email_unsubscribe(*, recipient: Recipient, source: str = "unsubscribe") -> None:
    """Do-Not-Contact for email and a withdrawal of email consent; with DNC_REVOKES_TRACKING,
    a withdrawal of tracking consent too. Idempotent: a second unsubscribe records nothing."""
    contact = recipient.addressee
    with transaction.atomic():
        if contact_is_dnc(contact=contact, channel=Channel.EMAIL):
            return
        dnc_add(
            contact=contact,
            channel=Channel.EMAIL,
            reason=DncReason.UNSUBSCRIBED,
            comment=f"email {recipient.send.email_id}",
        )
        consent_withdraw(contact=contact, purpose=Purpose.EMAIL, source=source)
        if settings.DNC_REVOKES_TRACKING:
            consent_withdraw(contact=contact, purpose=Purpose.TRACKING, source=source)


def email_resubscribe(*, recipient: Recipient) -> None:
    """Lift the email Do-Not-Contact and record an email-consent grant; nothing about tracking."""
    contact = recipient.addressee
    with transaction.atomic():
        if not contact_is_dnc(contact=contact, channel=Channel.EMAIL):
            return
        dnc_remove(contact=contact, channel=Channel.EMAIL)
        consent_grant(contact=contact, purpose=Purpose.EMAIL, source="resubscribe")


def bounce_record(*, email: str, kind: str, comment: str = "") -> bool:
    """A bounce or complaint reported by the mail provider; False when no such contact."""
    contact = contact_get_by_email(email=email)
    if contact is None:
        return False
    reason = DncReason.COMPLAINED if kind == "complaint" else DncReason.BOUNCED
    dnc_add(contact=contact, channel=Channel.EMAIL, reason=reason, comment=comment[:500])
    return True


def _when(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(event["ts"]), tz=dt.UTC)


_MACHINE_SOURCES = frozenset(MachineSource.values)


def opens_store(events: Sequence[dict[str, Any]]) -> int:
    """Opens from the pipeline. A per-recipient open is attributed only while the recipient
    still consents to tracking; otherwise it counts for the email alone."""
    tokens = {str(e.get("t", "")) for e in events}
    recipients = {
        r.token: r
        for r in Recipient.objects.select_related("send").filter(token__in=tokens, tracked=True)
    }
    emails = {e.pixel_token: e.pk for e in Email.objects.filter(pixel_token__in=tokens)}
    allowed = tracking_allowed_among(
        contact_ids={r.contact_id for r in recipients.values() if r.contact_id is not None}
    )
    rows = []
    for event in events:
        token = str(event.get("t", ""))
        recipient = recipients.get(token)
        email_id = recipient.send.email_id if recipient else emails.get(token)
        if email_id is None:
            continue  # an unknown token counts for nothing
        source = str(event.get("s", ""))
        machine = bool(event.get("m")) or bool(source)
        attributed = recipient is not None and recipient.contact_id in allowed and not machine
        rows.append(
            EmailOpen(
                event_id=uuid.UUID(event["id"]),
                email_id=email_id,
                recipient=recipient if attributed else None,
                machine=machine,
                # An unknown source (an event from a newer or older worker) stays a machine's.
                machine_source=source if source in _MACHINE_SOURCES else "",
                created_at=_when(event),
            )
        )
    EmailOpen.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def clicks_store(events: Sequence[dict[str, Any]]) -> int:
    """Clicks from the pipeline; the gate already decided at click time who they belong to."""
    tokens = {str(e["r"]) for e in events if e.get("r")}
    recipients = {r.token: r.pk for r in Recipient.objects.filter(token__in=tokens)}
    links = set(
        TrackedLink.objects.filter(id__in={int(e["l"]) for e in events}).values_list(
            "id", flat=True
        )
    )
    rows = [
        EmailClick(
            event_id=uuid.UUID(e["id"]),
            link_id=int(e["l"]),
            recipient_id=recipients.get(str(e.get("r", ""))),
            machine=bool(e.get("m")),
            created_at=_when(e),
        )
        for e in events
        if int(e["l"]) in links
    ]
    EmailClick.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
