"""Server-side validation of a submission, field by field, with messages a visitor reads."""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import QueryDict

from forms.models import CONSENT_TYPES, Field, FieldType, Form

_DEFAULT_MAX = {FieldType.TEXTAREA: 5000, FieldType.EMAIL: 254}


@dataclass
class Cleaned:
    values: dict[str, str | list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    # Aliases of the consent fields the visitor ticked.
    ticked: list[Field] = field(default_factory=list)


def _plain(number: decimal.Decimal) -> str:
    """150.000000 -> "150", 2.50 -> "2.5" (never "1.5E+2")."""
    return format(number.normalize(), "f")


def _one(form_field: Field, raw: str) -> str:
    kind = form_field.type
    limit = form_field.max_length or _DEFAULT_MAX.get(FieldType(kind), 255)
    if len(raw) > limit:
        raise ValidationError(f"At most {limit} characters.")
    if kind == FieldType.EMAIL:
        validate_email(raw)
        return raw.strip()
    if kind == FieldType.NUMBER:
        try:
            number = decimal.Decimal(raw)
        except decimal.InvalidOperation:
            raise ValidationError("Enter a number.") from None
        if not number.is_finite():
            raise ValidationError("Enter a number.")
        if form_field.min_value is not None and number < form_field.min_value:
            raise ValidationError(f"At least {_plain(form_field.min_value)}.")
        if form_field.max_value is not None and number > form_field.max_value:
            raise ValidationError(f"At most {_plain(form_field.max_value)}.")
        return raw.strip()
    if kind == FieldType.DATE:
        try:
            return dt.date.fromisoformat(raw.strip()).isoformat()
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.") from None
    if kind in (FieldType.SELECT, FieldType.RADIO) and raw not in form_field.choices():
        raise ValidationError("Choose one of the options.")
    return raw


def submission_clean(*, form: Form, data: QueryDict) -> Cleaned:
    cleaned = Cleaned()
    for form_field in form.fields.all():
        alias = form_field.alias
        if form_field.type in CONSENT_TYPES:
            if data.get(alias) in ("1", "on", "yes", "true"):
                cleaned.ticked.append(form_field)
                cleaned.values[alias] = "1"
            elif form_field.required:
                cleaned.errors[alias] = "Please tick this box to continue."
            continue
        if form_field.type == FieldType.CHECKBOX_GROUP:
            picked = [v for v in data.getlist(alias) if v]
            if any(v not in form_field.choices() for v in picked):
                cleaned.errors[alias] = "Choose among the options."
            elif form_field.required and not picked:
                cleaned.errors[alias] = "Choose at least one."
            else:
                cleaned.values[alias] = picked
            continue
        raw = (data.get(alias) or "").replace("\x00", "")
        if not raw.strip():
            if form_field.required:
                cleaned.errors[alias] = "This field is required."
            continue
        try:
            cleaned.values[alias] = _one(form_field, raw)
        except ValidationError as exc:
            cleaned.errors[alias] = exc.messages[0] if exc.messages else "Invalid value."
    return cleaned
