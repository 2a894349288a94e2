"""Dynamic web content's counted kind: a slot filled on a page."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from consentry.kinds import Kind, Optional, Series, kind_register


def _timeline(view: Any) -> tuple[str, dict[str, Any]]:
    return "dwc_view", {
        "slot_id": view.slot_id,
        "item_id": view.item_id,
        "variant_id": view.variant_id,
    }


def register() -> None:
    from dwc.models import DwcView
    from dwc.services import dwc_views_store

    kind_register(
        Kind(
            code="dwc",
            model=DwcView,
            owner="contact",
            export_as="dwc_views",
            store=dwc_views_store,
            fields={"ds": int, "di": int, "dv": Optional(int)},
            series=(
                Series(
                    report="dwc",
                    counts={
                        "views": Q(),
                        "personalised": Q(variant__isnull=False),
                        "identified_views": Q(device__isnull=False),
                    },
                    object_field="slot_id",
                    base=Q(machine=False),
                ),
            ),
            device="device",
            # Views stay in the slot's counts, attributed to no one.
            erase_detach=("contact", "device"),
            timeline=_timeline,
        )
    )
