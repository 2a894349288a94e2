"""Audiences in the admin: built from plain fields (never a code box), with a live count that
the page's script asks of the count view as the filters change."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from audiences.filters import CONSENT_STATES, FIELD_OPS, filters_clean
from audiences.models import Audience
from audiences.selectors import audience_contacts, audience_count
from contacts.models import Channel
from emails.sendpage import send_flow
from forms.models import Form

_ANY = [("", "any")]
_DNC = [("", "any"), ("yes", "on Do-Not-Contact"), ("no", "not on Do-Not-Contact")]


class AudienceForm(forms.ModelForm):  # type: ignore[type-arg]
    email_consent = forms.ChoiceField(
        choices=_ANY + [(s, s) for s in CONSENT_STATES], required=False
    )
    tracking_consent = forms.ChoiceField(
        choices=_ANY + [(s, s) for s in CONSENT_STATES], required=False
    )
    dnc_email = forms.ChoiceField(choices=_DNC, required=False, label="Do-Not-Contact: email")
    dnc_sms = forms.ChoiceField(choices=_DNC, required=False, label="Do-Not-Contact: SMS")
    dnc_tracking = forms.ChoiceField(choices=_DNC, required=False, label="Do-Not-Contact: tracking")
    form = forms.ModelChoiceField(
        queryset=Form.objects.order_by("name"), required=False, label="Submitted the form"
    )
    field_name = forms.CharField(required=False, max_length=64, label="Custom field")
    field_op = forms.ChoiceField(choices=[(o, o) for o in FIELD_OPS], required=False)
    field_value = forms.CharField(required=False, max_length=200)
    tags = forms.CharField(required=False, max_length=500, help_text="comma-separated; all of")
    created_after = forms.DateField(required=False)
    created_before = forms.DateField(required=False)
    updated_after = forms.DateField(required=False)
    updated_before = forms.DateField(required=False)

    class Meta:
        model = Audience
        fields = ["name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        saved = self.instance.filters if self.instance.pk else {}
        for key in ("email_consent", "tracking_consent", *_DATES):
            self.initial.setdefault(key, saved.get(key, ""))
        for channel, on in saved.get("dnc", {}).items():
            self.initial.setdefault(f"dnc_{channel}", "yes" if on else "no")
        if "form" in saved:
            self.initial.setdefault("form", saved["form"])
        if saved.get("fields"):
            first = saved["fields"][0]
            self.initial.setdefault("field_name", first["name"])
            self.initial.setdefault("field_op", first["op"])
            self.initial.setdefault("field_value", first["value"])
        if saved.get("tags"):
            self.initial.setdefault("tags", ", ".join(saved["tags"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            self.filters = filters_clean(filters_from(data))
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return data

    def save(self, commit: bool = True) -> Audience:
        self.instance.filters = self.filters
        audience: Audience = super().save(commit=commit)
        return audience


_DATES = ("created_after", "created_before", "updated_after", "updated_before")


def filters_from(data: dict[str, Any]) -> dict[str, Any]:
    """The filter document from the admin form's fields; empty fields filter nothing."""
    filters: dict[str, Any] = {}
    for key in ("email_consent", "tracking_consent"):
        if data.get(key):
            filters[key] = data[key]
    dnc = {c: data[f"dnc_{c}"] == "yes" for c in Channel.values if data.get(f"dnc_{c}")}
    if dnc:
        filters["dnc"] = dnc
    if data.get("form") is not None:
        filters["form"] = data["form"].pk
    if data.get("field_name"):
        filters["fields"] = [
            {
                "name": data["field_name"],
                "op": data.get("field_op") or "equals",
                "value": data.get("field_value", ""),
            }
        ]
    tags = [t.strip() for t in str(data.get("tags") or "").split(",") if t.strip()]
    if tags:
        filters["tags"] = tags
    for key in _DATES:
        if data.get(key):
            filters[key] = data[key].isoformat()
    return filters


@admin.register(Audience)
class AudienceAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = AudienceForm
    list_display = ["name", "contacts", "updated_at"]
    readonly_fields = ["live_count"]
    actions = ["send_email"]
    fieldsets = [
        (None, {"fields": ["name", "live_count"]}),
        ("Consent", {"fields": ["email_consent", "tracking_consent"]}),
        ("Do-Not-Contact", {"fields": ["dnc_email", "dnc_sms", "dnc_tracking"]}),
        (
            "Activity and data",
            {"fields": ["form", "field_name", "field_op", "field_value", "tags"]},
        ),
        ("Dates", {"fields": list(_DATES)}),
    ]

    class Media:
        js = ["audiences/live_count.js"]

    @admin.display(description="contacts")
    def contacts(self, obj: Audience) -> int:
        return audience_contacts(audience=obj).count()

    @admin.display(description="contacts now")
    def live_count(self, obj: Audience) -> str:
        count = audience_contacts(audience=obj).count() if obj.pk else audience_count(filters={})
        return format_html(
            '<output id="audience-count" data-count-url="{}" aria-live="polite">{}</output>',
            reverse("admin:audiences_audience_count"),
            count,
        )

    def get_urls(self) -> list[URLPattern]:
        count = path(
            "count/",
            self.admin_site.admin_view(require_POST(self.count_view)),
            name="audiences_audience_count",
        )
        return [count, *super().get_urls()]

    def count_view(self, request: HttpRequest) -> HttpResponse:
        """How many contacts the form's filters choose now: the page asks as they change."""
        if not (
            self.has_view_permission(request) and request.user.has_perm("contacts.view_contact")
        ):
            raise PermissionDenied
        form = AudienceForm(data=request.POST)
        form.is_valid()
        if any(key != "name" for key in form.errors):
            errors = {k: [str(m) for m in v] for k, v in form.errors.items() if k != "name"}
            return JsonResponse({"errors": errors}, status=400)
        return JsonResponse({"count": audience_count(filters=form.filters)})

    def has_send_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["emails.add_emailsend", "emails.view_email"])

    @admin.action(description="Send an email to this audience", permissions=["send"])
    def send_email(self, request: HttpRequest, queryset: QuerySet[Audience]) -> HttpResponse | None:
        audiences = list(queryset[:2])
        if len(audiences) != 1:
            messages.error(request, "Choose one audience to send to.")
            return None
        audience = audiences[0]
        return send_flow(
            request=request,
            context=self.admin_site.each_context(request),
            contacts=audience_contacts(audience=audience),
            hidden=[
                ("action", "send_email"),
                (ACTION_CHECKBOX_NAME, str(audience.pk)),
            ],
            described=f"the audience {audience.name}",
        )
