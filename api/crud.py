"""Create, read, update and delete for the operator's objects: forms, focus items, emails,
assets and landing pages. The public surface reads them; these views only edit them."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers

from api.permissions import ModelPermissionsWithView
from emails.models import Email
from emails.selectors import emails_listed
from focus.models import FocusItem
from focus.services import focus_text_clean
from forms.models import Field, Form, redirect_url_check
from pages.models import Asset, LandingPage
from pages.services import asset_upload_check


class FieldSerializer(serializers.ModelSerializer[Field]):
    class Meta:
        model = Field
        exclude = ["form"]


class FormSerializer(serializers.ModelSerializer[Form]):
    fields_ = FieldSerializer(source="fields", many=True, read_only=True)

    class Meta:
        model = Form
        fields = [
            "id",
            "name",
            "published",
            "success_message",
            "redirect_url",
            "allowed_origins",
            "set_cookie_on_submission",
            "kiosk",
            "double_opt_in",
            "submit_label",
            "fields_",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The admin's check, on the form as it will be saved (a PATCH may change only one side).
        form = Form(
            **{
                "redirect_url": getattr(self.instance, "redirect_url", ""),
                "allowed_origins": getattr(self.instance, "allowed_origins", ""),
                **{k: v for k, v in attrs.items() if k in ("redirect_url", "allowed_origins")},
            }
        )
        try:
            redirect_url_check(redirect_url=form.redirect_url, allowed=form.redirect_origins())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        return attrs


class FocusSerializer(serializers.ModelSerializer[FocusItem]):
    text_safe = serializers.SerializerMethodField()

    class Meta:
        model = FocusItem
        fields = "__all__"

    def get_text_safe(self, item: FocusItem) -> str:
        return focus_text_clean(html=item.text)


class EmailSerializer(serializers.ModelSerializer[Email]):
    class Meta:
        model = Email
        exclude = ["pixel_token"]
        # Archiving is the admin's action; a sent email is archived, never deleted (409).
        read_only_fields = ["archived_at"]


class AssetSerializer(serializers.ModelSerializer[Asset]):
    class Meta:
        model = Asset
        fields = [
            "id",
            "title",
            "slug",
            "file",
            "original_name",
            "content_type",
            "size",
            "published",
            "created_at",
        ]
        read_only_fields = ["original_name", "content_type", "size"]

    def validate_file(self, upload: Any) -> Any:
        try:
            name, content_type = asset_upload_check(upload=upload)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        self._facts = {"original_name": name, "content_type": content_type, "size": upload.size}
        return upload

    def save(self, **kwargs: Any) -> Asset:
        return super().save(**{**kwargs, **getattr(self, "_facts", {})})


class PageSerializer(serializers.ModelSerializer[LandingPage]):
    class Meta:
        model = LandingPage
        fields = "__all__"


class FieldListApi(generics.ListCreateAPIView[Field]):
    serializer_class = FieldSerializer
    permission_classes = [ModelPermissionsWithView]

    def get_queryset(self) -> Any:
        return Field.objects.filter(form_id=self.kwargs["form_id"])

    def perform_create(self, serializer: Any) -> None:
        serializer.save(form=generics.get_object_or_404(Form, pk=self.kwargs["form_id"]))


def crud(model: Any, serializer: Any) -> tuple[Any, Any]:
    """A list/create view and a read/update/delete view for one model."""
    attrs = {
        "queryset": model.objects.order_by("id"),
        "serializer_class": serializer,
        "permission_classes": [ModelPermissionsWithView],
    }
    listing = type(f"{model.__name__}ListApi", (generics.ListCreateAPIView,), attrs)
    detail = type(f"{model.__name__}DetailApi", (generics.RetrieveUpdateDestroyAPIView,), attrs)
    return listing, detail


FormListApi, FormDetailApi = crud(Form, FormSerializer)
FocusListApi, FocusDetailApi = crud(FocusItem, FocusSerializer)
_EmailListApi, EmailDetailApi = crud(Email, EmailSerializer)
_ARCHIVED = {"false": False, "true": True, "all": None}


@extend_schema_view(
    get=extend_schema(
        parameters=[
            OpenApiParameter(
                "archived",
                str,
                enum=list(_ARCHIVED),
                default="false",
                description="Archived emails are left out unless asked for: true lists only "
                "them, all lists every email.",
            )
        ]
    )
)
class EmailListApi(_EmailListApi):  # type: ignore[misc,valid-type]
    def get_queryset(self) -> Any:
        value = self.request.query_params.get("archived", "false").lower()
        if value not in _ARCHIVED:
            raise serializers.ValidationError({"archived": ["must be false, true or all"]})
        return emails_listed(archived=_ARCHIVED[value])


AssetListApi, AssetDetailApi = crud(Asset, AssetSerializer)
PageListApi, PageDetailApi = crud(LandingPage, PageSerializer)
