"""The contact editor's form: the contact's own columns, its custom fields as labelled inputs
(one per field, typed as the form that collects it types it), a pair of inputs to add a field,
and the duplicate-email error as a sentence that links to the contact holding the address."""

from __future__ import annotations

import decimal
import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.urls import reverse
from django.utils.html import format_html

from contacts.imports import MAX_FIELD_LENGTH
from contacts.models import DUPLICATE_EMAIL, Contact
from contacts.selectors import CORE_FIELDS, CustomField, contact_get_by_email
from forms.models import FieldType

PREFIX = "custom__"
NEW_NAME, NEW_VALUE = "new_field_name", "new_field_value"
_ALIAS = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_BLANK_HELP = "Leave blank to remove the value."


def _shown(value: Any) -> Any:
    """A stored value as its input shows it: text as is, anything else the API stored (a
    number, a list, an object) as JSON."""
    if value is None or isinstance(value, str):
        return value or ""
    return json.dumps(value, ensure_ascii=False)


def custom_formfield(field: CustomField, value: Any) -> forms.Field:
    """One input for a custom field, with the current value among its choices even when no
    form offers it any longer (an imported value is never silently lost)."""
    # The admin shows help texts as HTML, and a name may come from an import or the API.
    help_text = format_html("Custom field “{}”. {}", field.alias, _BLANK_HELP)
    common: dict[str, Any] = {"label": field.label, "required": False, "help_text": help_text}
    if field.type in (FieldType.SELECT, FieldType.RADIO):
        options = [*field.choices, *([value] if isinstance(value, str) and value else [])]
        return forms.ChoiceField(
            choices=[("", "—"), *((o, o) for o in dict.fromkeys(options))], **common
        )
    if field.type == FieldType.CHECKBOX_GROUP:
        held = [str(v) for v in value] if isinstance(value, list) else []
        options = list(dict.fromkeys([*field.choices, *held]))
        return forms.MultipleChoiceField(
            choices=[(o, o) for o in options], widget=forms.CheckboxSelectMultiple, **common
        )
    if field.type == FieldType.EMAIL:
        return forms.EmailField(max_length=254, **common)
    if field.type == FieldType.NUMBER:
        return forms.DecimalField(**common)
    if field.type == FieldType.DATE:
        return forms.DateField(
            widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            input_formats=["%Y-%m-%d"],
            **common,
        )
    widget = (
        forms.Textarea(attrs={"rows": 3}) if field.type == FieldType.TEXTAREA else forms.TextInput
    )
    return forms.CharField(max_length=MAX_FIELD_LENGTH, widget=widget, **common)


def _stored(value: Any) -> Any:
    """A cleaned input as the contact keeps it: what forms store (text, a list for a
    checkbox group); None to remove the value."""
    if value in (None, "", []):
        return None
    if isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


class ContactAdminForm(forms.ModelForm):  # type: ignore[type-arg]
    """Built per contact by ContactAdmin.get_form: `custom` lists the fields it edits."""

    custom: tuple[CustomField, ...] = ()

    new_field_name = forms.CharField(
        required=False,
        max_length=64,
        label="New field",
        help_text="To add a custom field no form collects: its name, in lower-case letters, "
        "digits and _ (e.g. company_size).",
    )
    new_field_value = forms.CharField(
        required=False,
        max_length=MAX_FIELD_LENGTH,
        label="Its value",
        help_text="The new field's value for this contact.",
    )

    class Meta:
        model = Contact
        fields = ["email", "first_name", "last_name"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        held = self.instance.fields or {}
        for field in self.custom:
            name, value = PREFIX + field.alias, held.get(field.alias)
            if isinstance(self.fields[name], forms.MultipleChoiceField):
                shown = [str(v) for v in value] if isinstance(value, list) else []
            else:
                shown = _shown(value)
            self.initial.setdefault(name, shown)

    def clean_email(self) -> str:
        email = str(self.cleaned_data["email"]).strip()
        other = contact_get_by_email(email=email)
        if other is not None and other.pk != self.instance.pk:
            url = reverse("admin:contacts_contact_change", args=[other.pk])
            raise ValidationError(
                format_html('{} <a href="{}">Open that contact</a>.', DUPLICATE_EMAIL, url),
                code="unique",
            )
        return email

    def clean_new_field_name(self) -> str:
        name = str(self.cleaned_data["new_field_name"]).strip()
        if not name:
            return ""
        if not _ALIAS.match(name):
            raise ValidationError(
                "A field name is lower-case letters, digits and _, starting with a letter "
                "(e.g. company_size)."
            )
        if name in CORE_FIELDS:
            raise ValidationError(f"{name} is one of the contact's own fields above.")
        if any(field.alias == name for field in self.custom):
            raise ValidationError(f"The contact already has a field {name}: change it above.")
        return name

    def _untouched(self, name: str) -> bool:
        """Is the input as the page showed it? Compared as submitted text, so that a value
        the input would reshape (an integer the API stored, read back as text) is left alone."""
        shown = self.initial.get(name)
        key = self.add_prefix(name)
        if isinstance(self.fields[name], forms.MultipleChoiceField):
            data = self.data
            ticked = data.getlist(key) if isinstance(data, QueryDict) else data.get(key, [])
            return sorted(ticked) == sorted(shown or [])
        return str(self.data.get(key, "")) == str(shown or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        held = dict(self.instance.fields or {})
        for field in self.custom:
            name = PREFIX + field.alias
            if name in self.errors or self._untouched(name):
                continue  # whatever the API stored (a number, a list) stays exactly as it was
            value = _stored(cleaned.get(name))
            if value is None:
                held.pop(field.alias, None)
            else:
                held[field.alias] = value
        new_name, new_value = cleaned.get(NEW_NAME), cleaned.get(NEW_VALUE, "").strip()
        if new_name and not new_value:
            self.add_error(NEW_VALUE, "Give the new field a value, or leave its name blank.")
        elif new_value and not new_name and NEW_NAME not in self.errors:
            self.add_error(NEW_NAME, "Name the new field, or leave its value blank.")
        elif new_name:
            held[new_name] = new_value
        self.instance.fields = held
        return cleaned


def contact_form_for(custom: list[CustomField], held: dict[str, Any]) -> type[ContactAdminForm]:
    """ContactAdminForm with one declared input for each custom field (the admin lays out
    only declared fields)."""
    attrs: dict[str, Any] = {
        PREFIX + field.alias: custom_formfield(field, held.get(field.alias)) for field in custom
    }
    attrs["custom"] = tuple(custom)
    return type("ContactAdminForm", (ContactAdminForm,), attrs)
