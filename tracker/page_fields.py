"""Contact fields a page sends with its pageview (Mautic's `mt('send', 'pageview', {email,
firstname, lastname, tags})` and the pixel's `email=` / `tags=`).

Mautic identifies a visitor by the email a page sends. Here those fields may tie the hit to a
contact only when the operator switched it on (PAGE_FIELDS_IDENTIFY, off by default) and the
gate permits both identifying and storing for this browser. Otherwise they are dropped: read
here, never put on the stream nor stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from consent.gate import Choice, Decision
from consent.models import Action
from consent.services import consent_record
from contacts.models import Contact, Device
from contacts.selectors import contact_get_by_email
from contacts.services import contact_upsert, device_link

# The source a consent record and the contact's timeline name for this way of identifying.
SOURCE = "page_fields"
_MAX_EMAIL = 254
_MAX_NAME = 100
_MAX_TAGS = 20


@dataclass(frozen=True, slots=True)
class PageFields:
    email: str
    first_name: str
    last_name: str
    tags: tuple[str, ...]


def page_fields_read(*, data: Mapping[str, str]) -> PageFields | None:
    """The contact fields of a pageview, or None when the setting is off or there is no valid
    email: a malformed email drops the fields, never the hit."""
    if not settings.PAGE_FIELDS_IDENTIFY:
        return None
    email = data.get("email", "").strip()
    if not email or len(email) > _MAX_EMAIL:
        return None
    try:
        validate_email(email)
    except ValidationError:
        return None
    tags = tuple(
        dict.fromkeys(t.strip()[:_MAX_NAME] for t in data.get("tags", "").split(",") if t.strip())
    )[:_MAX_TAGS]
    return PageFields(
        email=email,
        first_name=data.get("firstname", "").strip()[:_MAX_NAME],
        last_name=data.get("lastname", "").strip()[:_MAX_NAME],
        tags=tags,
    )


def page_fields_contact(*, fields: PageFields | None) -> Contact | None:
    """The contact the fields name, if it exists: the gate reads its Do-Not-Contact."""
    return contact_get_by_email(email=fields.email) if fields else None


def page_fields_identify(
    *, fields: PageFields, decision: Decision, device_id: str | None, ip_masked: str | None
) -> Contact | None:
    """Tie the browser's device to the contact the fields name, finding or creating it by
    email, when the decision permits identifying and storing. The first time this device is
    tied to the contact, a browser that granted consent gets a record naming this source."""
    if not (decision.identify and decision.store) or device_id is None:
        return None
    given = (("first_name", fields.first_name), ("last_name", fields.last_name))
    names = {k: v for k, v in given if v}
    existing = contact_get_by_email(email=fields.email)
    held = existing.fields.get("tags") if existing else None
    tags = list(dict.fromkeys([*(held if isinstance(held, list) else []), *fields.tags]))
    contact = contact_upsert(
        email=fields.email, fields={"tags": tags} if tags else None, found=existing, **names
    )
    device, _ = Device.objects.get_or_create(public_id=device_id)
    newly = device.contact_id != contact.pk
    stored = decision.browser.choice
    browser_key = stored.browser_key if stored else ""
    device_link(device=device, contact=contact, browser_key=browser_key)
    if newly and stored is not None and stored.choice is Choice.GRANTED:
        consent_record(
            action=Action.GRANT,
            source=SOURCE,
            contact=contact,
            browser_key=browser_key,
            notice_version=stored.notice_version,
            ip_masked=ip_masked,
        )
    return contact
