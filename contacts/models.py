from __future__ import annotations

from django.db import models
from django.db.models.functions import Lower

# Shown wherever a second contact would take an address already held, whatever its case.
DUPLICATE_EMAIL = "A contact with this email already exists."


class Contact(models.Model):
    email = models.EmailField(
        max_length=254,
        blank=True,
        default="",
        help_text="One contact per address, whatever its case. Blank for a contact known only "
        "by a device.",
    )
    first_name = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="Shown in emails where {contactfield=firstname} is written.",
    )
    last_name = models.CharField(
        max_length=150,
        blank=True,
        default="",
        help_text="Shown in emails where {contactfield=lastname} is written.",
    )
    # Custom fields mapped from forms and the API: a flat map of alias -> value.
    fields = models.JSONField(
        default=dict,
        blank=True,
        help_text="Custom fields: what forms map to a contact field, imports and the API set.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="contact_email_ci_unique",
                condition=~models.Q(email=""),
                violation_error_code="unique",
                violation_error_message=DUPLICATE_EMAIL,
            )
        ]
        indexes = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return self.email or f"anonymous contact {self.pk}"


class Device(models.Model):
    """A browser that was permitted to hold a device cookie.

    `public_id` is the random value inside the signed cookie; the primary key never leaves
    the server.
    """

    public_id = models.CharField(max_length=43, unique=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="devices"
    )
    # The browser's consent key, one-way as consent records hold it, taken when the device
    # was tied to a contact: the choices that browser made before anyone knew whose it was
    # are the contact's too, for export and erasure.
    browser_key = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"device {self.pk}"


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    TRACKING = "tracking", "Tracking"


class DncReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    MANUAL = "manual", "Manual"


class DoNotContact(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="dnc_entries")
    channel = models.CharField(
        max_length=16,
        choices=Channel.choices,
        help_text="What the contact is not to receive: emails, text messages, or tracking.",
    )
    reason = models.CharField(
        max_length=16,
        choices=DncReason.choices,
        help_text="Why: an unsubscribe, a bounce or a complaint sets it; Manual when added here.",
    )
    comment = models.CharField(
        max_length=500, blank=True, default="", help_text="A note for the team; optional."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "channel"],
                name="dnc_one_per_channel",
                violation_error_message=(
                    "The contact is already on Do-Not-Contact for this channel."
                ),
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel}: {self.reason}"


class RequestKind(models.TextChoices):
    EXPORT = "export", "Access / portability (Art. 15, 20)"
    ERASE = "erase", "Erasure (Art. 17)"


class DataSubjectRequest(models.Model):
    """When a data-subject request was received and completed (Art. 12: within one month).
    It keeps the contact's id only, which identifies no one once the contact is erased."""

    kind = models.CharField(max_length=16, choices=RequestKind.choices)
    contact_ref = models.PositiveBigIntegerField()
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.kind} of contact {self.contact_ref}"
