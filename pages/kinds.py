"""Assets' counted kind: a download."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from consentry.kinds import Kind, Optional, Series, kind_register


def _timeline(download: Any) -> tuple[str, dict[str, Any]]:
    return "asset_download", {"asset_id": download.asset_id}


def _contact_id(value: object) -> int:
    # A contact named by a signed email link: digits only.
    if not str(value).isdigit():
        raise ValueError(f"not a contact id: {str(value)[:20]!r}")
    return int(str(value))


def register() -> None:
    from pages.models import AssetDownload
    from pages.services import asset_downloads_store

    kind_register(
        Kind(
            code="asset",
            model=AssetDownload,
            owner="contact",
            export_as="asset_downloads",
            store=asset_downloads_store,
            fields={"a": int, "c": Optional(_contact_id)},
            series=(
                Series(
                    report="asset",
                    counts={
                        "downloads": Q(),
                        "identified_downloads": Q(contact__isnull=False) | Q(device__isnull=False),
                    },
                    object_field="asset_id",
                    base=Q(machine=False),
                ),
            ),
            device="device",
            erase_detach=("contact", "device"),
            timeline=_timeline,
        )
    )
