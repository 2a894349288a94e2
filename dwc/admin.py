from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from dwc.models import Item, Slot, Variant


class ItemFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        # Each row is checked against the database alone, so two rows ticked in one save would
        # both pass and the second insert would break the constraint.
        defaults = [
            form.cleaned_data.get("name", "")
            for form in self.forms
            if form.cleaned_data
            and form.cleaned_data.get("is_default")
            and not form.cleaned_data.get("DELETE")
        ]
        if len(defaults) > 1:
            raise ValidationError(
                f"A slot has one default item, and {' and '.join(defaults)} are both ticked "
                "'Is default': untick all but one."
            )


class ItemInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Item
    formset = ItemFormSet
    fields = ["name", "published", "is_default"]
    show_change_link = True
    extra = 0


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "description", "views", "personalised"]
    search_fields = ["name", "description"]
    readonly_fields = ["embed_code"]
    inlines = [ItemInline]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (
            "Embed",
            {
                "fields": ["embed_code"],
                "description": "Put this where the content goes, on a page that loads the "
                "tracking script. The text inside stays until the slot is filled, and for "
                "visitors who have not granted tracking when the slot has no default item.",
            },
        ),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Slot]:
        slots: QuerySet[Slot] = super().get_queryset(request)
        human = Q(views__machine=False)
        return slots.annotate(
            n_views=Count("views", filter=human),
            n_personalised=Count("views", filter=human & Q(views__variant__isnull=False)),
        )

    @admin.display(description="views", ordering="n_views")
    def views(self, obj: Slot) -> int:
        return int(getattr(obj, "n_views", 0))

    @admin.display(description="personalised", ordering="n_personalised")
    def personalised(self, obj: Slot) -> int:
        return int(getattr(obj, "n_personalised", 0))

    @admin.display(description="embed code")
    def embed_code(self, obj: Slot) -> str:
        if not obj.pk:
            return "Save the slot first."
        return format_html(
            '<code>&lt;div data-slot="dwc" data-param-slot-name="{}"&gt;Default text'
            '&lt;/div&gt;</code><br><code>&lt;script src="{}" async&gt;&lt;/script&gt;</code>',
            obj.name,
            f"{settings.PUBLIC_URL}{reverse('mtc-js')}",
        )


class VariantInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Variant
    fields = ["name", "published", "priority", "content", "filters"]
    extra = 0


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "slot", "published", "is_default"]
    list_filter = ["published", "is_default", "slot"]
    search_fields = ["name", "slot__name"]
    fields = ["slot", "name", "published", "is_default", "content"]
    inlines = [VariantInline]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "item", "published", "priority"]
    list_filter = ["published"]
    search_fields = ["name", "item__name", "item__slot__name"]
    fields = ["item", "name", "published", "priority", "content", "filters"]
