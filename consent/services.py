from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase

from consent.cookies import choice_write
from consent.gate import Browser, Choice, Decision, choice_taken, read_browser
from consent.ip import masked_client_ip
from consent.models import Action, ConsentRecord, Purpose

if TYPE_CHECKING:
    from contacts.models import Contact


def browser_key_hash(browser_key: str) -> str:
    """One-way: the record proves a browser's choice; the log cannot be used to find it."""
    return hashlib.blake2b(
        browser_key.encode(), key=settings.SECRET_KEY.encode()[:64], digest_size=16
    ).hexdigest()


def consent_record(
    *,
    action: str,
    purpose: str = Purpose.TRACKING,
    source: str,
    contact: Contact | None = None,
    browser_key: str = "",
    notice_version: str | None = None,
    ip_masked: str | None = None,
) -> ConsentRecord:
    """Append one consent record: a grant, a withdrawal or an objection, for a contact, a
    browser (by its consent cookie's key, hashed) or both."""
    if purpose not in Purpose.values:
        raise ValueError(f"unknown consent purpose {purpose!r}")
    if action not in Action.values:
        raise ValueError(f"unknown consent action {action!r}")
    if contact is None and not browser_key:
        raise ValueError("a consent record names a contact, a browser, or both")
    # A browser's own choice (no contact) is one insert and sends no event: no transaction.
    with transaction.atomic() if contact is not None else nullcontext():
        record = ConsentRecord.objects.create(
            contact=contact,
            browser_key=browser_key_hash(browser_key) if browser_key else "",
            purpose=purpose,
            action=action,
            source=source,
            notice_version=notice_version or settings.CONSENT_NOTICE_VERSION,
            ip_masked=ip_masked,
        )
        if contact is not None:
            # A browser's own choice names no one: it sends no event.
            from webhooks.services import webhook_emit

            webhook_emit(
                type="consent.changed",
                data={
                    "contact": {"id": contact.pk},
                    "purpose": purpose,
                    "action": action,
                    "source": source,
                    "notice_version": record.notice_version,
                },
                contact_id=contact.pk,
            )
    return record


# Granting and withdrawing are the same record with its action named.
consent_grant = partial(consent_record, action=Action.GRANT)
consent_withdraw = partial(consent_record, action=Action.WITHDRAW)


_CHOICE_ACTIONS = {
    "g": Action.GRANT,
    "r": Action.WITHDRAW,
    "o": Action.OBJECT,
}


def choice_make(
    *,
    request: HttpRequest,
    response: HttpResponseBase,
    choice: Choice,
    source: str,
    contact: Contact | None = None,
    notice_version: str | None = None,
) -> tuple[Browser, ConsentRecord]:
    """A visitor's explicit tracking choice: remembered on their browser and recorded as proof.

    Returns the browser as it stands after the choice, for the gate to decide again under it.
    """
    browser = read_browser(request)
    stored = choice_write(
        response,
        browser,
        choice=choice,
        notice_version=notice_version or settings.CONSENT_NOTICE_VERSION,
    )
    record = consent_record(
        purpose=Purpose.TRACKING,
        action=_CHOICE_ACTIONS[choice.value],
        source=source,
        contact=contact,
        browser_key=stored.browser_key,
        notice_version=stored.notice_version,
        ip_masked=masked_client_ip(request),
    )
    return replace(browser, choice=stored), record


def choice_report(
    *,
    request: HttpRequest,
    response: HttpResponseBase,
    decision: Decision,
    choice: Choice,
    source: str,
    explicit: bool,
    contact: Contact | None = None,
    notice_version: str | None = None,
) -> tuple[Browser, ConsentRecord | None]:
    """A choice a page reports: the script's consent command, or a consent banner's bridge
    naming itself as `source`. Remembered and recorded only when it changes what this browser
    holds (`consent.gate.choice_taken`); otherwise nothing is written, so the cookie's expiry
    and the consent log stay as they were.

    `decision` is the gate's answer before the choice. Returns the browser as it stands after
    the report, and the record when one was made.
    """
    if not choice_taken(decision, choice=choice, notice_version=notice_version, explicit=explicit):
        return decision.browser, None
    return choice_make(
        request=request,
        response=response,
        choice=choice,
        source=source,
        contact=contact,
        notice_version=notice_version,
    )
