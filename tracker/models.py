"""Hits, split by what may be kept: anonymous staging rows (hash-bearing, purged with their
salt after 48 h), identified hits (kept RETENTION_DAYS) and daily rollups (no identifiers)."""

from __future__ import annotations

from django.db import models


class Salt(models.Model):
    """A day's random salt for the embedded default (Redis holds it otherwise)."""

    day = models.DateField(unique=True)
    value = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"salt {self.day}"


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
