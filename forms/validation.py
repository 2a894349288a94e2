"""Server-side validation of a submission, field by field, with messages a visitor reads."""

from __future__ import annotations

import datetime as dt
import decimal
import re
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import QueryDict

from consentry.redirects import url_read
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


# The builder's checks: what an operator saves must be able to work for a visitor. A form that
# collects no email is allowed (Mautic allows it: feedback, polls, download gates that ask
# only for a job title); what is refused is what can never do what it says.

CHOICE_TYPES = (FieldType.SELECT, FieldType.RADIO, FieldType.CHECKBOX_GROUP)
# Where a maximum length means something: free text a visitor types (or a hidden value).
_LENGTH_TYPES = (FieldType.TEXT, FieldType.EMAIL, FieldType.TEXTAREA, FieldType.HIDDEN)
_CONTACT_FIELD = re.compile(r"[a-z][a-z0-9_]*")
_NAMES = ("email", "first_name", "last_name")


@dataclass(frozen=True, slots=True)
class Problem:
    """A configuration that cannot work, and the builder field whose box shows why."""

    field: str
    message: str


def _type_label(kind: str) -> str:
    return str(FieldType(kind).label).lower()


def field_target(form_field: Field) -> str:
    """The contact field a builder field fills (forms.selectors reads submissions the same
    way): its mapping, or the email for an Email field left unmapped."""
    if form_field.type in CONSENT_TYPES:
        return ""
    return form_field.contact_field or ("email" if form_field.type == FieldType.EMAIL else "")


def field_problems(*, form_field: Field) -> list[Problem]:
    """What is wrong with one field of the builder on its own."""
    kind, problems = form_field.type, []
    choices = form_field.choices()
    if kind in CHOICE_TYPES and not choices:
        problems.append(
            Problem(
                "options",
                f"A {_type_label(kind)} field needs options to choose from: one per line, "
                "e.g. 1-10, 11-50, 51+.",
            )
        )
    elif kind not in CHOICE_TYPES and choices:
        problems.append(
            Problem(
                "options",
                f"Only select, radio-button and checkbox-group fields offer options; a "
                f"{_type_label(kind)} field would never show them. Clear them or change the type.",
            )
        )
    repeated = sorted({c for c in choices if choices.count(c) > 1})
    if repeated:
        problems.append(Problem("options", f"Listed twice: {', '.join(repeated)}."))
    problems += _value_problems(form_field, choices)
    target = form_field.contact_field
    if target and kind in CONSENT_TYPES:
        problems.append(
            Problem(
                "contact_field",
                "A consent box is recorded as consent, never copied into a contact field: "
                "leave this empty.",
            )
        )
    elif target and not _CONTACT_FIELD.fullmatch(target):
        problems.append(
            Problem(
                "contact_field",
                "Write a contact field's name in lower-case letters, digits and _: email, "
                "first_name, last_name or your own, e.g. company_size.",
            )
        )
    elif target == "email" and kind != FieldType.EMAIL:
        problems.append(
            Problem(
                "contact_field",
                "Only a field of type Email may fill the contact's email, so that the address "
                "is checked before a contact is made from it.",
            )
        )
    elif target in _NAMES and kind == FieldType.CHECKBOX_GROUP:
        problems.append(
            Problem(
                "contact_field",
                f"A checkbox group holds several values; the contact's {target} holds one.",
            )
        )
    if form_field.notice_version and kind != FieldType.TRACKING_CONSENT:
        problems.append(
            Problem(
                "notice_version",
                "Only a tracking-consent box agrees to a notice version; clear it.",
            )
        )
    if kind == FieldType.HIDDEN and form_field.required and not form_field.default:
        problems.append(
            Problem(
                "required",
                "Visitors cannot fill in a hidden field: required with no default, it would "
                "refuse every submission whose page address does not carry it. Give it a "
                "default or untick Required.",
            )
        )
    return problems


