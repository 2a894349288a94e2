"""The form surface: /form/generate.js, /form/{id}, /form/embed/{id}, POST /form/submit."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from consent.cookies import apply
from consent.gate import Surface, decide
from consent.ip import masked_client_ip
from consentry.ratelimit import rate_limit_hit
from consentry.redirects import origins_read, redirect_target
from focus.models import FocusEventKind, FocusItem
from focus.services import focus_event_record
from forms.models import CONSENT_TYPES, Form
from forms.selectors import form_get_published, submission_contact_get, submission_facts
from forms.services import submission_record
from forms.validation import Cleaned, submission_clean
from tracker.minimise import page_parse

MAX_BODY = 64 * 1024
MAX_FIELDS = 100
RATE_WINDOW = 600
_INPUT_TYPES = {"email": "email", "number": "number", "date": "date"}


def _origin_of(url: str) -> str:
    page = page_parse(url) if url else None
    return page.site if page else ""


def _own_origins(request: HttpRequest) -> set[str]:
    return {_origin_of(settings.PUBLIC_URL), f"{request.scheme}://{request.get_host()}".lower()}


def _allowed(form: Form, origin: str, request: HttpRequest) -> bool:
    return (
        origin in form.origins()
        or origin in settings.TRACKED_SITES
        or origin in _own_origins(request)
    )


def _fields(form: Form, values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for f in form.fields.all():
        value = values.get(f.alias, f.default)
        out.append(
            {
                "alias": f.alias,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "choices": f.choices(),
                "input_type": _INPUT_TYPES.get(f.type, "text"),
                "value": value if isinstance(value, str) else "",
                "selected": value if isinstance(value, list) else [value],
                "checked": value in ("1", "on"),
                "error": errors.get(f.alias, ""),
            }
        )
    return out


def _form_html(
    request: HttpRequest,
    form: Form,
    *,
    kiosk: bool,
    focus_id: int | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    non_field_error: str = "",
) -> str:
    return render_to_string(
        "forms/form.html",
        {
            "form": form,
            "fields": _fields(form, values or {}, errors or {}),
            "action": _action(form),
            "kiosk": kiosk,
            "focus_id": focus_id,
            "non_field_error": non_field_error,
        },
        request=None,
    )


def _get_form(value: str | None, *, preview: bool = False) -> Form:
    if not value or not value.isdigit() or len(value) > 12:
        raise Http404
    form = form_get_published(form_id=int(value), include_drafts=preview)
    if form is None:
        raise Http404
    return form


def _quiet(
    request: HttpRequest, response: HttpResponseBase, surface: Surface = Surface.FORM
) -> HttpResponseBase:
    """Pages that show a form decide nothing about the visitor and write nothing."""
    apply(response, decide(request, surface=surface))
    return response


def _js_string(value: str) -> str:
    """A JavaScript string literal that cannot close a surrounding <script> element."""
    return json.dumps(value).replace("<", "\\u003c")


@require_safe
def generate_js(request: HttpRequest) -> HttpResponseBase:
    form = _get_form(request.GET.get("id"))
    kiosk = request.GET.get("kiosk") in ("1", "true")
    action = _action(form)
    focus = request.GET.get("focus", "")
    focus_id = int(focus) if focus.isdigit() and len(focus) <= 12 else None
    script = render_to_string(
        "forms/generate.js",
        {
            "form_id": form.pk,
            "html_json": _js_string(_form_html(request, form, kiosk=kiosk, focus_id=focus_id)),
            "action_json": _js_string(action),
            "prefill_json": json.dumps(sorted(_prefill_aliases(form))),
        },
    )
    response = HttpResponse(script, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return _quiet(request, response)


@xframe_options_exempt
@require_safe
def page(request: HttpRequest, form_id: str) -> HttpResponseBase:
    form = _get_form(form_id)
    kiosk = request.GET.get("kiosk") in ("1", "true")
    values = {k: str(v) for k, v in request.GET.items() if k not in ("kiosk", "cs_hp")}
    response = render(
        request,
        "forms/page.html",
        {
            "form": form,
            "fields": _fields(form, _prefill(form, values), {}),
            "action": _action(form),
            "kiosk": kiosk,
        },
    )
    _frame_policy(form, response)
    return _quiet(request, response)


@xframe_options_exempt
@require_safe
def embed(request: HttpRequest, form_id: str) -> HttpResponseBase:
    # Staff preview unpublished forms from the admin; everyone else gets 404 for them.
    form = _get_form(form_id, preview=request.user.is_staff)
    kiosk = request.GET.get("kiosk") in ("1", "true")
    html = _form_html(
        request,
        form,
        kiosk=kiosk,
        values=_prefill(form, {k: str(v) for k, v in request.GET.items()}),
    )
    response = HttpResponse(html, content_type="text/html; charset=utf-8")
    _frame_policy(form, response)
    return _quiet(request, response)


def _prefill_aliases(form: Form) -> set[str]:
    return {f.alias for f in form.fields.all() if f.type not in CONSENT_TYPES}


def _prefill(form: Form, values: dict[str, str]) -> dict[str, str]:
    """Only explicit URL parameters prefill: the form's own fields, never a consent box."""
    allowed = _prefill_aliases(form)
    return {k: v[:500] for k, v in values.items() if k in allowed}


