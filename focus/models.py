"""Focus items (bars, modals, notifications, full pages): shown to every visitor, counted
without cookies, identified only with a permit: showing an item to a visitor who refused
tracking must not need a tracking cookie."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from consentry.redirects import browser_url_validate
from tracker.models import CountedEvent

_COLOUR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour like #1a2b3c")


class Style(models.TextChoices):
    BAR_TOP = "bar_top", "Bar at the top"
    BAR_BOTTOM = "bar_bottom", "Bar at the bottom"
    MODAL = "modal", "Modal"
    NOTIFICATION = "notification", "Notification (corner)"
    FULL_PAGE = "full_page", "Full page"


class Trigger(models.TextChoices):
    IMMEDIATELY = "immediately", "Immediately"
    DELAY = "delay", "After N seconds"
    SCROLL = "scroll", "At N % scroll"
    EXIT_INTENT = "exit_intent", "On exit intent"


class Frequency(models.TextChoices):
    ONCE = "once", "Once"
    EVERY_PAGE = "every_page", "Every page"
    EVERY_N_MINUTES = "minutes", "Every N minutes"
    ONCE_A_DAY = "daily", "Once a day"


class FocusItem(models.Model):
    name = models.CharField(max_length=200)
    published = models.BooleanField(default=True)
    style = models.CharField(max_length=16, choices=Style.choices, default=Style.BAR_TOP)
    headline = models.CharField(max_length=200)
    # HTML from the admin; sanitised to a small safe subset whenever it is shown.
    text = models.TextField(blank=True, default="")
    background = models.CharField(max_length=7, default="#1f2937", validators=[_COLOUR])
    foreground = models.CharField(max_length=7, default="#ffffff", validators=[_COLOUR])
    button_colour = models.CharField(max_length=7, default="#2563eb", validators=[_COLOUR])
    button_label = models.CharField(max_length=100, blank=True, default="")
    # The button either links somewhere (through a tracked /r/ link) or opens a form.
    # Read as the visitor's browser will read it (consentry/redirects.py), when it is saved.
    button_url = models.URLField(
        max_length=2048, blank=True, default="", validators=[browser_url_validate]
    )
    form = models.ForeignKey(
        "forms.Form", null=True, blank=True, on_delete=models.SET_NULL, related_name="focus_items"
    )
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.IMMEDIATELY)
    # Seconds for "delay", percent for "scroll".
    trigger_value = models.PositiveIntegerField(default=0)
    frequency = models.CharField(
        max_length=16, choices=Frequency.choices, default=Frequency.EVERY_PAGE
    )
    frequency_minutes = models.PositiveIntegerField(default=60)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def due(self, *, last_shown: int | None, now: int) -> bool:
        """Is this item due again for a browser that last saw it at `last_shown`?"""
        if last_shown is None or self.frequency == Frequency.EVERY_PAGE:
            return True
        if self.frequency == Frequency.ONCE:
            return False
        if self.frequency == Frequency.ONCE_A_DAY:
            return now // 86400 != last_shown // 86400
        return now - last_shown >= self.frequency_minutes * 60


class FocusEventKind(models.TextChoices):
    VIEW = "view"
    CONVERSION = "conversion"


class FocusEvent(CountedEvent):
    focus = models.ForeignKey(FocusItem, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16, choices=FocusEventKind.choices)

    class Meta:
        indexes = [models.Index(fields=["focus", "kind", "created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} of {self.focus_id}"
