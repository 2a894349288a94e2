from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from forms.exports import submissions_csv
from forms.models import Field, Form, Submission
from forms.rendering import form_fields_context
from forms.selectors import form_users
from forms.validation import (
    field_problems,
    form_problems,
    form_settings_problems,
    form_warnings,
    origins_problem,
)

# Written for the person who builds the form, not for a developer: what each setting does
# for a visitor, and an example.
FORM_HELP = {
    "name": "For you and your reports only; visitors never see it. E.g. “Newsletter sign-up "
    "(footer)”.",
    "published": "Unticked, the form is hidden from every site (its embed shows nothing) but "
    "you can still preview it here.",
    "submit_label": "The text on the button visitors press. E.g. “Subscribe” or “Send”.",
    "success_message": "Shown in place of the form once it is sent, when no redirect is set. "
    "E.g. “Thanks! Check your inbox to confirm.”",
    "redirect_url": "Optional: the page visitors are sent to after submitting, instead of the "
    "thank-you message. It must be on one of the allowed origins below, a tracked site or "
    "this server. E.g. https://www.example.com/thank-you",
    "allowed_origins": "The sites that may show and submit this form, besides the tracked "
    "sites: one per line, as scheme and host only. E.g. https://shop.example.com",
    "set_cookie_on_submission": "Off: sending the form never sets a cookie. On: the form may "
    "recognise the visitor's browser next time, only if they consent to tracking (or the "
    "tracking mode is “always”).",
    "kiosk": "For a shared screen (a tablet at a stand): submissions never identify the "
    "browser, so the next person is not taken for the last one.",
    "double_opt_in": "A ticked email-consent box sends a confirmation link; consent is "
    "recorded only once the address's owner clicks it. Needs an email-consent field.",
}
FIELD_HELP = {
    "label": "What visitors read beside the field. E.g. “Your work email”.",
    "alias": "The field's name in submissions, exports and the page address that can prefill "
    "it: lower-case letters, digits and _, e.g. company_size. Cannot be changed without "
    "breaking links that prefill it.",
    "type": "Select, radio buttons and checkbox group need options. Tracking consent and "
    "email consent are tick boxes that record the visitor's consent.",
    "required": "Visitors cannot send the form without filling this in (or ticking it).",
    "order": "Fields are shown from the lowest number to the highest. E.g. 10, 20, 30.",
    "default": "Filled in before the visitor types; for options, one of them. E.g. 11-50. "
    "Consent boxes always start unticked.",
    "contact_field": "Copies the answer onto the contact: email, first_name, last_name, or a "
    "custom field's name such as company_size. Empty: kept with the submission only (an Email "
    "field fills the contact's email by itself).",
    "options": "For select, radio buttons and checkbox group: the choices, one per line. "
    "E.g.\n1-10\n11-50\n51+",
    "max_length": "The most characters a visitor may type (text, email, text area, hidden). "
    "Empty: 255, or 5,000 for a text area.",
    "min_value": "Number fields: the smallest number accepted. E.g. 0",
    "max_value": "Number fields: the largest number accepted. E.g. 150",
    "notice_version": "Tracking consent only: the version of your privacy notice this box "
    "agrees to, kept with each consent as proof. E.g. 2026-09. Empty: the current one.",
}


