"""docs/webhooks.md's verification snippets, run as written against a real delivery: a
receiver that copies them accepts what Consentry signs and refuses a forged body."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contacts.services import contact_upsert
from tests.support.receiver import Received, Receiver, receiver_serve
from webhooks.services import deliveries_due_run, endpoint_create

pytestmark = pytest.mark.django_db

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def snippet(language: str) -> str:
    (code,) = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), re.S)
    return str(code)


@pytest.fixture
def delivered(settings: Any) -> Iterator[tuple[str, Received]]:
    settings.WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    receiver: Receiver
    for receiver in receiver_serve():
        endpoint = endpoint_create(url=receiver.url, events=["contact.created"])
        contact_upsert(email="ada@example.com")
        deliveries_due_run()
        (request,) = receiver.requests
        yield endpoint.secret, request


def test_the_python_snippet_accepts_a_delivery_and_refuses_a_forgery(delivered):
    secret, request = delivered
    scope: dict[str, Any] = {}
    exec(snippet("python"), scope)  # noqa: S102 (the documentation's own code)
    verify: Callable[..., None] = scope["verify"]
    verify(secret, request.headers, request.body)
    with pytest.raises(ValueError, match="no valid signature"):
        verify(secret, request.headers, request.body.replace(b"ada@", b"eve@"))
    old = {
        **request.headers,
        "webhook-timestamp": str(int(request.headers["webhook-timestamp"]) - 3600),
    }
    with pytest.raises(ValueError, match="too old"):
        verify(secret, old, request.body)


def test_the_javascript_snippet_accepts_a_delivery_and_refuses_a_forgery(delivered, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the JavaScript snippet cannot run")
    secret, request = delivered
    script = tmp_path / "verify.js"
    script.write_text(
        snippet("js")
        + """
const input = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
try {
  verify(input.secret, input.headers, Buffer.from(input.body, "utf8"));
  console.log("valid");
} catch (error) {
  console.log(error.message);
}
"""
    )

    def run(body: bytes) -> str:
        given = {"secret": secret, "headers": request.headers, "body": body.decode()}
        done = subprocess.run(
            [node, str(script)], input=json.dumps(given), capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert run(request.body) == "valid"
    assert run(request.body.replace(b"ada@", b"eve@")) == "no valid signature"
