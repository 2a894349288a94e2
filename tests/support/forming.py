"""A contact form with every kind of field, made through the ORM as the admin would."""

from __future__ import annotations

from forms.models import Field, Form


def form_make(**overrides) -> Form:
    form = Form.objects.create(**{"name": "Contact us", **overrides})
    specs = [
        ("Email", "email", "email", True, "email"),
        ("First name", "first_name", "text", False, "first_name"),
        ("Message", "message", "textarea", False, ""),
        ("Company size", "size", "select", False, "company_size"),
        ("Topics", "topics", "checkbox_group", False, ""),
        ("Age", "age", "number", False, ""),
        ("Visit date", "visit", "date", False, ""),
        ("Source", "source", "hidden", False, ""),
        (
            "Yes, you may track my visits to improve the site",
            "track",
            "tracking_consent",
            False,
            "",
        ),
        ("Send me the newsletter", "newsletter", "email_consent", False, ""),
    ]
    for order, (label, alias, kind, required, contact_field) in enumerate(specs):
        Field.objects.create(
            form=form,
            label=label,
            alias=alias,
            type=kind,
            required=required,
            order=order,
            contact_field=contact_field,
            options="1-10\n11-50\n51+"
            if alias == "size"
            else ("pricing\nsupport" if alias == "topics" else ""),
            min_value=0 if alias == "age" else None,
            max_value=150 if alias == "age" else None,
            notice_version="2026-09" if kind == "tracking_consent" else "",
        )
    return form


def mautic_form_make(**overrides) -> Form:
    """The form of tests/forms/mautic_snippets.py, as an operator moving from Mautic makes it:
    the aliases of Mautic's builder HTML (email required, first name, comments, topics)."""
    form = Form.objects.create(**{"name": "Contact us", **overrides})
    specs = [
        ("Email", "email", "email", True, "email"),
        ("First name", "first_name", "text", False, "first_name"),
        ("Comments", "comments", "textarea", False, ""),
        ("Topics", "topics", "checkbox_group", False, ""),
    ]
    for order, (label, alias, kind, required, contact_field) in enumerate(specs):
        Field.objects.create(
            form=form,
            label=label,
            alias=alias,
            type=kind,
            required=required,
            order=order,
            contact_field=contact_field,
            options="pricing\nsupport" if alias == "topics" else "",
        )
    return form
