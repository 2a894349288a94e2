"""Helpers for the tracking tests: send what the script sends, through Django's real request
cycle, and read back what the gate wrote."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SITE = "http://testserver"


def send(client, payload=None, *, headers=None, REMOTE_ADDR="127.0.0.1", **fields):
    body = {
        "type": "pageview",
        "id": str(uuid.uuid4()),
        "page_url": f"{SITE}/pricing",
        "page_title": "Pricing",
        **(payload or {}),
        **fields,
    }
    return client.post(
        "/mtc/event",
        data=json.dumps(body),
        content_type="text/plain;charset=UTF-8",
        headers={"User-Agent": CHROME, **(headers or {})},
        REMOTE_ADDR=REMOTE_ADDR,
    )


def consent(client, action, **headers):
    return send(client, {"type": "consent", "consent": action}, headers=headers)


def live(response):
    """Cookies the response writes (not the ones it expires)."""
    return {m.key: m.value for m in response.cookies.values() if m["max-age"] != 0}


def expired(response):
    return {m.key for m in response.cookies.values() if m["max-age"] == 0}


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, step: float = 0.2) -> bool:
    """Whether the predicate came true within the timeout (a worker drains in the background)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
