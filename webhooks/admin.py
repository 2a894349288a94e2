"""Webhooks in the admin: the endpoints (their signing secret shown once, a test event one
click away, why the product switched one off) and the delivery log, read-only, with
redelivery."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from webhooks import net, services, signing
from webhooks.events import event_types
from webhooks.models import Attempt, Delivery, Endpoint

# Written for the operator who connects a CRM or a chat tool: what each setting does, and an
# example.
ENDPOINT_HELP = {
    "description": "A name for the list and the admin home. E.g. “CRM sync”.",
    "url": "Where each event is POSTed as JSON. E.g. https://crm.example.com/hooks/consentry. "
    "Only http and https, no user:pass@. The address is looked up when an event is sent: "
    "only public addresses are reached (unless WEBHOOK_ALLOWED_NETWORKS allows a private "
    "network) and redirects are not followed.",
    "events": "The events sent to this endpoint; tick at least one. A test event can be sent "
    "whatever is ticked.",
    "active": "Unticked, nothing is sent and the endpoint is kept. Ticking it again after the "
    "product switched the endpoint off sends new events again.",
    "secret": "Optional: a signing secret you already have, as whsec_ and base64. Leave it "
    "empty to get a new one, shown once after saving. The receiver checks each request's "
    "webhook-signature with it (Standard Webhooks).",
}
HIDDEN_SECRET = "whsec_…(hidden)"  # noqa: S105 -- a placeholder, not a secret


def endpoint_state(endpoint: Endpoint) -> str:
    """How an endpoint is doing, in the words of the list and the change page."""
    if not endpoint.active:
        if endpoint.disabled_reason:
            return f"Switched off: {endpoint.disabled_reason}"
        return "Off (unticked by an operator)"
    if endpoint.failing_since is not None:
        return f"Failing since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC"
    return "Delivering"


def _event_choices() -> list[tuple[str, SafeString]]:
    return [
        (name, format_html('<code>{}</code> <span class="help">{}</span>', name, description))
        for name, description in event_types().items()
    ]


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    # A plain text box: the address is judged by the sender's own rules (net.url_syntax_problem)
    # and refused in its words, not by the browser or Django's generic "Enter a valid URL".
    url = forms.CharField(max_length=2000, label="URL", help_text=ENDPOINT_HELP["url"])
    events = forms.MultipleChoiceField(
        choices=_event_choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=ENDPOINT_HELP["events"],
        error_messages={
            "required": "Tick at least one event: an endpoint that subscribes to "
            "nothing is never sent anything."
        },
    )

    class Meta:
        model = Endpoint
        fields = ["description", "url", "events", "active"]
        help_texts = ENDPOINT_HELP

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"].strip()
        problem = net.url_syntax_problem(url)
        if problem:
            raise ValidationError(f"This address cannot receive webhooks: {problem}.")
        return url


class EndpointAddForm(EndpointForm):
    secret = forms.CharField(
        max_length=100,
        required=False,
        label="Signing secret",
        help_text=ENDPOINT_HELP["secret"],
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    class Meta(EndpointForm.Meta):
        fields = ["description", "url", "events", "active", "secret"]

    def clean_secret(self) -> str:
        secret: str = self.cleaned_data["secret"].strip()
        if secret:
            problem = signing.secret_problem(secret)
            if problem:
                raise ValidationError(problem)
        return secret


def _secret_message(secret: str, *, what: str) -> SafeString:
    return format_html(
        '{} Its signing secret, shown this once: <code id="webhook-secret">{}</code> '
        "Copy it into the receiver now; it is never shown again (rotate it to get a new one).",
        what,
        secret,
    )


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # The status first after the name: on a phone the table scrolls sideways.
    list_display = ["__str__", "status", "active", "subscribed", "last_attempt", "url"]
    list_filter = ["active"]
    search_fields = ["description", "url"]
    change_form_template = "admin/webhooks/endpoint/change_form.html"

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # type: ignore[no-untyped-def]
        kwargs["form"] = EndpointForm if obj is not None else EndpointAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["description", "url", "events", "active", "secret"]
        return ["description", "url", "events", "active", "signing_secret", "status", "created_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["signing_secret", "status", "created_at"] if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> QuerySet[Endpoint]:
        endpoints: QuerySet[Endpoint] = super().get_queryset(request)
        return endpoints.annotate(last_at=Max("deliveries__attempt_log__at"))

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        data = form.cleaned_data
        if change:
            changes = {name: data[name] for name in form.changed_data if name in data}
            services.endpoint_update(endpoint=obj, **changes)
            return
        created = services.endpoint_create(
            url=data["url"],
            events=data["events"],
            secret=data.get("secret", ""),
            description=data["description"],
            active=data["active"],
        )
        # The admin goes on with the form's instance (its log entry, its redirect).
        for field in Endpoint._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        if not data.get("secret"):
            self.message_user(
                request,
                _secret_message(created.secret, what=f"“{created}” was added."),
                messages.SUCCESS,
            )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Its delivery log goes with it, though no one may delete from the log by itself.
        perms_needed.discard(str(Delivery._meta.verbose_name))
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        # With the events that were for it alone: their payloads are about people.
        services.endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset:
            services.endpoint_delete(endpoint=endpoint)

    def response_add(
        self, request: HttpRequest, obj: Endpoint, post_url_continue: Any = None
    ) -> HttpResponse:
        # To the endpoint's page, where the secret is read and a test event sent.
        url = reverse("admin:webhooks_endpoint_change", args=[obj.pk])
        if "_addanother" in request.POST:
            return super().response_add(request, obj, post_url_continue)
        return HttpResponseRedirect(url)

    @admin.display(description="events")
    def subscribed(self, obj: Endpoint) -> str:
        return ", ".join(obj.events) or "none"

    @admin.display(description="status")
    def status(self, obj: Endpoint) -> str:
        return endpoint_state(obj)

    @admin.display(description="last attempt", ordering="last_at")
    def last_attempt(self, obj: Endpoint) -> Any:
        return getattr(obj, "last_at", None)

    @admin.display(description="signing secret")
    def signing_secret(self, obj: Endpoint) -> str:
        return HIDDEN_SECRET if obj.secret else "none"

    def get_urls(self) -> list[URLPattern]:
        def view(name: str, function: Any) -> URLPattern:
            pattern: URLPattern = path(
                f"<int:object_id>/{name}/",
                self.admin_site.admin_view(require_POST(function)),
                name=f"webhooks_endpoint_{name.replace('-', '_')}",
            )
            return pattern

        return [
            view("send-test", self.send_test_view),
            view("rotate-secret", self.rotate_secret_view),
            *super().get_urls(),
        ]

    def _endpoint_to_change(self, request: HttpRequest, object_id: int) -> Endpoint:
        endpoint = get_object_or_404(Endpoint, pk=object_id)
        if not self.has_change_permission(request, endpoint):
            raise PermissionDenied
        return endpoint

    def send_test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """ "Send test event": a webhook.test delivery to this endpoint alone."""
        endpoint = self._endpoint_to_change(request, object_id)
        back = HttpResponseRedirect(reverse("admin:webhooks_endpoint_change", args=[object_id]))
        if not endpoint.active:
            self.message_user(
                request,
                "No test was sent: this endpoint is switched off. Tick Active and save first.",
                messages.ERROR,
            )
            return back
        delivery = services.endpoint_test_send(endpoint=endpoint)
        self.message_user(
            request,
            format_html(
                'A test event was queued for this endpoint; <a href="{}" id="test-delivery">'
                "follow its delivery in the log</a>.",
                reverse("admin:webhooks_delivery_change", args=[delivery.pk]),
            ),
            messages.SUCCESS,
        )
        return back

    def rotate_secret_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        endpoint = self._endpoint_to_change(request, object_id)
        secret = services.endpoint_secret_rotate(endpoint=endpoint)
        self.message_user(
            request,
            _secret_message(
                secret, what="A new signing secret replaces the old one from the next attempt on."
            ),
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:webhooks_endpoint_change", args=[object_id]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        endpoint = Endpoint.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        context = {
            **(extra_context or {}),
            "endpoint": endpoint,
            "can_operate": endpoint is not None and self.has_change_permission(request, endpoint),
        }
        return super().change_view(request, object_id, form_url, context)


ATTEMPT_FIELDS = ("at", "status_code", "milliseconds", "response_head", "error")
DELIVERY_FIELDS = (
    "msg_id",
    "event_type",
    "endpoint",
    "status",
    "attempts",
    "outcome",
    "next_attempt_at",
    "created_at",
    "finished_at",
    "body",
)


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Attempt
    fields = ATTEMPT_FIELDS
    readonly_fields = ATTEMPT_FIELDS
    extra = 0
    can_delete = False
    verbose_name_plural = "attempts (newest first)"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """The delivery log: what was sent where and what came back. Nothing in it is edited."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "outcome",
        "created_at",
        "finished_at",
    ]
    list_filter = ["status", "endpoint", "event__type"]
    list_select_related = ["event", "endpoint"]
    inlines = [AttemptInline]
    actions = ["redeliver"]
    change_form_template = "admin/webhooks/delivery/change_form.html"
    fields = DELIVERY_FIELDS
    readonly_fields = DELIVERY_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        # Sending again is a change to the log, not to its content: the log's own permission.
        return bool(request.user.has_perm("webhooks.change_delivery"))

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj: Delivery) -> str:
        return obj.event.type

    @admin.display(description="event id (webhook-id)")
    def msg_id(self, obj: Delivery) -> str:
        return obj.event.msg_id

    @admin.display(description="last answer")
    def outcome(self, obj: Delivery) -> str:
        if obj.last_status_code is not None and not obj.last_error:
            return f"HTTP {obj.last_status_code}"
        return obj.last_error or "—"

    @admin.display(description="body as sent")
    def body(self, obj: Delivery) -> SafeString:
        return format_html(
            '<pre class="webhook-body">{}</pre>', services.body_of(obj.event).decode()
        )

    def redeliver_queryset(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        chosen = list(queryset.select_related("endpoint", "event"))
        sent = [d for d in chosen if d.endpoint.active]
        for delivery in sent:
            services.delivery_redeliver(delivery=delivery)
        if sent:
            self.message_user(
                request,
                f"{len(sent)} deliver{'y' if len(sent) == 1 else 'ies'} queued again, with the "
                "same webhook-id (a receiver that remembers ids drops a duplicate).",
                messages.SUCCESS,
            )
        for endpoint in {d.endpoint for d in chosen if not d.endpoint.active}:
            why = f" ({endpoint.disabled_reason})" if endpoint.disabled_reason else ""
            self.message_user(
                request,
                f"Not redelivered to “{endpoint}”: the endpoint is switched off{why}. Tick "
                "Active on the endpoint and save, then redeliver.",
                messages.ERROR,
            )

    @admin.action(description="Redeliver the selected deliveries", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        self.redeliver_queryset(request, queryset)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<int:object_id>/redeliver/",
                self.admin_site.admin_view(require_POST(self.redeliver_view)),
                name="webhooks_delivery_redeliver",
            ),
            *super().get_urls(),
        ]

    def redeliver_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_redeliver_permission(request):
            raise PermissionDenied
        self.redeliver_queryset(request, Delivery.objects.filter(pk=object_id))
        return HttpResponseRedirect(reverse("admin:webhooks_delivery_change", args=[object_id]))

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        context = {
            **(extra_context or {}),
            "can_redeliver": self.has_redeliver_permission(request),
        }
        return super().change_view(request, object_id, form_url, context)
