"""The webhooks API: endpoints, a test event, the delivery log and redelivery, the catalog of
event types. Thin views over webhooks.services and webhooks.selectors.

The signing secret is write-only: the answer to a create is the one place it is ever shown."""

from __future__ import annotations

import json
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.pagination import paginated
from api.permissions import ModelPermissionsWithView, per_method
from api.schema import ApiError
from webhooks import net, signing
from webhooks.events import event_types
from webhooks.models import Delivery, DeliveryStatus, Endpoint
from webhooks.selectors import (
    ENDPOINT_STATUSES,
    delivery_list,
    endpoint_deliveries,
    endpoint_list,
    endpoint_status,
)
from webhooks.services import (
    body_of,
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_test_send,
    endpoint_update,
)

_SWITCHED_OFF = OpenApiResponse(
    ApiError, description="The endpoint is switched off: PATCH it with active=true first"
)


class EndpointSwitchedOff(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "endpoint_disabled"
    default_detail = (
        "This endpoint is switched off, so nothing is sent to it: "
        "switch it on (PATCH active=true) first."
    )


class WebhookOutput(serializers.Serializer[Any]):
    """An endpoint as every answer but a create's shows it: without its secret."""

    id = serializers.IntegerField()
    url = serializers.CharField()
    description = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    status = serializers.SerializerMethodField(
        help_text="active; failing (on, but every attempt since failing_since failed: it is "
        "switched off after WEBHOOK_DISABLE_AFTER_HOURS unless one succeeds); disabled (off, "
        "by an operator or by the product: disabled_reason says why)"
    )
    failing_since = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ChoiceField(choices=ENDPOINT_STATUSES))
    def get_status(self, endpoint: Endpoint) -> str:
        return endpoint_status(endpoint=endpoint)


class WebhookCreatedOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_…): shown in this answer only, never again. Keep "
        "it to verify each request's webhook-signature."
    )


class WebhookInput(serializers.Serializer[Any]):
    url = serializers.CharField(
        max_length=2000, help_text="http or https, e.g. https://crm.example.com/hooks/consentry"
    )
    events = serializers.ListField(
        child=serializers.CharField(max_length=50),
        allow_empty=False,
        max_length=100,
        help_text="The event types to send (GET /api/v1/webhooks/event-types/ lists them)",
    )
    secret = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        write_only=True,
        help_text="whsec_ followed by base64 of 24 to 64 bytes; left out on a create, one is "
        "generated and shown in the answer",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)

    def validate_url(self, url: str) -> str:
        problem = net.url_syntax_problem(url)
        if problem:
            raise serializers.ValidationError(problem)
        return url

    def validate_events(self, events: list[str]) -> list[str]:
        unknown = sorted(set(events) - set(event_types()))
        if unknown:
            raise serializers.ValidationError(
                f"Unknown event types: {', '.join(unknown)}. "
                "GET /api/v1/webhooks/event-types/ lists the ones there are."
            )
        return events

    def validate_secret(self, secret: str) -> str:
        if not secret and self.partial:
            raise serializers.ValidationError(
                "Leave the secret out to keep the current one, or give a new one."
            )
        problem = signing.secret_problem(secret) if secret else None
        if problem:
            raise serializers.ValidationError(problem)
        return secret


class WebhookDeliveryOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    event_id = serializers.CharField(
        source="event.msg_id", help_text="msg_…: the webhook-id header, the same at every attempt"
    )
    event_type = serializers.CharField(source="event.type")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    next_attempt_at = serializers.SerializerMethodField(help_text="null unless pending")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: Delivery) -> str | None:
        if delivery.status != DeliveryStatus.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class WebhookAttemptOutput(serializers.Serializer[Any]):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="null when no answer came (see error)"
    )
    milliseconds = serializers.IntegerField()
    response_head = serializers.CharField(help_text="the answer's first bytes, as text")
    error = serializers.CharField()


class WebhookDeliveryDetailOutput(WebhookDeliveryOutput):
    endpoint = serializers.IntegerField(source="endpoint_id")
    attempt_log = WebhookAttemptOutput(many=True, help_text="every attempt, newest first")
    body = serializers.SerializerMethodField(
        help_text="the body as sent: {type, timestamp, data} (data is emptied at an erasure)"
    )

    @extend_schema_field(serializers.DictField())
    def get_body(self, delivery: Delivery) -> Any:
        return json.loads(body_of(delivery.event))


