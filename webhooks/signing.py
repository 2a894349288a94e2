"""Signatures as the Standard Webhooks specification defines them (standardwebhooks.com):
HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}`, keyed with the base64 part of a
`whsec_` secret, sent as `webhook-signature: v1,<base64>`. docs/webhooks.md shows a receiver
checking it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
# 32 random bytes: the specification asks for 24 to 64.
SECRET_BYTES = 32


def secret_new() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_problem(secret: str) -> str | None:
    """Why a secret an operator gives cannot sign, if it cannot."""
    if not secret.startswith(PREFIX):
        return "A secret starts with whsec_, followed by base64 (leave it empty to get one)."
    try:
        key = base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError:
        return "The part after whsec_ must be base64."
    if not 24 <= len(key) <= 64:
        return "The secret must hold 24 to 64 bytes (32 to 88 base64 characters)."
    return None


def signature(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()
