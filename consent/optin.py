"""Double opt-in: an email-consent box ticked (or an API grant asked for) sends a confirmation
link to the address, and the consent is recorded only when that link is confirmed, with the
confirmation's time and masked address as proof that the address's owner agreed.

The link is signed (a salt of its own), single-use and expiring; it carries a random key and
nothing else, so a link names no one and a guessed or altered one confirms nothing.
"""

from __future__ import annotations

import datetime as dt
import secrets
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from consent.models import Action, ConsentRecord, OptInRequest, Purpose
from consent.services import consent_record

OPTIN_SALT = "consentry.consent.optin"
OPTIN_SOURCE = "double_opt_in"


def optin_token_make(*, optin: OptInRequest) -> str:
    return signing.dumps(optin.key, salt=OPTIN_SALT)


def optin_token_read(token: str) -> str | None:
    """The request's key, or None for a forged, garbled or stale link. The link's age is
    checked here as well as on the row, so an expired link is refused even before retention
    has deleted its row."""
    try:
        key = signing.loads(
            token, salt=OPTIN_SALT, max_age=dt.timedelta(hours=settings.DOUBLE_OPT_IN_HOURS)
        )
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return key if isinstance(key, str) else None


def optin_url(*, optin: OptInRequest) -> str:
    return settings.PUBLIC_URL + reverse("email-confirm", args=[optin_token_make(optin=optin)])


# A form anyone can fill in must not become a way to flood someone's mailbox: while a request
# this recent is pending, ticking the box again sends no second email (the first still works).
OPTIN_RESEND_AFTER = dt.timedelta(minutes=10)


def optin_request(
    *, contact_id: int, origin: str, notice_version: str | None = None
) -> OptInRequest:
    """Ask the contact to confirm their email consent. Nothing is recorded as consent yet; the
    confirmation email leaves after the commit, through a task."""
    from consent.tasks import optin_send_task

    now = timezone.now()
    recent = (
        OptInRequest.objects.filter(
            contact_id=contact_id,
            confirmed_at__isnull=True,
            expires_at__gt=now,
            created_at__gt=now - OPTIN_RESEND_AFTER,
        )
        .order_by("-created_at")
        .first()
    )
    if recent is not None:
        return recent
    optin = OptInRequest.objects.create(
        contact_id=contact_id,
        key=secrets.token_urlsafe(32),
        origin=origin,
        notice_version=notice_version or settings.CONSENT_NOTICE_VERSION,
        expires_at=now + dt.timedelta(hours=settings.DOUBLE_OPT_IN_HOURS),
    )
    # Robust: a mail server that is down must not fail the form that asked (the task retries).
    transaction.on_commit(partial(optin_send_task.delay, optin.pk), robust=True)
    return optin


def optin_send(*, optin_id: int) -> bool:
    """Send the confirmation email of a pending request; False when there is nothing to send
    (confirmed, expired, or the contact erased meanwhile)."""
    optin = (
        OptInRequest.objects.select_related("contact")
        .filter(pk=optin_id, confirmed_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )
    if optin is None or not optin.contact.email:
        return False
    context = {"url": optin_url(optin=optin), "hours": settings.DOUBLE_OPT_IN_HOURS}
    message = EmailMultiAlternatives(
        subject="Please confirm your subscription",
        body=render_to_string("consent/optin_email.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[optin.contact.email],
    )
    message.attach_alternative(render_to_string("consent/optin_email.html", context), "text/html")
    message.send()
    return True


def optin_confirm(*, token: str, ip_masked: str | None) -> ConsentRecord | None:
    """Confirm a pending request: its email-consent grant, recorded now, from this masked
    address. None, and nothing written, for a link that is invalid, expired or already used."""
    key = optin_token_read(token)
    if key is None:
        return None
    with transaction.atomic():
        # Under a row lock, so two clicks at once confirm once.
        optin = (
            OptInRequest.objects.select_for_update()
            .select_related("contact")
            .filter(key=key, confirmed_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if optin is None:
            return None
        optin.confirmed_at = timezone.now()
        optin.save(update_fields=["confirmed_at"])
        return consent_record(
            action=Action.GRANT,
            purpose=Purpose.EMAIL,
            source=OPTIN_SOURCE,
            contact=optin.contact,
            notice_version=optin.notice_version,
            ip_masked=ip_masked,
        )


def optin_requests_expire(*, now: dt.datetime | None = None) -> int:
    """Delete requests past their expiry, confirmed or not: an unconfirmed one was never
    consent, and a confirmed one's proof is its consent record. Idempotent."""
    deleted, _ = OptInRequest.objects.filter(expires_at__lte=now or timezone.now()).delete()
    return deleted