def _action(form: Form) -> str:
    return f"{settings.PUBLIC_URL}{reverse('form-submit')}?formId={form.pk}"


def _frame_policy(form: Form, response: HttpResponseBase) -> None:
    ancestors = " ".join(["'self'", *form.origins(), *settings.TRACKED_SITES])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}; script-src 'none'"


def _cors(request: HttpRequest, form: Form, response: HttpResponseBase) -> HttpResponseBase:
    origin = request.headers.get("Origin", "").lower()
    if origin and _allowed(form, origin, request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    response["Vary"] = "Origin, Cookie"
    return response


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _fail(
    request: HttpRequest,
    form: Form | None,
    status: int,
    code: str,
    detail: str,
    fields: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    kiosk: bool = False,
) -> HttpResponseBase:
    if form is None or _wants_json(request):
        response: HttpResponseBase = JsonResponse(
            {"ok": False, "error": code, "detail": detail, "fields": fields or {}}, status=status
        )
    else:
        response = render(
            request,
            "forms/page.html",
            {
                "form": form,
                "fields": _fields(form, values or {}, fields or {}),
                "action": _action(form),
                "kiosk": kiosk,
                "non_field_error": detail,
            },
            status=status,
        )
    if form is not None:
        _cors(request, form, response)
    return _quiet(request, response)


@csrf_exempt
@require_http_methods(["POST"])
def submit(request: HttpRequest) -> HttpResponseBase:
    form = _get_form(request.GET.get("formId") or request.GET.get("formid"))
    origin = request.headers.get("Origin", "").lower()
    if origin and origin != "null" and not _allowed(form, origin, request):
        return _fail(
            request, None, 403, "origin_not_allowed", "This site may not submit this form."
        )
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        return _fail(request, form, 413, "too_large", "The submission is too large.")
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _fail(request, form, 415, "unsupported_media_type", "Send the form's fields.")
    try:
        data = request.POST
        if len(data) > MAX_FIELDS or request.FILES:
            raise ValueError("too many fields")
    except Exception:  # malformed multipart, too many fields: the client's fault
        return _fail(request, form, 400, "bad_form", "The submission cannot be read.")
    retry = rate_limit_hit(
        scope="form",
        key=masked_client_ip(request),
        limit=settings.FORM_SUBMIT_LIMIT,
        window=RATE_WINDOW,
    )
    if retry is not None:
        response = _fail(request, form, 429, "rate_limited", "Too many submissions; try later.")
        response["Retry-After"] = str(retry)
        return response
    kiosk = data.get("kiosk") == "1"
    if data.get("cs_hp"):
        # A bot filled in the invisible field: thank it and keep nothing.
        return _quiet(request, _cors(request, form, _success_response(request, form)))
    cleaned = submission_clean(form=form, data=data)
    if cleaned.errors:
        return _fail(
            request,
            form,
            400,
            "invalid",
            "Please correct the highlighted fields.",
            cleaned.errors,
            _values(cleaned, data),
            kiosk,
        )
    decision = decide(
        request,
        surface=Surface.FORM,
        contact=submission_contact_get(form=form, cleaned=cleaned),
        form=submission_facts(form=form, cleaned=cleaned, kiosk=kiosk),
    )
    outcome = submission_record(
        form=form,
        cleaned=cleaned,
        decision=decision,
        kiosk=kiosk,
        ip_masked=masked_client_ip(request),
    )
    focus = data.get("cs_focus", "")
    if focus.isdigit() and FocusItem.objects.filter(pk=int(focus[:12]), form=form).exists():
        # The form was opened from a focus item: that item converted.
        focus_event_record(
            request=request, decision=decision, focus_id=int(focus), kind=FocusEventKind.CONVERSION
        )
    response = _success_response(request, form)
    apply(response, decision, device_id=outcome.device_id)
    return _cors(request, form, response)


def _values(cleaned: Cleaned, data: Any) -> dict[str, Any]:
    return {k: data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k) for k in data}


def _redirect(form: Form, request: HttpRequest) -> str | None:
    """The form's redirect URL as the browser will read it, only if it lands on an allowed
    origin; this string, never the stored text, is what the browser is handed."""
    here = origins_read([f"{request.scheme}://{request.get_host()}"])
    return redirect_target(form.redirect_url, allowed=form.redirect_origins() | here)


def _success_response(request: HttpRequest, form: Form) -> HttpResponse:
    redirect = _redirect(form, request)
    if _wants_json(request):
        return JsonResponse({"ok": True, "message": form.success_message, "redirect": redirect})
    if redirect:
        response = HttpResponseRedirect(redirect, status=303)
        # As returned, not re-escaped by Django: the header and the JSON name the same URL.
        response["Location"] = redirect
        return response
    return render(request, "forms/page.html", {"form": form, "success": form.success_message})
