"""Landing pages and asset downloads: counted like any page, without cookies unless the
gate permits (Mautic set its tracking cookies on these pages whatever the visitor chose)."""

from __future__ import annotations

import secrets
from pathlib import PurePath

from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse

from tracker.models import CountedEvent

SLUG = RegexValidator(
    r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
    "Use lower-case letters, digits and single dashes only, e.g. autumn-offer.",
)


def asset_path(instance: Asset, filename: str) -> str:
    """A server-generated name under the media root; only the extension survives."""
    return f"assets/{secrets.token_hex(16)}{PurePath(filename).suffix.lower()}"


class Asset(models.Model):
    title = models.CharField(max_length=200)
    slug = models.CharField(max_length=100, unique=True, validators=[SLUG])
    file = models.FileField(upload_to=asset_path, max_length=255)
    # The uploaded name, offered as the download's file name (never used as a path).
    original_name = models.CharField(max_length=255, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    size = models.PositiveBigIntegerField(default=0)
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title


class AssetDownload(CountedEvent):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="downloads")

    class Meta:
        indexes = [models.Index(fields=["asset", "created_at"])]

    def __str__(self) -> str:
        return f"download of {self.asset_id}"


class LandingPage(models.Model):
    title = models.CharField(
        max_length=200, help_text="The page's heading, and its title in the browser's tab."
    )
    slug = models.CharField(
        max_length=100,
        unique=True,
        validators=[SLUG],
        # The admin shows help texts as HTML: no angle brackets here.
        help_text="The end of the page's address (/p/autumn-offer). Filled in from the title; "
        "changing it later breaks the links already handed out.",
        error_messages={"unique": "Another landing page already has this slug; choose another."},
    )
    # HTML from the admin; sanitised whenever it is shown (no script, no handlers).
    body = models.TextField(
        blank=True,
        default="",
        help_text="The page's content in HTML. Headings, paragraphs, links, images, lists and "
        "tables are kept; scripts, styles and event handlers are removed when it is shown.",
    )
    # Off until the operator chooses: a draft is never shown to visitors by accident.
    published = models.BooleanField(
        default=False,
        help_text="Visitors can see the page only when this is ticked; until then they get "
        "a 'page not found', and only signed-in staff can view it.",
    )
    form = models.ForeignKey(
        "forms.Form",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A form shown below the content (only while the form is published).",
    )
    focus = models.ForeignKey(
        "focus.FocusItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="A focus item (bar, modal or notice) shown on the page (only while it is "
        "published).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("landing", args=[self.slug])
