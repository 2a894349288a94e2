"""Hits, split by what may be kept: anonymous staging rows (hash-bearing, purged with their
salt after 48 h), identified hits (kept RETENTION_DAYS) and daily rollups (no identifiers)."""

from __future__ import annotations

import json

from django.db import models

# Event keys that hold a secret: an email recipient's token (t, r) or a device id (d).
SECRET_EVENT_KEYS = ("t", "r", "d")


class Salt(models.Model):
    """A day's random salt for the embedded default (Redis holds it otherwise)."""

    day = models.DateField(unique=True)
    value = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"salt {self.day}"


class CountedEvent(models.Model):
    """What every counted kind's row holds (consentry/kinds.py): the pipeline event's id (so a
    redelivery is one row), when, whether a machine made it, and, only with a permit, the
    device and its contact."""

    event_id = models.UUIDField(unique=True)
    created_at = models.DateTimeField()
    # Crawlers, prefetches, mail proxies: stored, never counted as people.
    machine = models.BooleanField(default=False)
    # Only with a permit (decision.identify); anonymous otherwise.
    device = models.ForeignKey(
        "contacts.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        abstract = True


class HitFields(models.Model):
    event_id = models.UUIDField(unique=True)
    day = models.DateField()
    created_at = models.DateTimeField()
    site = models.CharField(max_length=255)
    path = models.CharField(max_length=1000)
    title = models.CharField(max_length=300, blank=True, default="")
    referrer_domain = models.CharField(max_length=255, blank=True, default="")
    utm_source = models.CharField(max_length=200, blank=True, default="")
    utm_medium = models.CharField(max_length=200, blank=True, default="")
    utm_campaign = models.CharField(max_length=200, blank=True, default="")
    device_class = models.CharField(max_length=16, blank=True, default="")
    browser = models.CharField(max_length=64, blank=True, default="")
    # Keyed hash of the day's salt, site, masked IP and user agent. It dies with the salt.
    visitor = models.CharField(max_length=32, blank=True, default="")
    # The same hash under yesterday's salt, only for hits in the first 30 minutes after
    # midnight, so that a session crossing midnight continues.
    visitor_prev = models.CharField(max_length=32, blank=True, default="")

    class Meta:
        abstract = True


class AnonymousHit(HitFields):
    # Crawlers, prefetches, HEAD requests: counted apart, never as people.
    machine = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["day", "site"]), models.Index(fields=["day", "visitor"])]

    def __str__(self) -> str:
        return f"{self.site}{self.path}"


class PageHit(HitFields):
    """A hit that may be tied to a person: only with a permit (decision.identify)."""

    device = models.ForeignKey(
        "contacts.Device", null=True, blank=True, on_delete=models.CASCADE, related_name="hits"
    )
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="hits"
    )
    url = models.CharField(max_length=2048, blank=True, default="")
    referrer = models.CharField(max_length=2048, blank=True, default="")
    language = models.CharField(max_length=35, blank=True, default="")
    resolution = models.CharField(max_length=20, blank=True, default="")

    class Meta:
        indexes = [
            models.Index(fields=["day", "site"]),
            models.Index(fields=["contact", "-created_at"]),
            models.Index(fields=["created_at"]),
        ]

    def __str__(self) -> str:
        return self.url


class Audience(models.TextChoices):
    ANONYMOUS = "anonymous"
    IDENTIFIED = "identified"
    MACHINE = "machine"
    # People, anonymous and identified together, each visitor once.
    ALL = "all"


class DailyStat(models.Model):
    """Daily counts and uniques; holds no identifier, so it is kept as long as wanted."""

    day = models.DateField()
    site = models.CharField(max_length=255)
    # total, path, referrer, utm_source, utm_medium, utm_campaign, device, browser
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=1000, blank=True, default="")
    audience = models.CharField(max_length=16, choices=Audience.choices)
    hits = models.PositiveIntegerField(default=0)
    visitors = models.PositiveIntegerField(default=0)
    sessions = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "site", "dimension", "key", "audience"], name="dailystat_unique"
            )
        ]
        indexes = [models.Index(fields=["site", "dimension", "day"])]

    def __str__(self) -> str:
        return f"{self.day} {self.site} {self.dimension}={self.key} ({self.audience})"


class DeadLetter(models.Model):
    """A pipeline event that could not be stored after DRAIN_MAX_TRIES tries, kept with its
    error until an operator re-drives it (`manage.py tracker_redrive`) or discards it.

    Kept in the database rather than in Redis: it must outlive a Redis restart, the admin and
    the API list it, and the embedded default has no Redis. The event is kept as ASCII JSON
    text (every character outside ASCII escaped), so that even an event holding something
    PostgreSQL refuses can be kept and read.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Where it failed: "drain" (from the stream) or "write-through" (stored from the request).
    source = models.CharField(max_length=16)
    stream_id = models.CharField(max_length=32, blank=True, default="")
    event_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    kind = models.CharField(max_length=32, blank=True, default="")
    payload = models.TextField()
    error = models.TextField()
    tries = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"dead letter {self.pk} ({self.kind or 'unknown'})"

    def payload_shown(self) -> str:
        """The payload as the admin and the API show it: a recipient's token would let whoever
        reads it unsubscribe that recipient, and a device id would let them act as the browser,
        so both are hidden. Re-driving uses the payload as kept."""
        try:
            event = json.loads(self.payload)
        except ValueError:
            event = None
        if not isinstance(event, dict) or "unreadable" in event:
            # Nothing says which part of it is a token: none of it is shown.
            return f"(not an event object: {len(self.payload)} characters, not shown)"
        for key in SECRET_EVENT_KEYS:
            if event.get(key):
                event[key] = "(hidden)"
        return json.dumps(event, ensure_ascii=True)
