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
from focus.validation import focus_problems
from forms.models import Field, Form, redirect_url_check
from forms.validation import (
    Problem,
    field_problems,
    form_problems,
    form_settings_problems,
    origins_problem,
)
from pages.models import Asset, LandingPage
from pages.services import asset_upload_check


def _refuse(problems: list[Problem]) -> None:
    """The builder's problems as the API's error shape: each message under the field it is
    about, as the admin shows it beside that box."""
    if problems:
        errors: dict[str, list[str]] = {}
        for problem in problems:
            errors.setdefault(problem.field, []).append(problem.message)
        raise serializers.ValidationError(errors)


def _as_saved(model: Any, instance: Any, attrs: dict[str, Any]) -> Any:
    """The object as this write would leave it: a PATCH changes some fields, and the checks
    read them together with the rest."""
    names = [f.name for f in model._meta.concrete_fields]
    values = {n: getattr(instance, n) for n in names if instance is not None}
    return model(**{**values, **{k: v for k, v in attrs.items() if k in names}})


class FieldSerializer(serializers.ModelSerializer[Field]):
    class Meta:
        model = Field
        exclude = ["form"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The builder's rules, one set for the admin and the API: a field that cannot work
        # alone, then one that would clash with the form's others.
        form_field = _as_saved(Field, self.instance, attrs)
        _refuse(field_problems(form_field=form_field))
        view = self.context.get("view")
        form_id = view.kwargs.get("form_id") if view is not None else None
        form = Form.objects.filter(pk=form_id).first() if form_id is not None else None
        if form is not None:
            others = list(form.fields.exclude(pk=form_field.pk))
            together = form_problems(form=form, fields=[*others, form_field])
            if together:
                raise serializers.ValidationError({"non_field_errors": together})
        return attrs


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

    def validate_allowed_origins(self, text: str) -> str:
        problem = origins_problem(text=text)
        if problem:
            raise serializers.ValidationError(problem)
        return text

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The admin's checks, on the form as it will be saved (a PATCH may change only one side).
        form = _as_saved(Form, self.instance, attrs)
        try:
            redirect_url_check(redirect_url=form.redirect_url, allowed=form.redirect_origins())
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc
        _refuse(form_settings_problems(form=form))
        # Its fields are added after it (POST /forms/{id}/fields/), so a new form is checked
        # with them as each is added; a change is checked with the fields it has, and a form
        # still without any only when the change is to publish it.
        fields = list(self.instance.fields.all()) if self.instance is not None else []
        if fields or (self.instance is not None and attrs.get("published")):
            together = form_problems(form=form, fields=fields)
            if together:
                raise serializers.ValidationError({"non_field_errors": together})
        return attrs


class FocusSerializer(serializers.ModelSerializer[FocusItem]):
    text_safe = serializers.SerializerMethodField()

    class Meta:
        model = FocusItem
        fields = "__all__"

    def get_text_safe(self, item: FocusItem) -> str:
        return focus_text_clean(html=item.text)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _refuse(focus_problems(item=_as_saved(FocusItem, self.instance, attrs)))
        return attrs


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
