"""A real SMTP server on loopback (aiosmtpd) that keeps every message it receives, and the
settings that send the product's mail to it. Tasks run eagerly, as a worker would run them."""

from __future__ import annotations

import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from consentry.celery import app as celery_app


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, timeout: float = 10.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while not self.to(address):
            if time.monotonic() > deadline:
                raise AssertionError(f"no message to {address} after {timeout}s")
            time.sleep(0.05)
        return self.to(address)[-1]


def body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None, f"no {kind} part"
    content: str = part.get_content()
    return content


def link(message: EmailMessage, path: str) -> str:
    """The one URL under `path` in the message's plain-text part."""
    found: set[str] = set(
        re.findall(rf"https?://\S+?{re.escape(path)}[^\s<>\"()]+", body(message, "plain"))
    )
    assert len(found) == 1, f"expected one {path} link, found {found}"
    return found.pop()


@pytest.fixture
def inbox(settings: Any) -> Iterator[Inbox]:
    """Mail goes to a real SMTP server on loopback; tasks run at once, as a worker would."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        yield handler
    finally:
        celery_app.conf.task_always_eager = eager
        controller.stop()
