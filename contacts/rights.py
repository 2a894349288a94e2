"""Data-subject rights: everything held about a contact (Art. 15, 20), and its erasure
(Art. 17) from every table and from the event stream."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.forms.models import model_to_dict
from django.utils import timezone

from consent.models import Action, ConsentRecord, Purpose
from consentry.kinds import ERASED_DEVICE, kinds
from consentry.redis import get_redis
from consentry.streams import shards_read
from contacts.models import Contact, DataSubjectRequest, Device, RequestKind

logger = logging.getLogger("contacts.rights")


def _rows(queryset: Any, exclude: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    out = []
    for row in queryset:
        data = model_to_dict(row, exclude=list(exclude))
        for name in ("created_at", "sent_at", "updated_at"):
            if hasattr(row, name):
                data[name] = getattr(row, name)
        out.append(data)
    return out


def _consent_records(*, contact: Contact) -> QuerySet[ConsentRecord]:
    """The contact's consent records, and those its browsers wrote before anyone knew whose
    they were (a grant through the script, then a form): records that name no contact under a
    browser key that one of the contact's records or devices carries. A record under the same
    key that names another contact (a shared computer) stays that contact's."""
    keys = set(
        ConsentRecord.objects.filter(contact=contact)
        .exclude(browser_key="")
        .values_list("browser_key", flat=True)
    )
    keys |= set(contact.devices.exclude(browser_key="").values_list("browser_key", flat=True))
    return ConsentRecord.objects.filter(
        Q(contact=contact) | Q(contact__isnull=True, browser_key__in=keys)
    )


def contact_export(*, contact: Contact, requested_by: str = "") -> dict[str, Any]:
    """One machine-readable document with every row held about the contact."""
    log = DataSubjectRequest.objects.create(
        kind=RequestKind.EXPORT, contact_ref=contact.pk, requested_by=requested_by
    )
    document = {
        "format": "consentry-export/1",
        "generated_at": timezone.now(),
        "contact": _rows([contact])[0],
        "devices": _rows(contact.devices.all()),
        "do_not_contact": _rows(contact.dnc_entries.all()),
        "consent_records": _rows(_consent_records(contact=contact)),
    }
    for kind in kinds():
        rows = kind.model._default_manager.filter(**{kind.owner: contact}).order_by("pk")
        document[kind.export_as] = _rows(rows, exclude=kind.export_exclude)
    log.completed_at = timezone.now()
    log.save(update_fields=["completed_at"])
    # Round-trip through JSON so the document is exactly what a client receives.
    return dict(json.loads(json.dumps(document, default=str)))


# Longer than a spool may hold an event (tracker/spool.py: shipped every EVENT_BATCH_MS, and
# a dead worker's file within RECOVER_EVERY_S).
STREAM_ERASE_AGAIN_S = 30


def needle_digest(value: str) -> str:
    """A keyed hash of an identifier, so that a later pass can recognise it without holding it."""
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def _names(event: dict[str, Any], contact_id: int, digests: set[str]) -> bool:
    return str(event.get("c")) == str(contact_id) or any(
        needle_digest(str(event[key])) in digests for key in ("d", "t", "r") if event.get(key)
    )


def deadletters_erase(*, contact_id: int, digests: set[str], needles: Iterable[str] = ()) -> int:
    """Delete dead letters (events the pipeline could not store, kept as text) that name the
    contact: its id, a device or an email token under the event's own keys, or, when the
    identifiers themselves are at hand, any of them anywhere in the text or the error (a
    malformed event may hold them under any name, and an error may quote them)."""
    from tracker.models import DeadLetter

    # Payloads keep every character outside ASCII escaped (tracker.store): look for that
    # spelling too.
    lowered = {
        spelling.lower()
        for needle in needles
        if needle
        for spelling in (needle, json.dumps(needle, ensure_ascii=True)[1:-1])
    }
    doomed = []
    letters = DeadLetter.objects.values_list("id", "payload", "error")
    for pk, payload, error in letters.iterator(chunk_size=1000):
        try:
            event = json.loads(payload)
        except ValueError:
            event = None
        text = f"{payload}\n{error}".lower()
        if (isinstance(event, dict) and _names(event, contact_id, digests)) or any(
            needle in text for needle in lowered
        ):
            doomed.append(pk)
    for start in range(0, len(doomed), 500):
        DeadLetter.objects.filter(pk__in=doomed[start : start + 500]).delete()
    return len(doomed)


