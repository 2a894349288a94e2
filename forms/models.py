"""Embeddable forms. A form sets the tracker's cookie on submission only when its switch is on,
the embed is not a kiosk, and the consent gate permits it."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from consentry.redirects import browser_url_validate, origins_read, redirect_target, url_read
from consentry.sites import sites_tracked


class Form(models.Model):
    name = models.CharField(max_length=200)
    published = models.BooleanField(default=True)
    success_message = models.CharField(
        max_length=500, blank=True, default="Thank you, we received your message."
    )
    # Where a visitor goes after submitting; must be an allowed origin (no open redirect).
    redirect_url = models.URLField(max_length=2048, blank=True, default="")
    # Origins that may embed and submit this form, one per line (besides the tracked sites).
    allowed_origins = models.TextField(blank=True, default="")
    # Off by default: a plain contact form should not track. On, a submission may identify
    # the browser, if the gate permits it (mode always, the tracking-consent field ticked, or
    # a grant already held).
    set_cookie_on_submission = models.BooleanField(default=False)
    # Kiosk: never identify the browser nor link it to the contact (shared devices).
    kiosk = models.BooleanField(default=False)
    # Double opt-in: a ticked email-consent box sends a confirmation link, and email consent
    # is recorded only when the address's owner confirms it (expected in Germany and Austria).
    double_opt_in = models.BooleanField(default=False)
    submit_label = models.CharField(max_length=100, default="Submit")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name

    def origins(self) -> list[str]:
        return [o.strip().rstrip("/").lower() for o in self.allowed_origins.split() if o.strip()]

    def redirect_origins(self) -> frozenset[str]:
        """Where a visitor may be sent after submitting: this form's origins, the tracked
        sites and the tracker itself (the view adds the host the visitor reached it by)."""
        return origins_read([*self.origins(), *sites_tracked(), settings.PUBLIC_URL])

    def clean(self) -> None:
        redirect_url_check(redirect_url=self.redirect_url, allowed=self.redirect_origins())


def redirect_url_check(*, redirect_url: str, allowed: frozenset[str]) -> None:
    """Refuses, when the operator saves a form, a redirect URL that visitors would not be
    sent to: the same reading as when they are (consentry.redirects)."""
    if not redirect_url:
        return
    try:
        browser_url_validate(redirect_url)
    except ValidationError as exc:
        raise ValidationError({"redirect_url": exc.messages}) from None
    url = url_read(redirect_url)
    if url is not None and redirect_target(redirect_url, allowed=allowed) is None:
        raise ValidationError(
            {
                "redirect_url": f"Visitors can only be sent to this form's allowed origins, "
                f"the tracked sites or this server; {url.origin} is none of them. Add it to "
                f"the allowed origins first."
            }
        )


# Ours, then Mautic's own keys (forms/mautic.py): no field may take their names.
RESERVED_ALIASES = (
    "cs_hp",
    "cs_focus",
    "kiosk",
    "formid",
    "formname",
    "return",
    "messenger",
    "submit",
)


def validate_alias(value: str) -> None:
    if value in RESERVED_ALIASES:
        raise ValidationError(f"{value!r} is reserved; choose another alias.")


class FieldType(models.TextChoices):
    TEXT = "text", "Text"
    EMAIL = "email", "Email"
    TEXTAREA = "textarea", "Text area"
    NUMBER = "number", "Number"
    SELECT = "select", "Select"
    RADIO = "radio", "Radio buttons"
    CHECKBOX_GROUP = "checkbox_group", "Checkbox group"
    HIDDEN = "hidden", "Hidden"
    DATE = "date", "Date"
    TRACKING_CONSENT = "tracking_consent", "Tracking consent"
    EMAIL_CONSENT = "email_consent", "Email consent (marketing opt-in)"


CONSENT_TYPES = (FieldType.TRACKING_CONSENT, FieldType.EMAIL_CONSENT)


class Field(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(max_length=500)
    alias = models.CharField(
        max_length=64,
        validators=[
            RegexValidator(r"^[a-z][a-z0-9_]*$", "lower-case letters, digits and _"),
            validate_alias,
        ],
    )
    type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.TEXT)
    required = models.BooleanField(default=False)
    default = models.CharField(max_length=500, blank=True, default="")
    # Choices of select, radio and checkbox group fields, one per line.
    options = models.TextField(blank=True, default="")
    max_length = models.PositiveIntegerField(null=True, blank=True)
    min_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    max_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    # The contact field this maps to: email, first_name, last_name, or a custom field alias.
    contact_field = models.CharField(max_length=64, blank=True, default="")
    # For the tracking-consent field: the notice version a tick agrees to (blank: current).
    notice_version = models.CharField(max_length=32, blank=True, default="")
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.UniqueConstraint(fields=["form", "alias"], name="alias_per_form")]

    def __str__(self) -> str:
        return self.label

    def choices(self) -> list[str]:
        return [line.strip() for line in self.options.splitlines() if line.strip()]


class Submission(models.Model):
    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="submissions")
    contact = models.ForeignKey(
        "contacts.Contact",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="submissions",
    )
    data = models.JSONField(default=dict)
    kiosk = models.BooleanField(default=False)
    # Was the browser tied to the contact by this submission?
    identified = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"submission {self.pk} of {self.form_id}"
