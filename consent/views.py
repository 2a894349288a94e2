"""The visitor's privacy pages: the cookie declaration (from the registry) and the page where
a visitor sees and changes the choice recorded for their browser."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_safe

from consent import registry
from consent.cookies import apply
from consent.gate import Choice, Surface, decide, read_browser
from consent.services import choice_make
from contacts.selectors import device_owner
from tracker.minimise import page_parse

_CHOICES = {"grant": Choice.GRANTED, "refuse": Choice.REFUSED, "object": Choice.OBJECTED}
_NAMES = {Choice.GRANTED: "granted", Choice.REFUSED: "refused", Choice.OBJECTED: "objected"}


def declaration() -> dict[str, object]:
    return {
        "cookies": [
            {
                "name": c.name,
                "category": c.category.value,
                "purpose": c.purpose,
                "when": c.when,
                "lifetime_days": c.lifetime_days,
                "http_only": c.http_only,
                "signed": True,
            }
            for c in registry.REGISTRY
        ],
        "expired_on_sight": sorted(registry.LEGACY_COOKIES),
        "local_storage": [],
        "session_storage": [],
    }


@require_safe
def cookies(request: HttpRequest) -> HttpResponseBase:
    response = render(request, "privacy/cookies.html", declaration())
    apply(response, decide(request, surface=Surface.CHOICES))
    return response


@require_safe
def cookies_json(request: HttpRequest) -> HttpResponseBase:
    response = JsonResponse(declaration())
    response["Access-Control-Allow-Origin"] = "*"
    apply(response, decide(request, surface=Surface.CHOICES))
    return response


def same_origin(request: HttpRequest) -> bool:
    """Cross-site request forgery is refused by origin, not by a cookie: this page sets none."""
    origin = request.headers.get("Origin") or ""
    own = {f"{request.scheme}://{request.get_host()}".lower()}
    public = page_parse(settings.PUBLIC_URL)
    if public:
        own.add(public.site)
    if origin:
        return origin.lower() in own
    return request.headers.get("Sec-Fetch-Site", "same-origin") in ("same-origin", "none")


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def choices(request: HttpRequest) -> HttpResponseBase:
    """Granting and withdrawing are one button each, on the same page (GDPR Art. 7(3))."""
    status, chosen = 200, None
    if request.method == "POST":
        chosen = _CHOICES.get(request.POST.get("choice", ""))
        if not same_origin(request):
            status, chosen = 403, None
        elif chosen is None:
            status = 400
    page = HttpResponse(status=status)
    browser = None
    if chosen is not None:
        # A browser already tied to a contact records the choice as theirs, as the script
        # does: their proof of consent, and reached by their erasure.
        device = read_browser(request).device
        browser, _ = choice_make(
            request=request,
            response=page,
            choice=chosen,
            source="choices",
            contact=device_owner(public_id=device.device_id if device else None),
        )
    # The page says what the gate reads now, after any choice made in this request.
    decision = decide(request, surface=Surface.CHOICES, browser=browser)
    page.content = render_to_string(
        "privacy/choices.html",
        {
            "current": _NAMES[decision.choice] if decision.choice else None,
            "reason": decision.reason.value,
            "changed": chosen is not None,
            "status": status,
            "controller": settings.CONTROLLER_NAME,
            "controller_contact": settings.CONTROLLER_CONTACT,
            "policy_url": settings.PRIVACY_POLICY_URL,
        },
        request,
    )
    apply(page, decision)
    return page
