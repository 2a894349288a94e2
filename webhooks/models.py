"""Outgoing webhooks: the endpoints an operator registers, the events the product emits for
them, and one delivery per event and endpoint with its attempts (the delivery log)."""

from __future__ import annotations

import uuid

from django.db import models


class Endpoint(models.Model):
    url = models.URLField(
        max_length=2000,
        help_text="Where each event is POSTed, e.g. https://crm.example.com/hooks/consentry. "
        "Only public addresses are reached, unless WEBHOOK_ALLOWED_NETWORKS names a private "
        "network; redirects are not followed.",
    )
    description = models.CharField(
        max_length=200, blank=True, help_text="A name for the list, e.g. CRM sync"
    )
    events = models.JSONField(
        default=list,
        help_text="The event types sent to this endpoint, e.g. consent.changed, dnc.added.",
    )
    # The signing secret (whsec_ + base64). Shown once, when the endpoint is created; signing
    # needs it as it is, so it is kept as it is and never displayed again.
    secret = models.CharField(max_length=100)
    active = models.BooleanField(
        default=True, help_text="Untick to stop sending without forgetting the endpoint."
    )
    # Since when every attempt has failed (None: the last one succeeded, or none was made).
    failing_since = models.DateTimeField(null=True, blank=True)
    # Why the product switched it off (a 410, or failing for too long); empty when it did not.
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.description or self.url


class WebhookEvent(models.Model):
    """One thing that happened, as sent to every endpoint that subscribes to its type. Its id
    is the `webhook-id` header: stable across retries and redeliveries, so that a receiver
    can drop a duplicate."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=50, db_index=True)
    # The `data` of the body; emptied when the person it is about is erased.
    data = models.JSONField(default=dict)
    # The contact the event is about, to find its payloads at erasure (not a key: the event
    # outlives the contact as an emptied log line).
    contact_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.msg_id}"

    @property
    def msg_id(self) -> str:
        return f"msg_{self.id.hex}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Not sent (endpoint disabled)"


class Delivery(models.Model):
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # Failures are retried until then (WEBHOOK_RETRY_HOURS after the first try, or after a
    # redelivery); the delivery has failed after.
    retry_until = models.DateTimeField()
    # While a worker sends it, no other takes it; a worker that died lets it go at this time.
    leased_until = models.DateTimeField(null=True, blank=True)
    # Which claim holds the lease: a worker whose lease ran out (and was taken by another)
    # records its attempt but changes nothing else.
    lease_token = models.UUIDField(null=True, blank=True)
    # Handed to the task queue until then: the sweep queues it again only after, so a long
    # backlog is not queued over and over (and a task lost with its worker is queued anew).
    queued_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"],
                name="webhooks_one_delivery_per_endpoint",
                violation_error_message="This event is already delivered to this endpoint.",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class Attempt(models.Model):
    """One try at a delivery: what the receiver answered and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    milliseconds = models.PositiveIntegerField(default=0)
    # The answer's first bytes (as text), or why no answer came.
    response_head = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"
