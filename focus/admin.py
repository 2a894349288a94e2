from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST, require_safe

from focus.models import FocusItem
from focus.services import focus_config
from focus.validation import focus_problems
from focus.views import focus_script, json_for_script

# Written for the marketer who builds the item: what each setting does, and an example.
FOCUS_HELP = {
    "name": "For you and your reports only; visitors never see it. E.g. “Autumn sale bar”.",
    "published": "Unticked, the item shows on no site; you can still preview it here.",
    "style": "Where it appears: a bar across the top or bottom, a modal in the middle over a "
    "dimmed page, a notification in the corner, or the full page.",
    "headline": "The line visitors read first. E.g. “20% off everything until Sunday”.",
    # The admin shows help texts as HTML: the example is escaped to be read, not rendered.
    "text": escape(
        "Optional, under the headline. Simple HTML only: paragraphs, bold, italics, links "
        "and lists. E.g. <p>Use code <strong>AUTUMN</strong> at checkout.</p>"
    ),
    "background": "The item's background colour. E.g. #1f2937 (dark grey).",
    "foreground": "The colour of the headline, the text and the form's labels; it must read "
    "well on the background. E.g. #ffffff.",
    "button_colour": "The button's colour (and the form's send button); its label is shown in "
    "white or black, whichever reads better. E.g. #2563eb.",
    "button_label": "The text on the button. E.g. “Shop now”. Empty: “Open”. Needs a button "
    "link or a form.",
    "button_url": "Where the button leads; each click counts as a conversion. E.g. "
    "https://www.example.com/sale. Leave empty when the button opens a form.",
    "form": "A form the button opens inside the item, in the item's colours; each submission "
    "counts as a conversion. Leave empty when the button is a link.",
    "trigger": "When the item appears on a page: at once, after some seconds, once the "
    "visitor has scrolled down so far, or when the mouse leaves the page to close it.",
    "trigger_value": "Seconds for “After N seconds” (e.g. 5), percent for “At N % scroll” "
    "(e.g. 50); 0 for the other triggers.",
    "frequency": "How often one visitor sees it: once, on every page, once a day, or every "
    "N minutes. Remembered by a small functional cookie that identifies no one.",
    "frequency_minutes": "For “Every N minutes” only: the minutes before it shows again. E.g. 30.",
}
COLOURS = ("background", "foreground", "button_colour")
COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


class ColourInput(forms.TextInput):
    """A colour picker beside a box for the #rrggbb code: the picker for choosing, the box for
    pasting a brand colour (and for browsers without a picker)."""

    template_name = "focus/widgets/colour.html"

    def __init__(self) -> None:
        super().__init__(
            attrs={
                "pattern": "#[0-9a-fA-F]{6}",
                "maxlength": "7",
                "size": "8",
                "placeholder": "#rrggbb",
                "spellcheck": "false",
            }
        )


class FocusBuilderForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = FocusItem
        fields = list(FOCUS_HELP)
        help_texts = FOCUS_HELP
        widgets = {name: ColourInput() for name in COLOURS}

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        for name in COLOURS:
            if name not in cleaned:
                continue
            if not COLOUR.fullmatch(cleaned[name]):
                self.add_error(name, "Enter a colour like #1a2b3c: # and six hex digits.")
            else:
                cleaned[name] = cleaned[name].lower()
        if set(FOCUS_HELP) - set(cleaned):  # a box already has its own error
            return cleaned
        item = FocusItem(pk=self.instance.pk, **{name: cleaned[name] for name in FOCUS_HELP})
        for problem in focus_problems(item=item):
            self.add_error(problem.field, problem.message)
        return cleaned


