"""The REST API for dynamic web content: slots, their items and the items' variants, each
read, created, changed and deleted with the model permissions of its own kind."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from api.crud import crud
from dwc.filters import filters_check
from dwc.models import Item, Slot, Variant
from dwc.services import dwc_content_clean


class DwcSlotSerializer(serializers.ModelSerializer[Slot]):
    class Meta:
        model = Slot
        fields = ["id", "name", "description", "created_at", "updated_at"]


class DwcItemSerializer(serializers.ModelSerializer[Item]):
    content_safe = serializers.SerializerMethodField(
        help_text="The content as visitors get it, sanitised."
    )

    class Meta:
        model = Item
        fields = [
            "id",
            "slot",
            "name",
            "content",
            "content_safe",
            "published",
            "is_default",
            "created_at",
            "updated_at",
        ]
        # validate() says which field breaks the one-default rule, instead of DRF's generic
        # "must make a unique set".
        validators: list[object] = []

    def get_content_safe(self, item: Item) -> str:
        return dwc_content_clean(html=item.content)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The one-default rule as a 400 naming the field, not the database's refusal.
        slot = attrs.get("slot", getattr(self.instance, "slot", None))
        default = attrs.get("is_default", getattr(self.instance, "is_default", False))
        if slot is not None and default:
            others = Item.objects.filter(slot=slot, is_default=True)
            if self.instance is not None:
                others = others.exclude(pk=self.instance.pk)
            if others.exists():
                raise serializers.ValidationError(
                    {"is_default": "this slot already has a default item"}
                )
        return attrs


class DwcVariantSerializer(serializers.ModelSerializer[Variant]):
    content_safe = serializers.SerializerMethodField(
        help_text="The content as matching contacts get it, sanitised."
    )
    filters = serializers.JSONField(
        required=False,
        help_text="Conditions on the contact: [{field, op, value, glue}], see the admin's help.",
    )

    class Meta:
        model = Variant
        fields = [
            "id",
            "item",
            "name",
            "content",
            "content_safe",
            "published",
            "priority",
            "filters",
            "created_at",
            "updated_at",
        ]

    def get_content_safe(self, variant: Variant) -> str:
        return dwc_content_clean(html=variant.content)

    def validate_filters(self, value: object) -> list[dict[str, Any]]:
        try:
            return filters_check(filters=value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc


DwcSlotListApi, DwcSlotDetailApi = crud(Slot, DwcSlotSerializer)
DwcItemListApi, DwcItemDetailApi = crud(Item, DwcItemSerializer)
DwcVariantListApi, DwcVariantDetailApi = crud(Variant, DwcVariantSerializer)
