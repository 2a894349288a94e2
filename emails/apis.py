"""The email API: send to contacts, or render one recipient's message for your own sender."""

from __future__ import annotations

from dataclasses import asdict
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
from emails.selectors import email_stats, send_plan, sends_stats
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


class EmailReachFields(serializers.Serializer[Any]):
    """The figures an email and each of its sends share (docs/metrics.md, "Email")."""

    sent = serializers.IntegerField(help_text="recipients the mail server accepted")
    failed = serializers.IntegerField(help_text="recipients the mail server refused")
    skipped = serializers.IntegerField(
        help_text="recipients not sent: Do-Not-Contact, or no basis covered them"
    )
    tracked = serializers.IntegerField(
        help_text="sent with a pixel and links of their own (tracking consent at send time): "
        "the rates are of these"
    )
    unique_opens = serializers.IntegerField(
        help_text="tracked recipients who opened (a person's open, or a click)"
    )
    unique_clicks = serializers.IntegerField(help_text="tracked recipients who clicked")
    open_rate = serializers.FloatField(
        allow_null=True, help_text="unique_opens / tracked, 0 to 1; null when none is tracked"
    )
    click_rate = serializers.FloatField(
        allow_null=True, help_text="unique_clicks / tracked, 0 to 1; null when none is tracked"
    )
    click_to_open = serializers.FloatField(
        allow_null=True, help_text="unique_clicks / unique_opens, 0 to 1; null when none opened"
    )


class EmailSendFiguresOutput(EmailReachFields):
    send_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    external = serializers.BooleanField(help_text="rendered for a site's own sender")


class EmailFiguresOutput(EmailReachFields):
    human_opens = serializers.IntegerField(help_text="every open by a person, repeats included")
    anonymous_opens = serializers.IntegerField(
        help_text="of those, the shared pixel's (recipients without tracking consent)"
    )
    machine_opens = serializers.IntegerField(
        help_text="mail proxies, prefetches and scanners: in no rate"
    )
    machine_sources = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="machine opens by why: agent, prefetch, apple-relay, google-proxy",
    )
    clicks = serializers.IntegerField(help_text="every click by a person")
    machine_clicks = serializers.IntegerField()
    sends = EmailSendFiguresOutput(many=True, help_text="each send, newest first")


class EmailStatsApi(APIView):
    """An email's figures, and each send's."""

    permission_classes = [model_permission("emails.view_email")]

    @extend_schema(
        responses=EmailFiguresOutput,
        summary="An email's sent, unique opens, open rate, unique clicks, click rate and "
        "click-to-open, over all its sends and for each; machine opens apart",
    )
    def get(self, request: Request, email_id: int) -> Response:
        email = get_object_or_404(Email, pk=email_id)
        stats = email_stats(email=email)
        document = {**asdict(stats), "sends": sends_stats(email=email)}
        for name in ("open_rate", "click_rate", "click_to_open"):
            document[name] = getattr(stats, name)
        return Response(EmailFiguresOutput(document).data)
