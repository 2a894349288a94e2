"""The WordPress plugin's pixel: `/mtracking.gif?d=<base64 of a PHP-serialized array>`.

WP Mautic (mautic/mautic-wordpress, includes/classes/Frontend/Enqueue.php) builds `d` from
the page: `page_url`, `page_title`, `language`, `referrer`, plus, when the site owner tracks
logged-in users, `email`, `firstname`, `lastname` and `wp_*` fields, plus whatever the
`wpmautic_tracking_attributes` filter adds. As in Mautic, `d` replaces the rest of the query.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import quote

from consentry.text import TextRefused, data_check
from tracker.inputs import MAX_FIELDS, MAX_VALUE, BadInput
from tracker.phpserial import MAX_INPUT, PhpSerialRefused, php_unserialize

# The plugin names two fields unlike the script; Mautic's own server ignores them, but they
# mean what the script's names mean, so the hit keeps them.
_ALIASES = {"referrer": "page_referrer", "language": "page_language"}


def wordpress_pixel_read(*, d: str) -> dict[str, str]:
    """The pixel's fields from `d`, as the script would have named them; BadInput (400)
    naming the problem, and the field, when `d` is not what the plugin sends."""
    # PHP's rawurlencode keeps '+' as %2B; a '+' left bare by a page is a space by now.
    encoded = d.replace(" ", "+").encode("ascii", "replace")
    if len(encoded) > MAX_INPUT * 4 // 3 + 4:
        raise BadInput(400, "invalid_d", f"d: longer than {MAX_INPUT} bytes once decoded")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput(400, "invalid_d", "d: not base64") from None
    try:
        array = php_unserialize(raw)
    except PhpSerialRefused as exc:
        raise BadInput(400, "invalid_d", f"d: {exc}") from None
    try:
        # Decoded text meets the same edge as text sent in the clear.
        data_check(array, field="d")
    except TextRefused as exc:
        # The field's name is the page's own text: quoted, it is safe in a header.
        field = quote(exc.field, safe="._-[]")
        raise BadInput(400, "invalid_text", f"{field}: a character that is not allowed") from None
    fields: dict[str, str] = {}
    for key, value in array.items():
        # Nested arrays (a plugin filter's own data) and nulls carry nothing a hit records.
        if isinstance(value, str | int) and not isinstance(value, bool):
            fields[str(key)[:64]] = str(value)[:MAX_VALUE]
    if len(fields) > MAX_FIELDS:
        raise BadInput(400, "too_many_fields", f"d: at most {MAX_FIELDS} fields")
    for alias, name in _ALIASES.items():
        if alias in fields and name not in fields:
            fields[name] = fields.pop(alias)
    return fields
