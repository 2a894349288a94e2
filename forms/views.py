"""The form surface: /form/generate.js, /form/{id}, /form/embed/{id}, POST /form/submit."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError
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
from consentry.csp import frame_ancestors_allow
from consentry.ratelimit import rate_limit_hit
from consentry.redirects import origins_read, redirect_target, url_read
from consentry.scripts import script_response
from consentry.sites import site_tracked, sites_tracked
from focus.models import FocusEventKind, FocusItem
from focus.services import focus_event_record
from forms.mautic import MauticPost, mautic_post_read
from forms.models import CONSENT_TYPES, Form
from forms.rendering import form_fields_context
from forms.selectors import (
    form_get_published,
    form_get_published_kept,
    forms_forget,
    submission_contact_get,
    submission_facts,
)
from forms.services import submission_record
from forms.validation import Cleaned, submission_clean
from tracker.minimise import page_parse

MAX_BODY = 64 * 1024
MAX_FIELDS = 100
RATE_WINDOW = 600
# Scripts served as they are: Mautic's form script, ours (forms/js/).
SCRIPTS = Path(__file__).resolve().parent / "js"


def _origin_of(url: str) -> str:
    page = page_parse(url) if url else None
    return page.site if page else ""


def _own_origins(request: HttpRequest) -> set[str]:
    return {_origin_of(settings.PUBLIC_URL), f"{request.scheme}://{request.get_host()}".lower()}


def _allowed(form: Form, origin: str, request: HttpRequest) -> bool:
    return (
        origin in form.origins() or site_tracked(origin=origin) or origin in _own_origins(request)
    )


def _fields(form: Form, values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    return form_fields_context(fields=form.fields.all(), values=values, errors=errors)


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


def _get_form(value: str | None, *, preview: bool = False, kept: bool = False) -> Form:
    if not value or not value.isdigit() or len(value) > 12:
        raise Http404
    if kept:
        form = form_get_published_kept(form_id=int(value))
    else:
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


def _script_response(request: HttpRequest, name: str) -> HttpResponse:
    # An hour fresh, then revalidated in the background: a new release reaches pages soon.
    return script_response(request, SCRIPTS / name, fresh_s=3600, stale_s=86400)


@require_safe
def mautic_form_js(request: HttpRequest) -> HttpResponse:
    """/media/js/mautic-form.js: the MauticSDK and MauticFormCallback hooks that Mautic's
    manual-copy form HTML loads. It writes no cookie and no storage."""
    return _script_response(request, "mautic-form.js")


@require_safe
def messenger_js(request: HttpRequest) -> HttpResponse:
    """The script of the messenger page (forms/templates/forms/messenger.html)."""
    return _script_response(request, "messenger.js")


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
    # Mautic's "form details" iframe snippet frames this page on the site.
    return _quiet(request, _framed(request, form, response))


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
    ancestors = " ".join(["'self'", *form.origins(), *sorted(sites_tracked())])
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}; script-src 'none'"


def _cors(request: HttpRequest, form: Form, response: HttpResponseBase) -> HttpResponseBase:
    origin = request.headers.get("Origin", "").lower()
    if origin and _allowed(form, origin, request):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
    response["Vary"] = "Origin, Cookie"
    return response


def _framed(request: HttpRequest, form: Form, response: HttpResponseBase) -> HttpResponseBase:
    """The form's page and every answer to its submission (thank-you, errors, redirect, the
    messenger page) may be framed by the sites that embed it, and by no other. The form it
    shows may send its visitor on to the form's redirect."""
    redirect = _redirect(form, request)
    url = url_read(redirect) if redirect else None
    frame_ancestors_allow(
        response,
        origins=[*form.origins(), *sorted(sites_tracked())],
        form_action=[url.origin] if url is not None else [],
    )
    return response


class Answer(enum.Enum):
    """How the submitting page reads the answer."""

    PAGE = "page"  # a browser without script: a page, or a redirect
    JSON = "json"  # generate.js: our JSON
    MAUTIC_JSON = "mautic_json"  # Mautic's `?ajax=1`: its JSON shape
    MESSENGER = "messenger"  # Mautic's hidden iframe: a page that posts its JSON to the parent


