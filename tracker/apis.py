"""The pipeline's dead letters over the API: list them, and store them again."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.converters import MAX_ID
from api.pagination import paginated
from api.permissions import per_method
from tracker.models import DeadLetter
from tracker.store import deadletters_redrive


class DeadLetterOutput(serializers.ModelSerializer[DeadLetter]):
    payload = serializers.CharField(
        source="payload_shown", help_text="The event as JSON; tokens and device ids hidden."
    )

    class Meta:
        model = DeadLetter
        fields = [
            "id",
            "created_at",
            "updated_at",
            "source",
            "stream_id",
            "event_id",
            "kind",
            "tries",
            "error",
            "payload",
        ]


class DeadLetterListApi(APIView):
    permission_classes = [per_method(GET=("tracker.view_deadletter",))]

    @extend_schema(
        responses=paginated(DeadLetterOutput),
        summary="Pipeline events that could not be stored, newest first, with their error",
    )
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(DeadLetter.objects.all(), request, self)
        return paginator.get_paginated_response(DeadLetterOutput(page, many=True).data)


class DeadLetterRedriveApi(APIView):
    permission_classes = [per_method(POST=("tracker.change_deadletter",))]

    class RedriveInput(serializers.Serializer[Any]):
        ids = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            required=False,
            max_length=10000,
            help_text="The dead letters to store again; all of them when left out.",
        )

    class RedriveOutput(serializers.Serializer[Any]):
        stored = serializers.IntegerField()
        failed = serializers.IntegerField()

    @extend_schema(
        request=RedriveInput,
        responses=RedriveOutput,
        summary="Store dead letters again once their cause is fixed",
    )
    def post(self, request: Request) -> Response:
        data = self.RedriveInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = deadletters_redrive(ids=data.validated_data.get("ids"))
        return Response(self.RedriveOutput({"stored": result.stored, "failed": result.failed}).data)
