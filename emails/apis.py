"""The email API: send to contacts, or render one recipient's message for your own sender."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.converters import MAX_ID
from api.permissions import model_permission
from audiences.models import Audience
from audiences.selectors import audience_contacts
from contacts.models import Contact
from emails.models import Email
from emails.selectors import send_plan
from emails.services import email_render_external, email_send

# Rendering hands out tokens that act for the contact (a one-click unsubscribe, an attributed
# click), so it needs what sending needs, and sight of the email and the contact it renders.
_RENDER = ("emails.add_emailsend", "emails.view_email", "contacts.view_contact")


class EmailRenderApi(APIView):
    """The message renders for a recipient of the email's external send, made on first use:
    their unsubscribe, web-view, pixel and click tokens resolve only through that row."""

    permission_classes = [model_permission(*_RENDER)]

    class InputSerializer(serializers.Serializer[Any]):
        contact = serializers.IntegerField(min_value=1, max_value=MAX_ID)

    class OutputSerializer(serializers.Serializer[Any]):
        to = serializers.EmailField()
        from_email = serializers.CharField()
        subject = serializers.CharField()
        html = serializers.CharField()
        text = serializers.CharField()
        headers = serializers.DictField(child=serializers.CharField())

    def _render(self, data: Any, email_id: int) -> Response:
        given = self.InputSerializer(data=data)
        given.is_valid(raise_exception=True)
        email = get_object_or_404(Email, pk=email_id)
        contact = get_object_or_404(Contact, pk=given.validated_data["contact"])
        rendered = email_render_external(email=email, contact=contact)
        return Response(self.OutputSerializer(rendered).data)

    @extend_schema(
        request=InputSerializer,
        responses=OutputSerializer,
        summary="Render one recipient's message (for a site that sends through its own provider)",
        description="Makes the contact a recipient of the email's external send, once, so that "
        "the tokens in the message work. Needs the send permission.",
    )
    def post(self, request: Request, email_id: int) -> Response:
        return self._render(request.data, email_id)


class EmailSendApi(APIView):
    permission_classes = [model_permission("emails.add_emailsend")]

    class SendInput(serializers.Serializer[Any]):
        contacts = serializers.ListField(
            child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
            min_length=1,
            max_length=10000,
            required=False,
        )
        audience = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if ("contacts" in attrs) == ("audience" in attrs):
                raise serializers.ValidationError(
                    {"contacts": "name either contacts or an audience"}
                )
            return attrs

    class SendOutput(serializers.Serializer[Any]):
        id = serializers.IntegerField()
        recipients = serializers.IntegerField(help_text="recipient rows queued")
        by_basis = serializers.DictField(
            child=serializers.IntegerField(),
            help_text="how many each basis covers now (consent, soft_opt_in, transactional)",
        )
        skipped_consent = serializers.IntegerField(help_text="no consent and no other basis")
        skipped_dnc = serializers.IntegerField(help_text="on Do-Not-Contact for email")

    @extend_schema(
        request=SendInput,
        responses={202: SendOutput},
        summary="Send an email to contacts or an audience: by default only to those whose "
        "email consent is granted; Do-Not-Contact and consent are checked again at send time",
    )
    def post(self, request: Request, email_id: int) -> Response:
        data = self.SendInput(data=request.data)
        data.is_valid(raise_exception=True)
        email = get_object_or_404(Email, pk=email_id)
        if "audience" in data.validated_data:
            audience = get_object_or_404(Audience, pk=data.validated_data["audience"])
            contacts = audience_contacts(audience=audience)
        else:
            contacts = Contact.objects.filter(pk__in=data.validated_data["contacts"])
        plan = send_plan(email=email, contacts=contacts)
        send = email_send(email=email, contacts=contacts)
        return Response(
            self.SendOutput(
                {
                    "id": send.pk,
                    "recipients": send.recipients.count(),
                    "by_basis": plan.by_basis,
                    "skipped_consent": plan.skipped_consent,
                    "skipped_dnc": plan.skipped_dnc,
                }
            ).data,
            status=status.HTTP_202_ACCEPTED,
        )