def _answer_of(request: HttpRequest, post: MauticPost | None) -> Answer:
    # As Mautic: ?ajax=1 wins over the messenger field.
    if request.GET.get("ajax") in ("1", "true"):
        return Answer.MAUTIC_JSON
    if post is not None and post.mautic and post.messenger:
        return Answer.MESSENGER
    if "application/json" in request.headers.get("Accept", ""):
        return Answer.JSON
    return Answer.PAGE


def _mautic(
    request: HttpRequest,
    form: Form,
    answer: Answer,
    post: MauticPost | None,
    data: dict[str, Any],
    status: int = 200,
) -> HttpResponseBase:
    """The answer Mautic's form script reads: `success`, then `successMessage` or `redirect`,
    or `validationErrors` (per field alias) or `errorMessage`, and the `formName` it sent."""
    if post is not None and post.form_name:
        data["formName"] = post.form_name
    if answer is Answer.MAUTIC_JSON:
        return JsonResponse(data, status=status)
    return render(
        request,
        "forms/messenger.html",
        {
            "form": form,
            "response": data,
            "target": _messenger_target(request, form, post),
            "text": data.get("successMessage") or data.get("errorMessage") or "",
        },
        status=status,
    )


def _messenger_target(request: HttpRequest, form: Form, post: MauticPost | None) -> str:
    """The origin the messenger page posts its answer to: the submitting page's, as its
    browser named it (already checked) or as its `return` field says (checked here).
    Failing both, any page: the answer holds only the form's own public messages."""
    origin = request.headers.get("Origin", "").lower()
    if origin and origin != "null":
        return origin
    back = _return(request, form, post)
    url = url_read(back) if back else None
    return url.origin if url is not None else "*"


def _fail(
    request: HttpRequest,
    form: Form | None,
    status: int,
    code: str,
    detail: str,
    fields: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    kiosk: bool = False,
    post: MauticPost | None = None,
) -> HttpResponseBase:
    answer = _answer_of(request, post)
    response: HttpResponseBase
    if form is not None and answer in (Answer.MAUTIC_JSON, Answer.MESSENGER):
        data: dict[str, Any] = {"success": 0}
        if fields:
            data["validationErrors"] = fields
        else:
            data["errorMessage"] = detail
        response = _mautic(request, form, answer, post, data, status)
    elif form is None or answer is not Answer.PAGE:
        response = JsonResponse(
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
        _framed(request, form, response)
    return _quiet(request, response)


def _origin_refused(request: HttpRequest, form: Form) -> bool:
    origin = request.headers.get("Origin", "").lower()
    return bool(origin) and origin != "null" and not _allowed(form, origin, request)


def _refused(request: HttpRequest) -> HttpResponseBase:
    return _fail(request, None, 403, "origin_not_allowed", "This site may not submit this form.")


@csrf_exempt
@require_http_methods(["POST"])
def submit(request: HttpRequest) -> HttpResponseBase:
    # Our embeds and Mautic's builder name the form in the address; Mautic's HTML also in
    # its `mauticform[formId]` field, read with the body.
    named = request.GET.get("formId") or request.GET.get("formid")
    form = _get_form(named, kept=True) if named else None
    if form is not None and _origin_refused(request, form):
        return _refused(request)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > MAX_BODY:
        return _fail(request, form, 413, "too_large", "The submission is too large.")
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return _fail(request, form, 415, "unsupported_media_type", "Send the form's fields.")
    try:
        raw = request.POST
        if len(raw) > MAX_FIELDS or request.FILES:
            raise ValueError("too many fields")
    except Exception:  # malformed multipart, too many fields: the client's fault
        return _fail(request, form, 400, "bad_form", "The submission cannot be read.")
    post = mautic_post_read(data=raw)
    if form is None:
        form = _get_form(post.form_id, kept=True)
        if _origin_refused(request, form):
            return _refused(request)
    elif post.form_id and post.form_id != str(form.pk):
        return _fail(
            request,
            form,
            400,
            "form_mismatch",
            "The address and the mauticform[formId] field name different forms.",
            post=post,
        )
    data = post.values
    retry = rate_limit_hit(
        scope="form",
        key=masked_client_ip(request),
        limit=settings.FORM_SUBMIT_LIMIT,
        window=RATE_WINDOW,
    )
    if retry is not None:
        response = _fail(
            request, form, 429, "rate_limited", "Too many submissions; try later.", post=post
        )
        response["Retry-After"] = str(retry)
        return response
    kiosk = data.get("kiosk") == "1"
    if data.get("cs_hp"):
        # A bot filled in the invisible field: thank it and keep nothing.
        return _quiet(request, _cors(request, form, _success_response(request, form, post)))
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
            post=post,
        )
    known = submission_contact_get(form=form, cleaned=cleaned)
    decision = decide(
        request,
        surface=Surface.FORM,
        contact=known,
        form=submission_facts(form=form, cleaned=cleaned, kiosk=kiosk),
    )
    try:
        outcome = submission_record(
            form=form,
            cleaned=cleaned,
            decision=decision,
            kiosk=kiosk,
            ip_masked=masked_client_ip(request),
            contact_found=known,
        )
    except IntegrityError:
        # This process's copy still held a form deleted a moment ago in another process (the
        # copy is renewed within a second): the form is gone, as for any unknown form.
        if form_get_published(form_id=form.pk) is not None:
            raise
        forms_forget()
        raise Http404 from None
    focus = data.get("cs_focus", "")
    if focus.isdigit() and FocusItem.objects.filter(pk=int(focus[:12]), form=form).exists():
        # The form was opened from a focus item: that item converted.
        focus_event_record(
            request=request, decision=decision, focus_id=int(focus), kind=FocusEventKind.CONVERSION
        )
    response = _success_response(request, form, post)
    apply(response, decision, device_id=outcome.device_id)
    return _cors(request, form, response)