class FieldBuilderForm(django_forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Field
        fields = list(FIELD_HELP)
        help_texts = FIELD_HELP
        widgets = {"options": django_forms.Textarea(attrs={"rows": 3})}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        names = {f.name for f in Field._meta.concrete_fields} - {"id", "form"}
        if names - set(cleaned):  # a box already has its own error
            return cleaned
        for problem in field_problems(form_field=Field(**{n: cleaned[n] for n in names})):
            self.add_error(problem.field, problem.message)
        return cleaned


class FieldFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        kept = [
            form.instance
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = form_problems(form=self.instance, fields=kept)
        if problems:
            raise ValidationError(problems)


class FieldInline(admin.StackedInline):  # type: ignore[type-arg]
    model = Field
    form = FieldBuilderForm
    formset = FieldFormSet
    extra = 0
    fields = [
        ("label", "alias", "type", "required", "order"),
        ("default", "contact_field"),
        "options",
        ("max_length", "min_value", "max_value"),
        "notice_version",
    ]


class FormBuilderForm(django_forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Form
        fields = list(FORM_HELP)
        help_texts = FORM_HELP
        widgets = {"allowed_origins": django_forms.Textarea(attrs={"rows": 3})}

    def clean_allowed_origins(self) -> str:
        text: str = self.cleaned_data["allowed_origins"]
        problem = origins_problem(text=text)
        if problem:
            raise ValidationError(problem)
        return text

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        switches = Form(
            kiosk=bool(cleaned.get("kiosk")),
            set_cookie_on_submission=bool(cleaned.get("set_cookie_on_submission")),
        )
        for problem in form_settings_problems(form=switches):
            self.add_error(problem.field, problem.message)
        return cleaned


@admin.register(Form)
class FormAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = [
        "name",
        "published",
        "set_cookie_on_submission",
        "kiosk",
        "double_opt_in",
        "submission_count",
    ]
    list_filter = ["published", "set_cookie_on_submission", "kiosk", "double_opt_in"]
    search_fields = ["name"]
    form = FormBuilderForm
    inlines = [FieldInline]
    actions = ["delete_selected"]

    class Media:
        js = ["forms/live-preview.js"]

    readonly_fields = ["embed_code", "preview"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "published",
                    "submit_label",
                    "success_message",
                    "redirect_url",
                    "allowed_origins",
                ]
            },
        ),
        (
            "Privacy",
            {
                "fields": ["set_cookie_on_submission", "kiosk", "double_opt_in"],
                "description": "What a submission may do beyond storing the answers.",
            },
        ),
        ("Embed", {"fields": ["embed_code", "preview"]}),
    ]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        for warning in form_warnings(fields=list(form.instance.fields.all())):
            self.message_user(request, warning, level=messages.WARNING)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        ids = [int(object_id)] if object_id.isdigit() else []
        context = {**(extra_context or {}), "form_users": form_users(form_ids=ids)}
        return super().delete_view(request, object_id, context)

    @admin.action(permissions=["delete"], description="Delete selected forms")
    def delete_selected(self, request: HttpRequest, queryset: QuerySet[Form]) -> Any:
        """Django's own action, whose confirmation also names what loses the forms."""
        response = django_delete_selected(self, request, queryset)
        if isinstance(response, TemplateResponse) and response.context_data is not None:
            ids = list(queryset.values_list("pk", flat=True))
            response.context_data["form_users"] = form_users(form_ids=ids)
        return response

    @admin.display(description="submissions")
    def submission_count(self, obj: Form) -> int:
        return obj.submissions.count()

    @admin.display(description="embed code")
    def embed_code(self, obj: Form) -> str:
        if not obj.pk:
            return "Save the form first."
        # Absolute: the code is pasted on the customer's own site.
        url = f"{settings.PUBLIC_URL}{reverse('form-generate-js')}?id={obj.pk}"
        return format_html('<code>&lt;script src="{}"&gt;&lt;/script&gt;</code>', url)

    @admin.display(description="live preview")
    def preview(self, obj: Form) -> str:
        # The saved form at first; then forms/live-preview.js redraws it from the values on
        # the page as they change. Sandboxed: a form in it cannot be sent.
        return format_html(
            '<div class="live-preview" data-preview-url="{}" data-item="{}">'
            '<iframe{} title="preview" style="width:100%;max-width:100%;min-height:420px;'
            'border:1px solid #ccc" sandbox=""></iframe>'
            '<p class="help">Follows your changes before you save; nothing in it can be sent.'
            "</p></div>",
            reverse("admin:forms_form_preview"),
            obj.pk or "",
            format_html(' src="{}"', reverse("form-embed", args=[obj.pk])) if obj.pk else "",
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(require_POST(self.preview_view))
        return [path("preview/", view, name="forms_form_preview"), *super().get_urls()]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The form as the builder's unsaved values show it, settings and fields, as a page for
        the preview frame, with what saving would refuse listed above it. It writes nothing."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        builder = self.get_form(request)(data=request.POST)
        builder.is_valid()  # the form takes every value that is valid
        form: Form = builder.instance
        saved = request.POST.get("item", "")
        # The saved form's own rows are read as such, not as new ones.
        form.pk = int(saved) if saved.isdigit() and len(saved) <= 12 else None
        inline = FieldInline(Form, self.admin_site)
        rows = inline.get_formset(request)(data=request.POST, instance=form, prefix="fields")
        rows.is_valid()
        shown, problems = [], [str(m) for ms in builder.errors.values() for m in ms]
        for row in rows.forms:
            cleaned = getattr(row, "cleaned_data", {})
            if cleaned.get("DELETE") or not (row.has_changed() or row.instance.pk):
                continue
            shown.append(row.instance)
            label = row.instance.label or "A new field"
            problems += [f"{label}: {m}" for ms in row.errors.values() for m in ms]
        problems += [str(m) for m in rows.non_form_errors()]
        shown.sort(key=lambda f: f.order or 0)
        html = render_to_string(
            "forms/form.html",
            {
                "form": form,
                "fields": form_fields_context(fields=shown, values={}, errors={}),
                "action": "",
                "kiosk": False,
            },
        )
        page = format_html(
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>Preview</title>'
            '<body style="font:14px system-ui;margin:1rem">'
            '<ul class="problems" style="color:#b91c1c">{}</ul>{}</body></html>',
            format_html_join("", "<li>{}</li>", ((m,) for m in problems)),
            mark_safe(html),  # noqa: S308 -- rendered by the template, which escapes
        )
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "form", "contact", "created_at", "kiosk", "identified"]
    list_filter = ["form", "kiosk", "identified"]
    readonly_fields = ["form", "contact", "data", "kiosk", "identified", "created_at"]
    actions = ["export_csv"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Export the selected submissions as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet[Submission]) -> HttpResponse:
        body = submissions_csv(submissions=queryset.select_related("form", "contact"))
        response = HttpResponse(body, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="submissions.csv"'
        return response