def stream_erase(*, contact_id: int, digests: set[str]) -> int:
    """Delete queued events, in every shard of the stream, that carry the contact's id, or one
    of its devices or email tokens (given as needle_digest of each)."""
    client = get_redis()
    if client is None:
        return 0
    removed = 0
    for shard in shards_read(client):
        start = "-"
        while True:
            entries: Any = client.xrange(shard.stream, min=start, max="+", count=1000)
            if not entries:
                break
            doomed = []
            for message_id, fields in entries:
                try:
                    event = json.loads((fields or {}).get(b"e", b"{}"))
                except ValueError:
                    continue
                if isinstance(event, dict) and _names(event, contact_id, digests):
                    doomed.append(message_id)
            if doomed:
                removed += int(client.xdel(shard.stream, *doomed))
            last = entries[-1][0].decode()
            milliseconds, sequence = last.split("-")
            start = f"{milliseconds}-{int(sequence) + 1}"
    return removed


def contact_erase(*, contact: Contact, requested_by: str = "") -> DataSubjectRequest:
    """Remove the contact and every personal row. What was counted stays counted: each kind's
    rows are kept without the person (consentry/kinds.py, erase_detach and erase_clear), so
    every report reads the same after the erasure; the consent log keeps a tombstone that
    names no one."""
    from emails.models import Recipient

    log = DataSubjectRequest.objects.create(
        kind=RequestKind.ERASE, contact_ref=contact.pk, requested_by=requested_by
    )
    contact_id, email = contact.pk, contact.email
    needles = {str(d) for d in contact.devices.values_list("public_id", flat=True)}
    tokens = Recipient.objects.filter(contact=contact, token__isnull=False)
    needles |= {str(token) for token in tokens.values_list("token", flat=True)}
    needles.discard("")
    digests = {needle_digest(needle) for needle in needles}
    with transaction.atomic():
        consent_ids = list(_consent_records(contact=contact).values_list("id", flat=True))
        stand_in, _ = Device.objects.get_or_create(public_id=ERASED_DEVICE)
        for kind in kinds():
            # Rows that stay in the counts are attributed to no one and stripped of what they
            # said about the person; the others go with the contact (their keys cascade).
            if kind.erase_detach is None:
                continue
            kept: dict[str, object] = {**dict.fromkeys(kind.erase_detach), **kind.erase_clear}
            if kind.device in kept:
                kept[kind.device] = stand_in
            owned = Q(**{kind.owner: contact})
            if kind.device:
                # A device's rows from before it was tied to the contact are theirs too.
                owned |= Q(**{f"{kind.device}__contact": contact})
            if kept:
                kind.model._default_manager.filter(owned).update(**kept)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # The append-only trigger lets this one transaction through (see consent/).
                cursor.execute("SET LOCAL consentry.erasure = 'on'")
            # Deleted rather than stripped in place: the one tombstone below says that
            # records were erased, and keeps no time or choice that could be matched again.
            for start in range(0, len(consent_ids), 500):
                chunk = consent_ids[start : start + 500]
                cursor.execute(
                    f"DELETE FROM {ConsentRecord._meta.db_table}"  # noqa: S608
                    f" WHERE id IN ({', '.join(['%s'] * len(chunk))})",
                    chunk,
                )
        ConsentRecord.objects.create(
            purpose=Purpose.TRACKING, action=Action.ERASED, source="erasure"
        )
        # Devices, Do-Not-Contact entries and the kinds' rows that are not detached cascade.
        contact.delete()
        from webhooks.services import webhooks_contact_erase

        webhooks_contact_erase(contact_id=contact_id)
        dead = deadletters_erase(contact_id=contact_id, digests=digests, needles=needles | {email})
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Contact), object_id=str(contact_id)
        ).update(object_repr=f"erased contact {contact_id}", change_message="")
    removed = stream_erase(contact_id=contact_id, digests=digests)
    if removed or dead:
        logger.info("erasure removed %d queued events and %d dead letters", removed, dead)
    if get_redis() is not None:
        # A hit answered just before the erasure may still sit in a web worker's spool (100 ms,
        # a few seconds if that worker died): look through the stream once more when every
        # spool has been shipped. The task holds keyed hashes only, never the identifiers.
        from contacts.tasks import stream_erase_again

        stream_erase_again.apply_async(
            kwargs={"contact_id": contact_id, "digests": sorted(digests)},
            countdown=STREAM_ERASE_AGAIN_S,
        )
    log.completed_at = timezone.now()
    log.save(update_fields=["completed_at"])
    return log
