"""The audiences API: saved, consent-aware audiences, their contacts and live counts."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import paginated
from api.permissions import per_method
from audiences.filters import filters_clean
from audiences.models import Audience
from audiences.selectors import audience_contacts, audience_count
from audiences.services import audience_create, audience_update
from contacts.apis import ContactOutput
from contacts.selectors import contact_list

_FILTERS_HELP = (
    "Filters, all optional: email_consent and tracking_consent (grant, withdraw, object, "
    "none), dnc (channel to true/false), form (a form id the contact submitted), fields "
    "([{name, op: equals|contains|empty|not_empty, value}]), tags (all of), created_after, "
    "created_before, updated_after, updated_before (YYYY-MM-DD)."
)


class AudienceOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    filters = serializers.DictField(help_text=_FILTERS_HELP)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AudienceInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200)
    filters = serializers.DictField(required=False, default=dict, help_text=_FILTERS_HELP)

    def validate_filters(self, value: Any) -> dict[str, Any]:
        try:
            return filters_clean(value)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc


def _saved(save: Any) -> Audience:
    try:
        with transaction.atomic():
            audience: Audience = save()
            return audience
    except IntegrityError:
        raise ValidationError({"name": "an audience of that name exists"}) from None


class AudienceListApi(APIView):
    permission_classes = [
        per_method(GET=("audiences.view_audience",), POST=("audiences.add_audience",))
    ]

    @extend_schema(responses=paginated(AudienceOutput))
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(Audience._default_manager.order_by("id"), request, self)
        return paginator.get_paginated_response(AudienceOutput(page, many=True).data)

    @extend_schema(request=AudienceInput, responses={201: AudienceOutput})
    def post(self, request: Request) -> Response:
        data = AudienceInput(data=request.data)
        data.is_valid(raise_exception=True)
        audience = _saved(lambda: audience_create(**data.validated_data))
        return Response(AudienceOutput(audience).data, status=status.HTTP_201_CREATED)


class AudienceDetailApi(APIView):
    permission_classes = [
        per_method(
            GET=("audiences.view_audience",),
            PATCH=("audiences.change_audience",),
            PUT=("audiences.change_audience",),
            DELETE=("audiences.delete_audience",),
        )
    ]

    @extend_schema(responses=AudienceOutput)
    def get(self, request: Request, audience_id: int) -> Response:
        return Response(AudienceOutput(get_object_or_404(Audience, pk=audience_id)).data)

    @extend_schema(request=AudienceInput, responses=AudienceOutput)
    def patch(self, request: Request, audience_id: int) -> Response:
        audience = get_object_or_404(Audience, pk=audience_id)
        data = AudienceInput(data=request.data, partial=request.method == "PATCH")
        data.is_valid(raise_exception=True)
        given = data.validated_data
        audience = _saved(
            lambda: audience_update(
                audience=audience, name=given.get("name"), filters=given.get("filters")
            )
        )
        return Response(AudienceOutput(audience).data)

    put = patch

    @extend_schema(responses={204: None})
    def delete(self, request: Request, audience_id: int) -> Response:
        get_object_or_404(Audience, pk=audience_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class AudienceContactsApi(APIView):
    permission_classes = [per_method(GET=("audiences.view_audience", "contacts.view_contact"))]

    @extend_schema(
        responses=paginated(ContactOutput),
        summary="The contacts the audience chooses now (count: how many in all)",
    )
    def get(self, request: Request, audience_id: int) -> Response:
        audience = get_object_or_404(Audience, pk=audience_id)
        chosen = contact_list().filter(pk__in=audience_contacts(audience=audience).values("pk"))
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(chosen, request, self)
        return paginator.get_paginated_response(ContactOutput(page, many=True).data)


class AudienceCountApi(APIView):
    """How many contacts filters choose, before they are saved (the admin's live count)."""

    permission_classes = [per_method(POST=("audiences.view_audience", "contacts.view_contact"))]

    class CountInput(serializers.Serializer[Any]):
        filters = serializers.DictField(required=False, default=dict, help_text=_FILTERS_HELP)

        def validate_filters(self, value: Any) -> dict[str, Any]:
            try:
                return filters_clean(value)
            except DjangoValidationError as exc:
                raise ValidationError(exc.message_dict) from exc

    class CountOutput(serializers.Serializer[Any]):
        count = serializers.IntegerField()

    @extend_schema(
        request=CountInput, responses=CountOutput, summary="Count contacts filters choose"
    )
    def post(self, request: Request) -> Response:
        data = self.CountInput(data=request.data)
        data.is_valid(raise_exception=True)
        count = audience_count(filters=data.validated_data["filters"])
        return Response(self.CountOutput({"count": count}).data)
