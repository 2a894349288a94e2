"""Emails, their sends, and what recipients did with them.

Every public token is random (at least 128 bits): never a sequential id, never time-based.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from contacts.models import Contact


def token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


class SendBasis(models.TextChoices):
    """The lawful basis a message is sent under. Do-Not-Contact holds under every one."""

    # The contact's own email opt-in, its newest record a grant: the default.
    CONSENT = "consent", "Email consent (opt-in)"
    # An existing customer's soft opt-in (ePrivacy Art. 13(2)): mailed unless they withdrew or
    # objected; those who did opt in are still sent under their consent.
    SOFT_OPT_IN = "soft_opt_in", "Soft opt-in (existing customers)"
    # A message the contact needs whatever they chose about news (a receipt, a reset).
    TRANSACTIONAL = "transactional", "Transactional"


class Email(models.Model):
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=300)
    from_email = models.EmailField()
    from_name = models.CharField(max_length=200, blank=True, default="")
    html = models.TextField()
    # Plain-text part; derived from the HTML when left empty.
    text = models.TextField(blank=True, default="")
    # Whom a send may reach: by default only contacts who opted in to email.
    basis = models.CharField(
        max_length=16,
        choices=SendBasis.choices,
        default=SendBasis.CONSENT,
        help_text="Who may receive it: only contacts who opted in to email, unless you name "
        "another lawful basis. Do-Not-Contact is honoured whatever the basis.",
    )
    # The shared open pixel of recipients who did not consent to tracking: counts in
    # aggregate only.
    pixel_token = models.CharField(max_length=43, unique=True, default=token)
    # An email that was sent is archived, never deleted: its recipients are the record of who
    # was mailed, and the links in delivered mail must keep working.
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class TrackedLink(models.Model):
    """A destination behind /r/{redirect_id}: a link of an email, or a focus item's button."""

    email = models.ForeignKey(
        Email, null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    focus = models.ForeignKey(
        "focus.FocusItem", null=True, blank=True, on_delete=models.CASCADE, related_name="links"
    )
    url = models.URLField(max_length=2048)
    # The public id in /r/{redirect_id}: the only way to a destination is this stored URL.
    redirect_id = models.CharField(max_length=32, unique=True, default=token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["email", "url"], name="link_once_per_email"),
            models.CheckConstraint(
                condition=models.Q(email__isnull=True, focus__isnull=False)
                | models.Q(email__isnull=False, focus__isnull=True),
                name="link_of_an_email_or_a_focus_item",
            ),
        ]

    def __str__(self) -> str:
        return self.url


class EmailSend(models.Model):
    """One send of an email to a list of contacts."""

    email = models.ForeignKey(Email, on_delete=models.PROTECT, related_name="sends")
    # The messages of an external send are rendered for a site's own sender, not sent here.
    external = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} at {self.created_at:%Y-%m-%d %H:%M}"


class RecipientStatus(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"
    SKIPPED_DNC = "skipped_dnc"
    SKIPPED_CONSENT = "skipped_consent"  # no basis covers the contact at send time
    FAILED = "failed"
    EXTERNAL = "external"  # rendered for the site's own sender


class Recipient(models.Model):
    """One recipient of one send: the token in their unsubscribe, web-view and (with
    consent) open-pixel URLs.

    Erasing the contact keeps the row, with no contact and no token (contacts/rights.py): the
    send's figures count it still, and nothing in it leads back to the person."""

    send = models.ForeignKey(EmailSend, on_delete=models.CASCADE, related_name="recipients")
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="email_recipients",
    )
    # None once the contact is erased: the links in the mail they received lead nowhere.
    # Absent rather than empty, as many erased rows may be and the token stays unique.
    token = models.CharField(max_length=43, unique=True, null=True, default=token)  # noqa: DJ001
    status = models.CharField(
        max_length=16, choices=RecipientStatus.choices, default=RecipientStatus.QUEUED
    )
    # Did this recipient get a per-recipient pixel and attributed links (tracking consent
    # granted when the message was rendered)?
    tracked = models.BooleanField(default=False)
    # The basis this recipient was sent under, settled at send time (empty until then, and
    # for those skipped).
    basis = models.CharField(max_length=16, choices=SendBasis.choices, blank=True, default="")
    message_id = models.CharField(max_length=255, blank=True, default="")
    error = models.CharField(max_length=500, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["send", "contact"], name="one_recipient_per_send")
        ]
        indexes = [models.Index(fields=["send", "status"])]

    def __str__(self) -> str:
        return f"recipient {self.pk}"

    # A message, link or page is only ever made for a recipient found by its token, which an
    # erased contact's row no longer has: these read what such a recipient always holds.
    @property
    def addressee(self) -> Contact:
        if self.contact is None:
            raise LookupError(f"recipient {self.pk}: its contact was erased")
        return self.contact

    @property
    def live_token(self) -> str:
        if self.token is None:
            raise LookupError(f"recipient {self.pk}: its contact was erased")
        return self.token


class MachineSource(models.TextChoices):
    """Why a fetch was a machine's, not a person's."""

    AGENT = "agent"  # a scanner's or proxy's user agent
    PREFETCH = "prefetch"  # the browser fetched ahead (Sec-Purpose: prefetch)
    APPLE_RELAY = "apple-relay"  # Apple Mail Privacy Protection / iCloud Private Relay ranges
    GOOGLE_PROXY = "google-proxy"  # Gmail's image proxy ranges


class EmailOpen(models.Model):
    event_id = models.UUIDField(unique=True)
    email = models.ForeignKey(Email, on_delete=models.CASCADE, related_name="opens")
    # Only for recipients who consented to tracking; otherwise counted in aggregate only.
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.CASCADE, related_name="opens"
    )
    # Privacy proxies, image pre-fetchers and scanners: stored, not counted as human.
    machine = models.BooleanField(default=False)
    # Why it is a machine's; empty for a person's open (and for machine opens recorded
    # before the source was kept).
    machine_source = models.CharField(
        max_length=16, choices=MachineSource.choices, blank=True, default=""
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["email", "created_at"])]

    def __str__(self) -> str:
        return f"open of {self.email_id}"


class EmailClick(models.Model):
    event_id = models.UUIDField(unique=True)
    link = models.ForeignKey(TrackedLink, on_delete=models.CASCADE, related_name="clicks")
    recipient = models.ForeignKey(
        Recipient, null=True, blank=True, on_delete=models.CASCADE, related_name="clicks"
    )
    machine = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["link", "created_at"])]

    def __str__(self) -> str:
        return f"click on {self.link_id}"
