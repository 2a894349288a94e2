"""CSV export of submissions that a spreadsheet cannot turn into a formula."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from forms.models import Submission

# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell_safe(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value) if value is not None else ""
    if isinstance(value, list):
        text = ", ".join(str(v) for v in value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def submissions_csv(*, submissions: Iterable[Submission]) -> str:
    rows = list(submissions)
    aliases: list[str] = []
    for submission in rows:
        for alias in submission.data:
            if alias not in aliases:
                aliases.append(alias)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "form", "submitted_at", "contact_email", *aliases])
    for s in rows:
        writer.writerow(
            [
                s.pk,
                cell_safe(s.form.name),
                s.created_at.isoformat(),
                cell_safe(s.contact.email if s.contact else ""),
                *(cell_safe(s.data.get(alias, "")) for alias in aliases),
            ]
        )
    return out.getvalue()
