"""Videos on tracked sites: the plays counted at /video/hit (Mautic's gated-video hits) and,
for a configured video, the form that shows over the player at a given second."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models

from tracker.models import CountedEvent

# A day: no video counted here is longer, and no player reports more of one.
MAX_SECONDS = 86_400


class Video(models.Model):
    name = models.CharField(max_length=200)
    url = models.URLField(
        max_length=2048,
        unique=True,
        help_text="The video's address as the page's player plays it (the <video> element's "
        "source), without a query string: a play of this address is counted for this video, "
        "and the gate below applies to it.",
    )
    published = models.BooleanField(
        default=True, help_text="Unpublished: no gate is shown; plays are still counted."
    )
    form = models.ForeignKey(
        "forms.Form",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="videos",
        help_text="The form shown over the player (the gate). Empty: no gate, plays are only "
        "counted. The video plays on once the form is submitted.",
    )
    gate_seconds = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_SECONDS)],
        help_text="At which second of the video the form shows and the video pauses (0: "
        "before it starts).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class VideoHit(CountedEvent):
    """One play of a video: the player reports it every few seconds with the time watched so
    far, and every report of the same play updates this one row (see video/services.py)."""

    # The configured video of that address, if there is one.
    video = models.ForeignKey(
        Video, null=True, blank=True, on_delete=models.SET_NULL, related_name="hits"
    )
    # The video's address without its query (signed CDN links carry secrets there).
    url = models.CharField(max_length=2048)
    seconds = models.PositiveIntegerField(default=0)
    duration = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["url", "created_at"])]

    def __str__(self) -> str:
        return f"{self.seconds}s of {self.url}"
