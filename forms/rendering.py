"""What the form template (forms/templates/forms/form.html) is given for each field: shared by
the public embeds and the builder's preview, which shows fields not yet saved."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from forms.models import Field

_INPUT_TYPES = {"email": "email", "number": "number", "date": "date"}


def form_fields_context(
    *, fields: Iterable[Field], values: dict[str, Any], errors: dict[str, str]
) -> list[dict[str, Any]]:
    out = []
    for f in fields:
        value = values.get(f.alias, f.default)
        out.append(
            {
                "alias": f.alias,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "choices": f.choices(),
                "input_type": _INPUT_TYPES.get(f.type, "text"),
                "value": value if isinstance(value, str) else "",
                "selected": value if isinstance(value, list) else [value],
                "checked": value in ("1", "on"),
                "error": errors.get(f.alias, ""),
            }
        )
    return out