class WebhookEventTypeOutput(serializers.Serializer[Any]):
    type = serializers.CharField()
    description = serializers.CharField()


def _endpoint(endpoint_id: int) -> Endpoint:
    return get_object_or_404(endpoint_list(), pk=endpoint_id)


class WebhookListApi(APIView):
    permission_classes = [ModelPermissionsWithView]
    queryset = Endpoint.objects.all()

    @extend_schema(responses=paginated(WebhookOutput))
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(endpoint_list(), request, self)
        return paginator.get_paginated_response(WebhookOutput(page, many=True).data)

    @extend_schema(
        request=WebhookInput,
        responses={201: WebhookCreatedOutput},
        description="The answer holds the signing secret, given or generated: the only answer "
        "that ever shows it.",
    )
    def post(self, request: Request) -> Response:
        data = WebhookInput(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = endpoint_create(**data.validated_data)
        return Response(WebhookCreatedOutput(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    permission_classes = [ModelPermissionsWithView]
    queryset = Endpoint.objects.all()

    @extend_schema(responses=WebhookOutput)
    def get(self, request: Request, endpoint_id: int) -> Response:
        return Response(WebhookOutput(_endpoint(endpoint_id)).data)

    @extend_schema(
        request=WebhookInput,
        responses=WebhookOutput,
        description="A new secret may be given (it is not shown back). Setting active=true "
        "switches a disabled endpoint on again and clears why it was switched off.",
    )
    def patch(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(endpoint_id)
        data = WebhookInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookOutput(_endpoint(endpoint_id)).data)

    @extend_schema(responses={204: None}, summary="Delete a webhook endpoint and its deliveries")
    def delete(self, request: Request, endpoint_id: int) -> Response:
        endpoint_delete(endpoint=_endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookTestApi(APIView):
    permission_classes = [per_method(POST=("webhooks.change_endpoint",))]

    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutput, 409: _SWITCHED_OFF},
        summary="Send a test event (webhook.test) to this endpoint",
        description="Queued at once, whatever the endpoint subscribes to; its delivery shows in "
        "the endpoint's deliveries.",
    )
    def post(self, request: Request, endpoint_id: int) -> Response:
        endpoint = _endpoint(endpoint_id)
        if not endpoint.active:
            raise EndpointSwitchedOff()
        delivery = endpoint_test_send(endpoint=endpoint)
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveriesApi(APIView):
    permission_classes = [per_method(GET=("webhooks.view_delivery",))]

    class FilterSerializer(serializers.Serializer[Any]):
        status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)

    @extend_schema(parameters=[FilterSerializer], responses=paginated(WebhookDeliveryOutput))
    def get(self, request: Request, endpoint_id: int) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = endpoint_deliveries(
            endpoint=_endpoint(endpoint_id), status=filters.validated_data.get("status")
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(deliveries, request, self)
        return paginator.get_paginated_response(WebhookDeliveryOutput(page, many=True).data)


class WebhookDeliveryApi(APIView):
    permission_classes = [per_method(GET=("webhooks.view_delivery",))]

    @extend_schema(responses=WebhookDeliveryDetailOutput)
    def get(self, request: Request, delivery_id: int) -> Response:
        delivery = get_object_or_404(delivery_list(), pk=delivery_id)
        return Response(WebhookDeliveryDetailOutput(delivery).data)


class WebhookRedeliverApi(APIView):
    permission_classes = [per_method(POST=("webhooks.change_delivery",))]

    @extend_schema(
        request=None,
        responses={202: WebhookDeliveryOutput, 409: _SWITCHED_OFF},
        summary="Send a delivery again, with the same webhook-id",
    )
    def post(self, request: Request, delivery_id: int) -> Response:
        delivery = get_object_or_404(delivery_list(), pk=delivery_id)
        if not delivery.endpoint.active:
            raise EndpointSwitchedOff()
        delivery_redeliver(delivery=delivery)
        return Response(WebhookDeliveryOutput(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookEventTypesApi(APIView):
    permission_classes = [per_method(GET=("webhooks.view_endpoint",))]

    @extend_schema(
        responses=WebhookEventTypeOutput(many=True),
        summary="List the event types an endpoint may subscribe to",
    )
    def get(self, request: Request) -> Response:
        catalog = [{"type": t, "description": d} for t, d in event_types().items()]
        return Response(WebhookEventTypeOutput(catalog, many=True).data)
