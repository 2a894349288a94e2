from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.receiver import Receiver, receiver_serve


@pytest.fixture
def receiver(settings: Any) -> Iterator[Receiver]:
    """A real receiver on loopback, which endpoints may reach here (loopback is allowed as an
    operator would allow their own network); quick timeouts and retries for tests."""
    settings.WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    settings.WEBHOOK_RETRY_FIRST_SECONDS = 1
    yield from receiver_serve()
