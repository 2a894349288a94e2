"""Mautic's way of posting a form, read into ours.

Mautic's builder hands out HTML whose inputs are named `mauticform[<alias>]` (and
`mauticform[<alias>][]` for several values), with `mauticform[formId]`, `mauticform[return]`
(the page the visitor was on), `mauticform[formName]` (the form's name in the page, echoed
back so the page's script finds the form) and `mauticform[messenger]` (answer through the
page's hidden iframe: see forms/templates/forms/messenger.html). Sites keep that HTML
unchanged; here it becomes the plain field names the rest of the forms app reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import QueryDict

PREFIX = "mauticform["
_NAME = re.compile(r"mauticform\[([A-Za-z0-9_]{1,64})\](\[\])?")
# Mautic's own keys, not fields of the form. `submit` is the alias of the builder's button.
_OWN = frozenset({"formId", "return", "formName", "messenger", "submit"})
# A form's name as Mautic writes it (letters and digits); a little wider, never markup.
_FORM_NAME = re.compile(r"[A-Za-z0-9_\-]{1,100}")


@dataclass(frozen=True, slots=True)
class MauticPost:
    """A submission named the Mautic way (`mautic` false: named ours, passed through)."""

    mautic: bool
    values: QueryDict
    form_id: str = ""
    return_url: str = ""
    form_name: str = ""
    messenger: bool = False


def mautic_post_read(*, data: QueryDict) -> MauticPost:
    """`data` with Mautic's names turned into the form's aliases. Without any `mauticform[`
    key the submission is ours and comes back as it is."""
    if not any(key.startswith(PREFIX) for key in data):
        return MauticPost(mautic=False, values=data)
    values = QueryDict(mutable=True)
    own: dict[str, str] = {}
    for key in data:
        match = _NAME.fullmatch(key)
        if match is None:
            # Anything else the page added (its own inputs, nested names) is not the form's,
            # as a key no field of ours names is ignored.
            continue
        name = match.group(1)
        if name in _OWN:
            own[name] = data.get(key) or ""
        else:
            values.setlist(name, [*values.getlist(name), *data.getlist(key)])
    form_name = own.get("formName", "")
    return MauticPost(
        mautic=True,
        values=values,
        form_id=own.get("formId", "").strip(),
        return_url=own.get("return", ""),
        form_name=form_name if _FORM_NAME.fullmatch(form_name) else "",
        messenger=own.get("messenger", "") not in ("", "0", "false"),
    )