def _value_problems(form_field: Field, choices: list[str]) -> list[Problem]:
    """Limits and a default that the field's type cannot honour."""
    kind, problems = form_field.type, []
    low, high = form_field.min_value, form_field.max_value
    if (low is not None or high is not None) and kind != FieldType.NUMBER:
        problems.append(
            Problem("min_value", "Only number fields have a minimum and a maximum; clear them.")
        )
    elif low is not None and high is not None and low > high:
        problems.append(
            Problem("max_value", "The maximum is below the minimum: no number would be accepted.")
        )
    limit = form_field.max_length
    if limit is not None and kind not in _LENGTH_TYPES:
        problems.append(
            Problem(
                "max_length",
                "A maximum length applies to text, email, text-area and hidden fields only; "
                "clear it.",
            )
        )
    elif limit == 0:
        problems.append(Problem("max_length", "At least 1, or leave it empty for no limit."))
    default = form_field.default
    if not default:
        return problems
    if kind in CONSENT_TYPES:
        problems.append(
            Problem(
                "default",
                "A consent box always starts unticked: consent is never given "
                "for the visitor. Clear the default.",
            )
        )
    elif kind in CHOICE_TYPES and choices and default not in choices:
        problems.append(Problem("default", "The default must be one of the options."))
    elif limit and len(default) > limit:
        problems.append(Problem("default", f"The default is longer than the {limit} allowed."))
    elif kind in (FieldType.NUMBER, FieldType.DATE, FieldType.EMAIL):
        # The default is what a visitor sends if they change nothing: it must pass.
        try:
            _one(form_field, default)
        except ValidationError as exc:
            problems.append(Problem("default", f"The default would be refused: {exc.messages[0]}"))
    return problems


def form_settings_problems(*, form: Form) -> list[Problem]:
    """Switches of the form itself that contradict each other."""
    if form.kiosk and form.set_cookie_on_submission:
        return [
            Problem(
                "set_cookie_on_submission",
                "A kiosk form never sets a cookie (the screen is shared): with both on, this "
                "switch would do nothing. Turn off one of them.",
            )
        ]
    return []


def form_problems(*, form: Form, fields: list[Field]) -> list[str]:
    """What is wrong with a form's fields taken together (each field already passes alone)."""
    if not fields and form.published:
        # A draft may wait for its fields; a published form would collect nothing.
        return [
            "A published form needs at least one field: add one, or untick Published to keep "
            "it as a draft."
        ]
    problems = []
    by_target: dict[str, list[str]] = {}
    for form_field in fields:
        target = field_target(form_field)
        if target:
            by_target.setdefault(target, []).append(form_field.label)
    for target, labels in by_target.items():
        if len(labels) > 1:
            problems.append(
                f"{' and '.join(labels)} {'both' if len(labels) == 2 else 'all'} fill the "
                f"contact's {target}; only one is kept. "
                "Map each to its own contact field."
            )
    kinds = [f.type for f in fields]
    for kind in CONSENT_TYPES:
        if kinds.count(kind) > 1:
            problems.append(
                f"Only one {_type_label(kind)} box per form is read; remove the others."
            )
    if FieldType.EMAIL_CONSENT in kinds and "email" not in by_target:
        problems.append(
            "An email-consent box records consent for the address in the form's email field, "
            "and this form has none: the consent would be kept for no one. Add a field of "
            "type Email."
        )
    if form.double_opt_in and FieldType.EMAIL_CONSENT not in kinds:
        problems.append(
            "Double opt-in is on, but no field is an email-consent box: no confirmation would "
            "ever be sent. Add an Email consent field, or turn double opt-in off."
        )
    return problems


def form_warnings(*, fields: list[Field]) -> list[str]:
    """What may be meant but is worth saying when the form is saved."""
    if any(field_target(f) == "email" for f in fields):
        return []
    return [
        "This form has no email field: its submissions are kept, but they create or update "
        "no contact (unless the visitor's browser is already identified) and no email can be "
        "sent to them."
    ]


def origins_problem(*, text: str) -> str | None:
    """Why the allowed-origins box would not match the sites it names, if it would not: a
    browser sends its page's origin (scheme, host and port, nothing else), compared as is."""
    for line in text.split():
        url = url_read(line)
        written = line.rstrip("/").lower()
        if url is None or url.origin != written:
            hint = f" (write {url.origin})" if url is not None else ""
            return (
                f"{line} is not an origin{hint}. Write one site per line as its scheme and "
                "host, with the port only when it is not the usual one, e.g. "
                "https://www.example.com — no path, no trailing dot."
            )
    return None
