"""Dynamic web content (Mautic's DWC): a page marks a slot, `<div data-slot="dwc"
data-param-slot-name="hero">default</div>`, and the tracking script fills it.

A slot shows its default item to everyone; a variant of that item, chosen by filters on the
contact, replaces it only for a known contact whose browser holds a permit. Views are counted
anonymously otherwise."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

from tracker.models import CountedEvent

# What Mautic's script puts in the URL (/dwc/{slot}): a slot name it reads from the markup.
SLOT_NAME_RE = r"^[A-Za-z0-9_.-]{1,100}$"


class Slot(models.Model):
    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[RegexValidator(SLOT_NAME_RE, "letters, digits, '_', '-' and '.' only")],
        help_text='The slot name of the page\'s markup: <div data-slot="dwc" '
        'data-param-slot-name="NAME">…</div>.',
    )
    description = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="items")
    name = models.CharField(max_length=200)
    # HTML from the operator; sanitised to a safe subset whenever it is served.
    content = models.TextField(
        help_text="Simple HTML (links, emphasis, lists, images); anything else is removed "
        "before it is shown."
    )
    published = models.BooleanField(default=True)
    is_default = models.BooleanField(
        default=False,
        help_text="The item this slot shows. One per slot; every visitor sees it, "
        "consent or not, unless a variant matches a known contact who granted tracking.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slot", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["slot"],
                condition=models.Q(is_default=True),
                name="dwc_one_default_item",
                violation_error_message="This slot already has a default item; untick "
                "'Is default' on that one first.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """The item personalised: shown instead of it to a known contact matching the filters."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=200)
    content = models.TextField(help_text="Simple HTML, as for the item.")
    published = models.BooleanField(default=True)
    priority = models.PositiveIntegerField(
        default=100, help_text="Lower first: the first published variant that matches is shown."
    )
    filters = models.JSONField(
        default=list,
        blank=True,
        help_text='A list of conditions, e.g. [{"field": "country", "op": "eq", "value": "FR"}, '
        '{"glue": "or", "field": "consent_email", "op": "eq", "value": "grant"}]. '
        "Fields: email, first_name, last_name, any custom field, consent_tracking, "
        "consent_email, dnc_email, dnc_sms (true/false). Operators: eq, neq, contains, "
        "not_contains, starts, ends, empty, not_empty, gt, gte, lt, lte, in, not_in. "
        'Conditions join with \'and\' unless one says "glue": "or". '
        "No filters: it matches every known contact.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["item", "priority", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from dwc.filters import filters_check

        self.filters = filters_check(filters=self.filters)


class DwcView(CountedEvent):
    """A slot filled on a page: anonymous without a permit (no device, no contact)."""

    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="views")
    item = models.ForeignKey(
        Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The variant shown, when one was (only ever with a permit).
    variant = models.ForeignKey(
        Variant, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["slot", "created_at"])]

    def __str__(self) -> str:
        return f"view of {self.slot_id}"
