"""Cookie values a browser can carry, made the way the gate makes them (or forged)."""

from __future__ import annotations

import time

from django.core import signing

from consent import registry
from consent.cookies import device_cookie_value


def consent_cookie(
    choice: str,
    *,
    issued_at: int | None = None,
    key: str = "k" * 32,
    salt: str = registry.CONSENT.salt,
) -> str:
    now = int(time.time())
    issued = now if issued_at is None else issued_at
    return signing.dumps({"s": choice, "v": "1", "t": issued, "i": issued, "k": key}, salt=salt)


def device_cookie(device_id: str = "dev-1", *, issued_at: int | None = None) -> str:
    return device_cookie_value(device_id, int(time.time()) if issued_at is None else issued_at)


FORGED_CONSENT = [
    # Unsigned.
    "g",
    # Signed with another cookie's salt (a value lifted from elsewhere).
    consent_cookie("g", salt=registry.DEVICE.salt),
    # A signed granted value with its payload edited.
    consent_cookie("r").replace(
        consent_cookie("r").split(":")[0], consent_cookie("g").split(":")[0]
    ),
]
