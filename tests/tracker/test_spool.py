"""A web worker's spool: hits gathered in a local file, shipped to the stream in batches, and
nothing lost when a worker dies before shipping (real Redis, real processes, real SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from tests.support.tracking import send, wait_for
from tracker.drain import events_drain
from tracker.models import AnonymousHit
from tracker.spool import Spool, spool_close, spool_recover

ROOT = Path(__file__).resolve().parents[2]

# Writes N pageviews through the WSGI application (Django's whole request cycle), says how
# many were answered, then waits to be killed.
CHILD = """
import io, json, sys, time, uuid
import django
django.setup(set_prefix=False)
from consentry.wsgi import application
answered = 0
for i in range(int(sys.argv[1])):
    body = json.dumps({"type": "pageview", "page_url": "http://127.0.0.1/p/%d" % i,
                       "id": str(uuid.uuid4())}).encode()
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/mtc/event", "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "HTTP_HOST": "127.0.0.1",
               "REMOTE_ADDR": "198.51.100.%d" % (i % 200 + 1), "CONTENT_TYPE": "text/plain",
               "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
               "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
               "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
                                  "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"}
    status = []
    body = application(environ, lambda s, h, e=None: status.append(s))
    b"".join(body); body.close()
    answered += status[0].startswith("200")
print(answered, flush=True)
if sys.argv[2] == "wait":
    time.sleep(600)
"""


def _child(tmp_path: Path, events: int, then: str, batch_ms: int) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "consentry.settings",
        "REDIS_URL": str(settings.REDIS_URL),
        "SECRET_KEY": settings.SECRET_KEY,
        "VAR_DIR": str(tmp_path),
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_URL": "http://127.0.0.1",
        "EVENT_BATCH_MS": str(batch_ms),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'child.sqlite3'}",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(events), then],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _answered(child: subprocess.Popen[str]) -> int:
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line.strip().isdigit(), child.stderr.read() if child.stderr else line
    return int(line)


@pytest.fixture
def spooling(tmp_path: Path):
    """This process batches hits in a spool under tmp_path, shipped every 50 ms."""
    with override_settings(EVENT_BATCH_MS=50, VAR_DIR=tmp_path):
        yield tmp_path / "spool"
        spool_close()


def test_a_hit_reaches_the_stream_within_the_batch_window(db, redis_client, client, spooling):
    assert send(client).status_code == 200
    assert wait_for(lambda: redis_client.xlen(EVENT_STREAM) == 1, timeout=10.0)
    assert events_drain() == 1
    assert AnonymousHit.objects.count() == 1
    assert list(spooling.glob("*.spool")) == []  # shipped files are deleted


def test_a_burst_of_hits_is_shipped_once_each(db, redis_client, client, spooling):
    for _ in range(120):
        assert send(client).status_code == 200
    assert wait_for(lambda: redis_client.xlen(EVENT_STREAM) == 120, timeout=30.0)
    time.sleep(0.3)  # a second shipment of the same file would show up by now
    assert redis_client.xlen(EVENT_STREAM) == 120
    assert events_drain() == 120
    assert AnonymousHit.objects.count() == 120


def test_a_worker_killed_before_shipping_loses_no_answered_hit(db, redis_client, tmp_path):
    # Ten seconds between shipments: the worker holds every hit in its file when it dies.
    child = _child(tmp_path, 40, "wait", batch_ms=10_000)
    try:
        answered = _answered(child)
        assert answered == 40
        assert redis_client.xlen(EVENT_STREAM) == 0
        with override_settings(VAR_DIR=tmp_path):
            assert spool_recover() == 0  # the worker is alive: its file is not an orphan
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            assert spool_recover() == 40
            assert spool_recover() == 0  # and only once
    finally:
        child.kill()
        child.wait(timeout=10)
    assert list((tmp_path / "spool").glob("*")) == []
    assert events_drain() == 40
    assert AnonymousHit.objects.count() == 40


def test_a_worker_that_exits_gracefully_ships_its_spool(db, redis_client, tmp_path):
    child = _child(tmp_path, 25, "exit", batch_ms=10_000)
    assert _answered(child) == 25
    assert child.wait(timeout=30) == 0
    assert redis_client.xlen(EVENT_STREAM) == 25
    assert list((tmp_path / "spool").glob("*")) == []


def test_with_redis_unreachable_the_spool_writes_through_to_the_database(
    transactional_db, tmp_path
):
    # Shipped by the spool's own thread or by close(), whichever comes first: committed either
    # way, so this test's database is emptied afterwards (transactional_db).
    event = {
        "id": "6f1c1a4e-8e63-4c8a-9d43-2a1b0f2d6c11",
        "ts": time.time(),
        "site": "http://testserver",
        "path": "/down",
        "v": "x",
    }
    with override_settings(REDIS_URL="redis://127.0.0.1:9/0"):
        buffer = Spool(interval=60.0, directory=tmp_path)
        buffer.append(json.dumps(event).encode())
        buffer.close()
    assert AnonymousHit.objects.get().path == "/down"
    assert list(tmp_path.glob("*.spool")) == []


def test_a_draft_left_by_a_worker_that_died_while_creating_its_file_is_cleared(tmp_path):
    old, fresh = tmp_path / "host-1-aaaa.new", tmp_path / "host-2-bbbb.new"
    old.touch()
    fresh.touch()
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert spool_recover(directory=tmp_path) == 0
    assert not old.exists()
    assert fresh.exists()  # perhaps a live worker's, about to be named
