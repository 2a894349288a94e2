"""A contact's own preferences, as an email's preference page shows and changes them: email
news (email consent), tracking (tracking consent) and Do-Not-Contact for email. Read fresh
from the consent records and the Do-Not-Contact list; every change is a consent record."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from consent.models import Action, ConsentRecord, Purpose
from consent.selectors import consent_state
from consent.services import consent_grant, consent_withdraw
from contacts.models import Channel, Contact, DncReason
from contacts.selectors import contact_is_dnc
from contacts.services import dnc_add, dnc_remove

PREFERENCES_SOURCE = "preferences"


@dataclass(frozen=True, slots=True)
class Preferences:
    email_news: bool  # email consent granted
    tracking: bool  # tracking consent granted
    dnc: bool  # on Do-Not-Contact for email


def preferences_get(*, contact: Contact) -> Preferences:
    return Preferences(
        email_news=consent_state(contact=contact, purpose=Purpose.EMAIL) == Action.GRANT,
        tracking=consent_state(contact=contact, purpose=Purpose.TRACKING) == Action.GRANT,
        dnc=contact_is_dnc(contact=contact, channel=Channel.EMAIL),
    )


def preferences_change(
    *, contact: Contact, wanted: Preferences, ip_masked: str | None
) -> list[ConsentRecord]:
    """Apply the choices of the preference page. Each purpose whose state changes gets one
    consent record (source "preferences"); unchanged ones record nothing. Do-Not-Contact for
    email withdraws email consent, as an unsubscribe does, so "news" cannot outlive it; with
    DNC_REVOKES_TRACKING the gate treats tracking as refused too, whatever is recorded."""
    with transaction.atomic():
        # One change at a time per contact: two submits at once must not both record it.
        Contact.objects.select_for_update().filter(pk=contact.pk).first()
        held = preferences_get(contact=contact)
        if wanted.dnc and not held.dnc:
            dnc_add(
                contact=contact,
                channel=Channel.EMAIL,
                reason=DncReason.UNSUBSCRIBED,
                comment="preference page",
            )
        elif not wanted.dnc and held.dnc:
            dnc_remove(contact=contact, channel=Channel.EMAIL)
        tracking = wanted.tracking and not (wanted.dnc and settings.DNC_REVOKES_TRACKING)
        records = []
        for purpose, want, has in (
            (Purpose.EMAIL, wanted.email_news and not wanted.dnc, held.email_news),
            (Purpose.TRACKING, tracking, held.tracking),
        ):
            if want != has:
                write = consent_grant if want else consent_withdraw
                records.append(
                    write(
                        contact=contact,
                        purpose=purpose,
                        source=PREFERENCES_SOURCE,
                        ip_masked=ip_masked,
                    )
                )
    return records
