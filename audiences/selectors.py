from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform

from audiences.models import Audience
from consent.models import ConsentRecord, Purpose
from contacts.models import Contact, DoNotContact
from forms.models import Submission


def _newest(purpose: str) -> Subquery:
    return Subquery(
        ConsentRecord.objects.filter(contact=OuterRef("pk"), purpose=purpose)
        .order_by("-created_at", "-id")
        .values("action")[:1]
    )


def _consent(contacts: QuerySet[Contact], name: str, purpose: str, state: str) -> Any:
    contacts = contacts.annotate(**{name: _newest(purpose)})
    if state == "none":
        return contacts.filter(**{f"{name}__isnull": True})
    return contacts.filter(**{name: state})


def _day_start(value: str) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(), tzinfo=dt.UTC)


def audience_contacts_for(*, filters: dict[str, Any]) -> QuerySet[Contact]:
    """The contacts a checked filter document (audiences.filters.filters_clean) chooses: one
    query, each filter a WHERE clause or an indexed EXISTS, never a loop over contacts."""
    contacts = Contact.objects.all()
    if "email_consent" in filters:
        contacts = _consent(contacts, "aud_email", Purpose.EMAIL, filters["email_consent"])
    if "tracking_consent" in filters:
        contacts = _consent(contacts, "aud_tracking", Purpose.TRACKING, filters["tracking_consent"])
    for channel, on in filters.get("dnc", {}).items():
        listed = Exists(DoNotContact.objects.filter(contact=OuterRef("pk"), channel=channel))
        contacts = contacts.filter(listed if on else ~listed)
    if "form" in filters:
        contacts = contacts.filter(
            Exists(Submission.objects.filter(contact=OuterRef("pk"), form_id=filters["form"]))
        )
    for i, condition in enumerate(filters.get("fields", [])):
        # The key as a key, whatever its name (never read as a lookup such as "contains").
        alias = f"aud_field_{i}"
        contacts = contacts.alias(**{alias: KeyTextTransform(condition["name"], "fields")})
        blank = Q(**{f"{alias}__isnull": True}) | Q(**{alias: ""})
        if condition["op"] == "equals":
            contacts = contacts.filter(**{alias: condition["value"]})
        elif condition["op"] == "contains":
            contacts = contacts.filter(**{f"{alias}__icontains": condition["value"]})
        elif condition["op"] == "empty":
            contacts = contacts.filter(blank)
        else:
            contacts = contacts.exclude(blank)
    if filters.get("tags"):
        # Tags are the custom field "tags", a list of texts.
        contacts = contacts.alias(aud_tags=KeyTransform("tags", "fields"))
    for tag in filters.get("tags", []):
        if connection.vendor == "postgresql":
            contacts = contacts.filter(**{"aud_tags__contains": [tag]})
        else:  # SQLite has no JSON containment: the tag as it is written in the list
            contacts = contacts.filter(**{"aud_tags__icontains": json.dumps(tag)})
    for key, lookup in (
        ("created_after", "created_at__gte"),
        ("created_before", "created_at__lt"),
        ("updated_after", "updated_at__gte"),
        ("updated_before", "updated_at__lt"),
    ):
        if key in filters:
            day = _day_start(filters[key])
            # "before 2026-12-31" includes that day.
            contacts = contacts.filter(
                **{lookup: day + dt.timedelta(days=1) if key.endswith("before") else day}
            )
    return contacts.order_by("id")


def audience_contacts(*, audience: Audience) -> QuerySet[Contact]:
    return audience_contacts_for(filters=audience.filters)


def audience_count(*, filters: dict[str, Any]) -> int:
    return audience_contacts_for(filters=filters).count()
