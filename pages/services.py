"""Assets: upload checks and downloads; landing pages: safe bodies."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import nh3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from consent.gate import Decision
from contacts.models import Contact
from emails.models import Recipient
from pages.models import Asset, AssetDownload, LandingPage
from tracker.enqueue import event_enqueue
from tracker.services import counted_event
from tracker.store import counted_rows_store

# Served as downloads only, never rendered in our origin; no markup, no executables.
ALLOWED_EXTENSIONS = frozenset(
    {
        ".pdf",
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".txt",
        ".csv",
        ".zip",
        ".docx",
        ".xlsx",
        ".pptx",
        ".odt",
        ".ods",
        ".odp",
        ".mp3",
        ".mp4",
        ".epub",
    }
)
_PAGE_TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "br",
    "hr",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "a",
    "ul",
    "ol",
    "li",
    "img",
    "figure",
    "figcaption",
    "blockquote",
    "section",
    "div",
    "span",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "small",
    "code",
    "pre",
}
_PAGE_ATTRIBUTES = {
    "*": {"class", "id"},
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
}


def asset_upload_check(*, upload: UploadedFile) -> tuple[str, str]:
    """(original name, content type) of an acceptable upload; ValidationError otherwise."""
    name = PurePath(upload.name or "").name
    if upload.size is None or upload.size > settings.ASSET_MAX_BYTES:
        raise ValidationError(f"Files may be at most {settings.ASSET_MAX_BYTES} bytes.")
    if name.count(".") != 1 or name.startswith("."):
        raise ValidationError("A file name needs exactly one extension (no 'report.pdf.exe').")
    extension = PurePath(name).suffix.lower()
    if extension not in ALLOWED_EXTENSIONS:
        raise ValidationError(f"{extension} files are not accepted.")
    content_type = mimetypes.types_map.get(extension, "application/octet-stream")
    return name[:255], content_type


def page_body_clean(*, html: str) -> str:
    return nh3.clean(
        html, tags=_PAGE_TAGS, attributes=_PAGE_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )


def landing_pages_publish(*, pages: QuerySet[LandingPage], published: bool) -> int:
    """Publish or unpublish the pages; returns how many changed."""
    return pages.exclude(published=published).update(published=published, updated_at=timezone.now())


def asset_download_record(
    *, request: HttpRequest, decision: Decision, asset: Asset, recipient: Recipient | None
) -> str | None:
    """Count the download as the decision allows; returns the device to remember."""
    if not decision.count:
        return decision.device_id
    event, identity = counted_event(request=request, decision=decision, kind="asset", a=asset.pk)
    if recipient is not None and decision.identify and not identity.machine:
        event["c"] = recipient.contact_id
    event_enqueue(event)
    return identity.device_id or decision.device_id


def asset_downloads_store(events: Sequence[dict[str, Any]]) -> int:
    """Downloads from the pipeline (their fields checked by the registry); an asset deleted
    since counts nothing."""
    assets = set(
        Asset.objects.filter(id__in={int(e["a"]) for e in events}).values_list("id", flat=True)
    )
    # A contact named by a signed link, unless erased since: then the download is attributed
    # to the device's contact, if any.
    contacts = set(
        Contact.objects.filter(id__in={int(e["c"]) for e in events if e.get("c")}).values_list(
            "id", flat=True
        )
    )

    def own(event: dict[str, Any]) -> dict[str, Any] | None:
        if int(event["a"]) not in assets:
            return None
        named = int(event["c"]) if event.get("c") else None
        return {"asset_id": int(event["a"]), **({"contact_id": named} if named in contacts else {})}

    return counted_rows_store(AssetDownload, events, own=own)
