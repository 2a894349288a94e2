"""The event types an endpoint may subscribe to, and the small payloads they carry: ids, the
event's own fields and the contact's consent state, never an anonymous visitor (anonymous
counting sends nothing). A counted kind adds its type through its registry row's `hook`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from consentry.kinds import kinds

if TYPE_CHECKING:
    from contacts.models import Contact

# Sent by a "send test event" only, to the one endpoint tested; no endpoint subscribes to it.
TEST = "webhook.test"

_CORE = {
    "contact.created": "A contact was created: by a form, an import, the API or the admin.",
    "contact.updated": "A contact's email, names or custom fields changed.",
    "consent.changed": "A contact granted, withdrew or objected to tracking or email.",
    "dnc.added": "A contact was put on Do-Not-Contact for a channel.",
    "dnc.removed": "A contact was taken off Do-Not-Contact for a channel.",
    "contact.erased": "A contact was erased; the event carries their former id only.",
}


def event_types() -> dict[str, str]:
    """Every type an endpoint may subscribe to, with what it means."""
    types = dict(_CORE)
    for kind in kinds():
        if kind.hook is not None:
            types.setdefault(kind.hook.event, kind.hook.description)
    return dict(sorted(types.items()))


def consent_summaries(*, contact_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The consent state each event about a contact carries: the newest choice for tracking
    and for email (granted, withdrawn, objected, or none when never asked) and the channels
    the contact is on Do-Not-Contact for."""
    from consent.models import Purpose
    from consent.selectors import consent_states
    from contacts.models import DoNotContact

    ids = set(contact_ids)
    words = {"grant": "granted", "withdraw": "withdrawn", "object": "objected"}
    tracking = consent_states(contact_ids=ids, purpose=Purpose.TRACKING)
    email = consent_states(contact_ids=ids, purpose=Purpose.EMAIL)
    dnc: dict[int, list[str]] = {}
    for contact_id, channel in (
        DoNotContact.objects.filter(contact_id__in=ids)
        .order_by("channel")
        .values_list("contact_id", "channel")
    ):
        dnc.setdefault(contact_id, []).append(channel)
    return {
        contact_id: {
            "tracking": words.get(tracking.get(contact_id, ""), "none"),
            "email": words.get(email.get(contact_id, ""), "none"),
            "do_not_contact": dnc.get(contact_id, []),
        }
        for contact_id in ids
    }


def contact_data(contact: Contact) -> dict[str, Any]:
    """A contact as contact.created and contact.updated carry it: what the CRM keeps."""
    return {
        "id": contact.pk,
        "email": contact.email,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "fields": contact.fields,
    }
