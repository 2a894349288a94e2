from __future__ import annotations

from typing import Any, NoReturn

from django.db import models
from django.utils import timezone


class AppendOnlyError(Exception):
    """Consent records are proof: they are appended, never changed or deleted."""


class ConsentRecordQuerySet(models.QuerySet["ConsentRecord"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("consent records cannot be updated")

    def delete(self) -> NoReturn:
        raise AppendOnlyError("consent records cannot be deleted")


class Purpose(models.TextChoices):
    TRACKING = "tracking", "Tracking"
    EMAIL = "email", "Email"


class Action(models.TextChoices):
    GRANT = "grant", "Granted"
    WITHDRAW = "withdraw", "Withdrawn"
    # Objects even to anonymous counting (GDPR Art. 21).
    OBJECT = "object", "Objected"
    # A tombstone: someone's records were erased (GDPR Art. 17). It names no one.
    ERASED = "erased", "Erased"


class ConsentRecord(models.Model):
    """One choice, as it was made. The current state is the newest record."""

    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="consent_records",
    )
    # A one-way key of the browser's consent cookie, to prove a browser's choice without
    # holding anything that identifies the browser elsewhere.
    browser_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    action = models.CharField(max_length=16, choices=Action.choices)
    source = models.CharField(max_length=32)
    notice_version = models.CharField(max_length=32, blank=True, default="")
    ip_masked = models.GenericIPAddressField(null=True, blank=True)
    # When the choice was made: an imported record keeps its evidence's time, so that the
    # newest record stays the current state.
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    # Evidence a contact import brought in (the choice was made elsewhere), and its file.
    imported = models.BooleanField(default=False)
    import_file = models.CharField(max_length=255, blank=True, default="")

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["contact", "purpose", "-created_at"])]
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.action} via {self.source}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("consent records cannot be updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("consent records cannot be deleted")


class OptInRequest(models.Model):
    """A double opt-in waiting for its confirmation: email consent is recorded only when the
    contact follows the link sent to the address, which proves the address is theirs.

    Not proof itself (the consent record written at confirmation is): a pending request is
    deleted once it expires, a confirmed one once it is older than its expiry too.
    """

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="optin_requests"
    )
    # Random, and the only thing the signed link carries: the link names no contact.
    key = models.CharField(max_length=43, unique=True)
    # Where the request came from ("form", "api"), kept on the consent record's source.
    origin = models.CharField(max_length=32)
    notice_version = models.CharField(max_length=32, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"opt-in request {self.pk}"