def _values(cleaned: Cleaned, data: Any) -> dict[str, Any]:
    return {k: data.getlist(k) if len(data.getlist(k)) > 1 else data.get(k) for k in data}


def _here(request: HttpRequest) -> frozenset[str]:
    return origins_read([f"{request.scheme}://{request.get_host()}"])


def _redirect(form: Form, request: HttpRequest) -> str | None:
    """The form's redirect URL as the browser will read it, only if it lands on an allowed
    origin; this string, never the stored text, is what the browser is handed."""
    return redirect_target(form.redirect_url, allowed=form.redirect_origins() | _here(request))


def _return(request: HttpRequest, form: Form, post: MauticPost | None) -> str | None:
    """Mautic's `mauticform[return]`, the page the visitor was on, read as the browser will
    and only if it lands where this form may send a visitor: it comes from the page, so it
    is never trusted as given (an open redirect otherwise)."""
    if post is None or not post.return_url:
        return None
    return redirect_target(post.return_url, allowed=form.redirect_origins() | _here(request))


def _with_message(url: str, message: str) -> str:
    """`url` with Mautic's `mauticMessage` parameter, which its pages show, before any #."""
    base, hashed, fragment = url.partition("#")
    joined = f"{base}{'&' if '?' in base else '?'}{urlencode({'mauticMessage': message})}"
    return joined + (f"#{fragment}" if hashed else "")


def _success_response(
    request: HttpRequest, form: Form, post: MauticPost | None = None
) -> HttpResponseBase:
    redirect = _redirect(form, request)
    answer = _answer_of(request, post)
    response: HttpResponseBase
    if answer in (Answer.MAUTIC_JSON, Answer.MESSENGER):
        data: dict[str, Any] = {"success": 1}
        if redirect:
            data["redirect"] = redirect
        else:
            data["successMessage"] = form.success_message
        return _framed(request, form, _mautic(request, form, answer, post, data))
    if answer is Answer.JSON:
        response = JsonResponse({"ok": True, "message": form.success_message, "redirect": redirect})
        return _framed(request, form, response)
    back = _return(request, form, post)
    if not redirect and back:
        # Mautic's HTML posted without its script: back to the page, with the thank-you.
        redirect = _with_message(back, form.success_message)
    if redirect:
        response = HttpResponseRedirect(redirect, status=303)
        # As returned, not re-escaped by Django: the header and the JSON name the same URL.
        response["Location"] = redirect
    else:
        response = render(
            request, "forms/page.html", {"form": form, "success": form.success_message}
        )
    return _framed(request, form, response)
