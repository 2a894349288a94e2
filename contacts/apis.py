"""The contacts API: contacts, Do-Not-Contact, consent, activity, export and erasure.
Thin views over the same services the admin and the public surface use."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.converters import MAX_ID
from api.pagination import paginated
from api.permissions import per_method
from consent.ip import masked_client_ip
from consent.models import Action, ConsentRecord, Purpose
from consent.optin import optin_request
from consent.services import consent_record
from contacts.exports import contacts_csv_response
from contacts.models import Channel, Contact, DncReason, DoNotContact
from contacts.rights import contact_erase, contact_export
from contacts.selectors import contact_activity, contact_list
from contacts.services import contact_update, contact_upsert, dnc_add, dnc_remove

_VIEW = ("contacts.view_contact",)


class ContactOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    fields = serializers.DictField()  # type: ignore[assignment]
    do_not_contact = serializers.BooleanField(source="on_dnc", default=False)
    tracking_consent = serializers.CharField(allow_null=True, default=None)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ContactInput(serializers.Serializer[Any]):
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    fields = serializers.DictField(required=False)  # type: ignore[assignment]


def _contact(contact_id: int) -> Contact:
    return get_object_or_404(contact_list(), pk=contact_id)


def _who(request: Request) -> str:
    return str(getattr(request.user, "username", ""))[:150]


class ContactListApi(APIView):
    # A POST with a known email updates that contact (contact_upsert): it changes as well as adds.
    permission_classes = [
        per_method(GET=_VIEW, POST=("contacts.add_contact", "contacts.change_contact"))
    ]

    class FilterSerializer(serializers.Serializer[Any]):
        email = serializers.CharField(required=False)
        dnc = serializers.BooleanField(required=False, allow_null=True, default=None)
        consent = serializers.ChoiceField(
            choices=["grant", "withdraw", "object", "none"], required=False
        )
        updated_since = serializers.DateTimeField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=paginated(ContactOutput))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(contact_list(**filters.validated_data), request, self)
        return paginator.get_paginated_response(ContactOutput(page, many=True).data)

    @extend_schema(request=ContactInput, responses={201: ContactOutput})
    def post(self, request: Request) -> Response:
        data = ContactInput(data=request.data)
        data.is_valid(raise_exception=True)
        contact = contact_upsert(**data.validated_data)
        return Response(ContactOutput(_contact(contact.pk)).data, status=status.HTTP_201_CREATED)


class ContactExportFilter(serializers.Serializer[Any]):
    email = serializers.CharField(required=False)
    dnc = serializers.BooleanField(required=False, allow_null=True, default=None)
    consent = serializers.ChoiceField(
        choices=["grant", "withdraw", "object", "none"], required=False
    )
    updated_since = serializers.DateTimeField(required=False)
    audience = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        help_text="Only the contacts of this saved audience (needs sight of audiences).",
    )


class ContactCsvRenderer(BaseRenderer):
    """Lets a client ask for text/csv; the CSV itself is streamed, and only an error (a bad
    filter, a refused permission) passes through here, written as the API's JSON error."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return json.dumps(data).encode()


class ContactExportCsvApi(APIView):
    permission_classes = [per_method(GET=_VIEW)]
    renderer_classes = [JSONRenderer, ContactCsvRenderer]

    @extend_schema(
        parameters=[ContactExportFilter],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="One contact a row; spreadsheet formulas neutralised"
            )
        },
        summary="The contacts as CSV, filtered as the contact list is",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        from audiences.models import Audience
        from audiences.selectors import audience_contacts

        filters = ContactExportFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        chosen = dict(filters.validated_data)
        audience_id = chosen.pop("audience", None)
        contacts = contact_list(**chosen)
        if audience_id is not None:
            if not request.user.has_perm("audiences.view_audience"):
                raise PermissionDenied("exporting an audience needs sight of audiences")
            audience = get_object_or_404(Audience, pk=audience_id)
            contacts = contacts.filter(pk__in=audience_contacts(audience=audience).values("pk"))
        return contacts_csv_response(contacts=contacts)