@admin.register(FocusItem)
class FocusItemAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = FocusBuilderForm
    list_display = ["name", "style", "published", "trigger", "frequency", "views", "conversions"]
    list_filter = ["published", "style"]
    search_fields = ["name", "headline"]
    readonly_fields = ["embed_code", "preview"]
    fieldsets = [
        (None, {"fields": ["name", "published", "style"]}),
        (
            "Content",
            {
                "fields": [
                    "headline",
                    "text",
                    ("background", "foreground", "button_colour"),
                    "button_label",
                    "button_url",
                    "form",
                ],
            },
        ),
        ("Live preview", {"fields": ["preview"]}),
        ("When", {"fields": [("trigger", "trigger_value"), ("frequency", "frequency_minutes")]}),
        ("Embed", {"fields": ["embed_code"]}),
    ]

    class Media:
        js = ["forms/live-preview.js", "focus/builder.js"]
        css = {"all": ["focus/builder.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[FocusItem]:
        items: QuerySet[FocusItem] = super().get_queryset(request)
        human = Q(events__machine=False)
        return items.annotate(
            n_views=Count("events", filter=human & Q(events__kind="view")),
            n_conversions=Count("events", filter=human & Q(events__kind="conversion")),
        )

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "preview/",
                view(require_POST(self.preview_view)),
                name="focus_focusitem_preview",
            ),
            path(
                "preview.js",
                view(require_safe(self.preview_script_view)),
                name="focus_focusitem_preview_js",
            ),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """The item as the builder's unsaved values show it, as a page for the preview frame.
        It reads the values and writes nothing: no row, no tracked link, no view."""
        if not (self.has_add_permission(request) or self.has_change_permission(request)):
            raise PermissionDenied
        form = self.get_form(request)(data=request.POST)
        form.is_valid()  # the item takes every value that is valid
        item: FocusItem = form.instance
        pk = request.POST.get("item", "")
        item.pk = int(pk) if pk.isdigit() and len(pk) <= 12 else None
        problems = [str(m) for messages in form.errors.values() for m in messages]
        notes = format_html_join("", "<li>{}</li>", ((m,) for m in problems))
        page = format_html(
            '<!doctype html><html lang="en"><meta charset="utf-8"><title>Preview</title>'
            '<body style="margin:0;font:14px system-ui;color:#555;background:#fff">'
            '<div style="padding:1rem 1rem 6rem"><p>Your page\'s content</p>'
            '<ul class="problems" style="color:#b91c1c">{}</ul></div>'
            '<script type="application/json" id="consentry-focus-preview">{}</script>'
            '<script src="{}"></script></body></html>',
            notes,
            mark_safe(json_for_script(focus_config(item=item, preview=True))),  # noqa: S308
            reverse("admin:focus_focusitem_preview_js"),
        )
        response = HttpResponse(page, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response

    def preview_script_view(self, request: HttpRequest) -> HttpResponse:
        """The focus script itself, reading its config from the preview page."""
        body = focus_script(
            item_id=0,
            config_json='JSON.parse(document.getElementById("consentry-focus-preview").textContent)',
        )
        return HttpResponse(body, content_type="text/javascript; charset=utf-8")

    @admin.display(description="views", ordering="n_views")
    def views(self, obj: FocusItem) -> int:
        return int(getattr(obj, "n_views", 0))

    @admin.display(description="conversions", ordering="n_conversions")
    def conversions(self, obj: FocusItem) -> int:
        return int(getattr(obj, "n_conversions", 0))

    @admin.display(description="embed code")
    def embed_code(self, obj: FocusItem) -> str:
        if not obj.pk:
            return "Save the item first."
        return format_html(
            '<code>&lt;script src="{}" async&gt;&lt;/script&gt;</code>',
            f"{settings.PUBLIC_URL}{reverse('focus-js', args=[obj.pk])}",
        )

    @admin.display(description="live preview")
    def preview(self, obj: FocusItem) -> str:
        # Filled in by forms/live-preview.js from the values on the page, saved or not; the
        # preview never loads the public script, so it is never counted as a view.
        return format_html(
            '<div class="live-preview focus-preview" data-preview-url="{}" data-item="{}">'
            '<iframe title="preview" class="focus-preview-frame"></iframe>'
            '<p class="help">Follows your changes before you save. Nothing in it is counted '
            "or sent.</p></div>",
            reverse("admin:focus_focusitem_preview"),
            obj.pk or "",
        )
