"""The filter document of an audience: plain data in a closed shape, checked here before it
is stored or counted, so that the selector only ever reads known keys and typed values.

    {
      "email_consent": "grant" | "withdraw" | "object" | "none",
      "tracking_consent": "grant" | "withdraw" | "object" | "none",
      "dnc": {"email": true, "sms": false, "tracking": false},   # on (true) or off (false)
      "form": 12,                                                # submitted this form
      "fields": [{"name": "city", "op": "equals", "value": "Berlin"}],
      "tags": ["customer"],                                      # has every one of these
      "created_after": "2026-01-01", "created_before": "2026-12-31",
      "updated_after": "2026-01-01", "updated_before": "2026-12-31"
    }

Every key is optional; an empty document chooses every contact."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import ValidationError

from contacts.models import Channel

CONSENT_STATES = ("grant", "withdraw", "object", "none")
FIELD_OPS = ("equals", "contains", "empty", "not_empty")
DATE_KEYS = ("created_after", "created_before", "updated_after", "updated_before")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MAX_CONDITIONS = 20
_MAX_TEXT = 200


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or len(value) > _MAX_TEXT:
        raise ValidationError({key: f"a text of at most {_MAX_TEXT} characters"})
    return value


def filters_clean(data: Any) -> dict[str, Any]:
    """The document, checked and normalised; a ValidationError names each bad key."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValidationError({"filters": "an object of filters"})
    known = {"email_consent", "tracking_consent", "dnc", "form", "fields", "tags", *DATE_KEYS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValidationError({"filters": f"unknown filters: {', '.join(map(str, unknown))}"})
    clean: dict[str, Any] = {}
    for key in ("email_consent", "tracking_consent"):
        if key in data:
            if data[key] not in CONSENT_STATES:
                raise ValidationError({key: f"one of {', '.join(CONSENT_STATES)}"})
            clean[key] = data[key]
    if "dnc" in data:
        dnc = data["dnc"]
        if not isinstance(dnc, dict) or any(
            c not in Channel.values or not isinstance(v, bool) for c, v in dnc.items()
        ):
            raise ValidationError({"dnc": f"channels ({', '.join(Channel.values)}) to true/false"})
        clean["dnc"] = dict(dnc)
    if "form" in data:
        form = data["form"]
        if isinstance(form, bool) or not isinstance(form, int) or not 0 < form < 2**63:
            raise ValidationError({"form": "a form id"})
        clean["form"] = form
    if "fields" in data:
        clean["fields"] = _fields_clean(data["fields"])
    if "tags" in data:
        tags = data["tags"]
        if not isinstance(tags, list) or len(tags) > _MAX_CONDITIONS:
            raise ValidationError({"tags": f"a list of at most {_MAX_CONDITIONS} tags"})
        clean["tags"] = [_text(t, "tags") for t in tags if _text(t, "tags").strip()]
    for key in DATE_KEYS:
        if key in data:
            try:
                clean[key] = dt.date.fromisoformat(_text(data[key], key)).isoformat()
            except ValueError:
                raise ValidationError({key: "a date, YYYY-MM-DD"}) from None
    return clean


def _fields_clean(conditions: Any) -> list[dict[str, str]]:
    if not isinstance(conditions, list) or len(conditions) > _MAX_CONDITIONS:
        raise ValidationError({"fields": f"a list of at most {_MAX_CONDITIONS} conditions"})
    clean = []
    for condition in conditions:
        if not isinstance(condition, dict) or set(condition) - {"name", "op", "value"}:
            raise ValidationError({"fields": "conditions of name, op and value"})
        name = _text(condition.get("name"), "fields")
        if not _FIELD_NAME.match(name):
            raise ValidationError({"fields": f"{name!r} is not a field name"})
        op = condition.get("op", "equals")
        if op not in FIELD_OPS:
            raise ValidationError({"fields": f"op is one of {', '.join(FIELD_OPS)}"})
        value = _text(condition.get("value", ""), "fields")
        clean.append({"name": name, "op": op, "value": value})
    return clean
