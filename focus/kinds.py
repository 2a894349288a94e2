"""Focus items' counted kind: a view or a conversion."""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from consentry.kinds import Hook, Kind, Series, kind_register


def _timeline(event: Any) -> tuple[str, dict[str, Any]]:
    return f"focus_{event.kind}", {"focus_id": event.focus_id}


def _converted(event: Any) -> dict[str, Any]:
    return {
        "focus": {"id": event.focus_id, "name": event.focus.name},
        "contact": {"id": event.contact_id},
    }


def register() -> None:
    from focus.models import FocusEvent, FocusEventKind
    from focus.services import focus_events_store

    kind_register(
        Kind(
            code="focus",
            model=FocusEvent,
            owner="contact",
            export_as="focus_events",
            store=focus_events_store,
            fields={"f": int, "a": FocusEventKind},
            series=(
                Series(
                    report="focus",
                    counts={
                        "views": Q(kind="view"),
                        "conversions": Q(kind="conversion"),
                        "identified_views": Q(kind="view", device__isnull=False),
                    },
                    object_field="focus_id",
                    base=Q(machine=False),
                ),
            ),
            device="device",
            # Views stay in the item's counts, attributed to no one.
            erase_detach=("contact", "device"),
            timeline=_timeline,
            hook=Hook(
                event="focus.converted",
                description="An identified visitor converted on a focus item (clicked its "
                "button or sent its form).",
                data=_converted,
                where=Q(kind="conversion", machine=False),
                related=("focus",),
            ),
        )
    )