class ContactDetailApi(APIView):
    permission_classes = [
        per_method(
            GET=_VIEW,
            PATCH=("contacts.change_contact",),
            PUT=("contacts.change_contact",),
            DELETE=("contacts.delete_contact",),
        )
    ]

    @extend_schema(responses=ContactOutput)
    def get(self, request: Request, contact_id: int) -> Response:
        return Response(ContactOutput(_contact(contact_id)).data)

    @extend_schema(request=ContactInput, responses=ContactOutput)
    def patch(self, request: Request, contact_id: int) -> Response:
        contact = _contact(contact_id)
        data = ContactInput(data={"email": contact.email, **request.data}, partial=True)
        data.is_valid(raise_exception=True)
        try:
            contact_update(contact=contact, **data.validated_data)
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return Response(ContactOutput(_contact(contact_id)).data)

    put = patch

    @extend_schema(
        responses={204: None}, summary="Delete a contact: the same as erasing it (Art. 17)"
    )
    def delete(self, request: Request, contact_id: int) -> Response:
        contact_erase(contact=get_object_or_404(Contact, pk=contact_id), requested_by=_who(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DncOutput(serializers.Serializer[Any]):
    channel = serializers.CharField()
    reason = serializers.CharField()
    comment = serializers.CharField()
    created_at = serializers.DateTimeField()


class ContactDncApi(APIView):
    permission_classes = [
        per_method(GET=(*_VIEW, "contacts.view_donotcontact"), POST=("contacts.add_donotcontact",))
    ]

    class InputSerializer(serializers.Serializer[Any]):
        channel = serializers.ChoiceField(choices=Channel.choices)
        reason = serializers.ChoiceField(choices=DncReason.choices, default=DncReason.MANUAL)
        comment = serializers.CharField(
            max_length=500, required=False, allow_blank=True, default=""
        )

    @extend_schema(responses=DncOutput(many=True))
    def get(self, request: Request, contact_id: int) -> Response:
        entries = DoNotContact.objects.filter(contact=_contact(contact_id)).order_by("created_at")
        return Response(DncOutput(entries, many=True).data)

    @extend_schema(request=InputSerializer, responses={201: DncOutput})
    def post(self, request: Request, contact_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = dnc_add(contact=_contact(contact_id), **data.validated_data)
        return Response(DncOutput(entry).data, status=status.HTTP_201_CREATED)


class ContactDncRemoveApi(APIView):
    permission_classes = [per_method(DELETE=("contacts.delete_donotcontact",))]

    @extend_schema(responses={204: None})
    def delete(self, request: Request, contact_id: int, channel: str) -> Response:
        if not dnc_remove(contact=_contact(contact_id), channel=channel):
            return Response(
                {"error": "not_found", "detail": "no such entry", "fields": {}},
                status=status.HTTP_404_NOT_FOUND,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConsentOutput(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    contact = serializers.IntegerField(source="contact_id", allow_null=True)
    purpose = serializers.CharField()
    action = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    notice_version = serializers.CharField()
    ip_masked = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    # Evidence a contact import brought in, and the file it came in.
    imported = serializers.BooleanField()
    import_file = serializers.CharField()


class ConsentPendingOutput(serializers.Serializer[Any]):
    """A double opt-in asked for: nothing is consent until the contact confirms."""

    id = serializers.IntegerField()
    contact = serializers.IntegerField(source="contact_id")
    status = serializers.SerializerMethodField()
    expires_at = serializers.DateTimeField()

    def get_status(self, _optin: Any) -> str:
        return "pending_confirmation"


class ContactConsentsApi(APIView):
    """Records are appended, never edited or deleted: there is no PUT, PATCH or DELETE."""

    permission_classes = [
        per_method(GET=("consent.view_consentrecord",), POST=("consent.add_consentrecord",))
    ]

    class InputSerializer(serializers.Serializer[Any]):
        purpose = serializers.ChoiceField(choices=Purpose.choices)
        action = serializers.ChoiceField(choices=[Action.GRANT, Action.WITHDRAW, Action.OBJECT])
        source = serializers.CharField(max_length=32, default="api")  # type: ignore[assignment]
        notice_version = serializers.CharField(max_length=32, required=False)
        # Email consent by double opt-in: a confirmation link goes to the contact's address,
        # and the grant is recorded only when it is confirmed.
        double_opt_in = serializers.BooleanField(default=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if attrs["double_opt_in"] and (
                attrs["purpose"] != Purpose.EMAIL or attrs["action"] != Action.GRANT
            ):
                raise serializers.ValidationError(
                    {"double_opt_in": "only an email-consent grant is confirmed by double opt-in"}
                )
            return attrs

    @extend_schema(responses=ConsentOutput(many=True))
    def get(self, request: Request, contact_id: int) -> Response:
        records = ConsentRecord.objects.filter(contact=_contact(contact_id)).order_by(
            "created_at", "id"
        )
        return Response(ConsentOutput(records, many=True).data)

    @extend_schema(
        request=InputSerializer, responses={201: ConsentOutput, 202: ConsentPendingOutput}
    )
    def post(self, request: Request, contact_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        contact = _contact(contact_id)
        if fields.pop("double_opt_in"):
            if not contact.email:
                return Response(
                    {
                        "error": "no_address",
                        "detail": "the contact has no email address to confirm",
                        "fields": {"double_opt_in": ["the contact has no email address"]},
                    },
                    status=status.HTTP_400_BAD_REQUEST,
                )
            optin = optin_request(
                contact_id=contact.pk,
                origin=fields["source"],
                notice_version=fields.get("notice_version"),
            )
            return Response(ConsentPendingOutput(optin).data, status=status.HTTP_202_ACCEPTED)
        record = consent_record(contact=contact, ip_masked=masked_client_ip(request), **fields)
        return Response(ConsentOutput(record).data, status=status.HTTP_201_CREATED)


class ContactActivityApi(APIView):
    permission_classes = [per_method(GET=_VIEW)]

    class OutputSerializer(serializers.Serializer[Any]):
        type = serializers.CharField()
        at = serializers.DateTimeField()
        detail = serializers.DictField()

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request, contact_id: int) -> Response:
        items = contact_activity(contact=_contact(contact_id))
        return Response(self.OutputSerializer(items, many=True).data)


class ContactExportApi(APIView):
    # Each export is logged as a data-subject request (Art. 12): a write, so it needs more
    # than sight of the contact.
    permission_classes = [per_method(GET=(*_VIEW, "contacts.add_datasubjectrequest"))]

    @extend_schema(
        responses={200: serializers.DictField()},
        summary="Everything held about the contact (GDPR Art. 15 and 20)",
    )
    def get(self, request: Request, contact_id: int) -> Response:
        contact = get_object_or_404(Contact, pk=contact_id)
        return Response(contact_export(contact=contact, requested_by=_who(request)))


class ContactEraseApi(APIView):
    permission_classes = [per_method(POST=("contacts.delete_contact",))]

    class OutputSerializer(serializers.Serializer[Any]):
        request_id = serializers.IntegerField(source="pk")
        received_at = serializers.DateTimeField()
        completed_at = serializers.DateTimeField()

    @extend_schema(
        request=None,
        responses=OutputSerializer,
        summary="Erase the contact and every personal row (GDPR Art. 17)",
    )
    def post(self, request: Request, contact_id: int) -> Response:
        contact = get_object_or_404(Contact, pk=contact_id)
        log = contact_erase(contact=contact, requested_by=_who(request))
        return Response(self.OutputSerializer(log).data)


class ConsentRecordListApi(APIView):
    permission_classes = [per_method(GET=("consent.view_consentrecord",))]

    class FilterSerializer(serializers.Serializer[Any]):
        purpose = serializers.ChoiceField(choices=Purpose.choices, required=False)
        action = serializers.ChoiceField(choices=Action.choices, required=False)
        source = serializers.CharField(required=False, max_length=32)  # type: ignore[assignment]
        since = serializers.DateTimeField(required=False)
        until = serializers.DateTimeField(required=False)

    @extend_schema(parameters=[FilterSerializer], responses=paginated(ConsentOutput))
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        f = filters.validated_data
        records = ConsentRecord.objects.order_by("created_at", "id")
        for name in ("purpose", "action", "source"):
            if name in f:
                records = records.filter(**{name: f[name]})
        if "since" in f:
            records = records.filter(created_at__gte=f["since"])
        if "until" in f:
            records = records.filter(created_at__lt=f["until"])
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(records, request, self)
        return paginator.get_paginated_response(ConsentOutput(page, many=True).data)
