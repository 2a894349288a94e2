from __future__ import annotations

from django.db import models


class SetupStep(models.Model):
    """A first-run step that is done once and never again, such as loading the demo: the
    operator may change or erase what it made, and a later start must not bring it back."""

    name = models.CharField(max_length=64, unique=True)
    done_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class TrackedSite(models.Model):
    """A site the tracker counts for: its pages may send hits, embed forms and read the
    answers (CORS). Origins named in TRACKED_SITES are tracked from the first request and
    listed here the first time the list is opened (or at `manage.py bootstrap`); from then on
    the admin decides, and a deactivated one stays off whatever TRACKED_SITES says."""

    origin = models.CharField(
        max_length=200,
        unique=True,
        help_text="The site's origin as a browser sends it: scheme, host and port only, "
        "e.g. https://www.example.com (no path). Each subdomain is its own origin.",
    )
    label = models.CharField(
        max_length=100, blank=True, help_text="A name for the list, e.g. the shop"
    )
    active = models.BooleanField(
        default=True,
        help_text="Untick to stop counting this site's hits and answering its embeds, "
        "without forgetting it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["origin"]

    def __str__(self) -> str:
        return self.origin


class RefusedOrigin(models.Model):
    """An origin whose hits were refused because it is not tracked, for the admin to list
    (the embedded default's store; with Redis the list lives there, off the database). It
    holds the origin alone: no address, no page, nothing about a visitor."""

    origin = models.CharField(max_length=200, unique=True)
    count = models.PositiveBigIntegerField(default=0)
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.origin
