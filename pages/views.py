"""/asset/{slug} and /p/{slug}: served to everyone, counted without cookies unless the gate
permits, identified only with a permit."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils.text import get_valid_filename
from django.views.decorators.http import require_safe

from consent.cookies import apply
from consent.gate import Surface, decide
from emails.models import Recipient
from emails.rendering import bound_token_make, bound_token_read
from emails.selectors import recipient_get
from pages.models import Asset, LandingPage
from pages.services import asset_download_record, page_body_clean

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ASSET_CT_SALT = "consentry.asset.ct"


def asset_ct_make(*, slug: str, recipient: Recipient) -> str:
    """A signed ct for an asset link in an email, bound to that asset; none for a recipient
    kept after an erasure (it has no token: the link names no one)."""
    if recipient.token is None:
        return ""
    return bound_token_make(salt=ASSET_CT_SALT, bound=slug, token=recipient.token)


def _recipient(value: str, slug: str) -> Recipient | None:
    """The recipient a signed ct names; an unsigned, forged or foreign ct names no one."""
    token = bound_token_read(value, salt=ASSET_CT_SALT, bound=slug)
    return recipient_get(token=token) if token else None


@require_safe
def asset(request: HttpRequest, slug: str) -> HttpResponseBase:
    if len(slug) > 100 or not _SLUG.match(slug):
        raise Http404  # dots, slashes, double extensions: never a slug
    item = Asset.objects.filter(slug=slug, published=True).first()
    if item is None or not item.file:
        raise Http404
    root = Path(settings.MEDIA_ROOT).resolve()
    path = Path(item.file.path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise Http404
    ct = request.GET.get("ct", "")
    recipient = _recipient(ct, slug) if ct else None
    contact = recipient.contact if recipient and recipient.tracked else None
    decision = decide(request, surface=Surface.ASSET, contact=contact)
    device_id = None
    if request.method == "GET":
        device_id = asset_download_record(
            request=request, decision=decision, asset=item, recipient=recipient
        )
    response = FileResponse(
        path.open("rb"),
        as_attachment=True,
        filename=get_valid_filename(item.original_name) or f"{slug}{path.suffix}",
        content_type=item.content_type or "application/octet-stream",
    )
    response["Cache-Control"] = "private, no-store"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    apply(response, decision, device_id=device_id)
    return response


@require_safe
def landing(request: HttpRequest, slug: str) -> HttpResponseBase:
    if len(slug) > 100 or not _SLUG.match(slug):
        raise Http404
    pages = (
        LandingPage.objects.all()
        if request.user.is_staff
        else LandingPage.objects.filter(published=True)
    )
    page = pages.select_related("form", "focus").filter(slug=slug).first()
    if page is None:
        raise Http404
    decision = decide(request, surface=Surface.LANDING)
    response = render(
        request,
        "pages/landing.html",
        {
            "page": page,
            "body": page_body_clean(html=page.body),
            # The tracker comes only as the gate allows: counted anonymously until a grant.
            # Staff previewing a page (a draft, or from the admin's link) never count.
            "track": decision.count and not request.user.is_staff,
            "form": page.form if page.form and page.form.published else None,
            "focus": page.focus if page.focus and page.focus.published else None,
        },
    )
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' https: data:; connect-src 'self'; frame-ancestors 'none'; "
        "base-uri 'none'; form-action 'self'"
    )
    apply(response, decision)
    return response
