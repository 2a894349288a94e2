"""The production line (scripts/serve: granian's WSGI mode) keeps the spool's promise: a hit
that was answered is stored, once, even when every process of the server is SIGKILLed before
shipping it; a graceful stop ships it on the way out; a worker that dies is started again;
the access log names no one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from consentry.streams import SINGLE_STREAM
from tests.support.tracking import CHROME, wait_for
from tracker.drain import events_drain
from tracker.models import AnonymousHit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SITE = "http://shop.example"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, var_dir: Path) -> None:
        self.port = _free_port()
        self.log = var_dir / "serve.log"
        db = settings.DATABASES["default"]
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "REDIS_URL": str(settings.REDIS_URL),
            "SECRET_KEY": settings.SECRET_KEY,
            "VAR_DIR": str(var_dir),
            "ALLOWED_HOSTS": "127.0.0.1",
            "TRACKED_SITES": SITE,
            "COOKIE_SECURE": "false",
            # Nothing is shipped in the test's time: every answered hit waits in a spool file.
            "EVENT_BATCH_MS": "10000",
            "PORT": str(self.port),
            "WEB_WORKERS": "2",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(ROOT / "scripts" / "serve")],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        assert wait_for(lambda: self.get("/healthz") == 200, timeout=30), self.log.read_text()

    def get(self, path: str) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"User-Agent": CHROME}
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return int(response.status)
        except OSError:
            return 0

    def workers(self) -> set[int]:
        assert self.process is not None
        found = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return {int(pid) for pid in found.stdout.split()}

    def stop(self) -> None:
        """A graceful stop, as a deploy or systemd does it."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)

    def kill_all(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def server(tmp_path: Path, redis_client: object) -> Iterator[Server]:
    serving = Server(tmp_path)
    yield serving
    if serving.process is not None and serving.process.poll() is None:
        serving.kill_all()


def _pixel(server: Server, n: int) -> int:
    return server.get(f"/mtracking.gif?page_url={SITE}/p/{n}")


def test_every_answered_hit_is_stored_once_after_the_whole_server_is_killed(server, redis_client):
    server.start()
    answered = sum(_pixel(server, n) == 200 for n in range(60))
    assert answered == 60
    assert redis_client.xlen(SINGLE_STREAM) == 0  # all still in the spool files
    server.kill_all()
    assert len(list((Path(server.env["VAR_DIR"]) / "spool").glob("*.spool"))) >= 1
    # The next server's workers ship what the dead ones left, once each has taken a hit.
    server.start()
    for n in range(60, 64):
        assert _pixel(server, n) == 200
    assert wait_for(lambda: redis_client.xlen(SINGLE_STREAM) >= 60, timeout=20)
    # The last four hits wait in the new workers' own files (the next start would ship them).
    server.kill_all()
    time.sleep(0.5)
    events_drain()
    paths = set(AnonymousHit.objects.values_list("path", flat=True))
    assert {f"/p/{n}" for n in range(60)} <= paths
    assert AnonymousHit.objects.count() == len(paths)  # none twice


def test_a_graceful_stop_ships_every_worker_s_spool_on_the_way_out(server, redis_client):
    server.start()
    assert all(_pixel(server, n) == 200 for n in range(30))
    assert redis_client.xlen(SINGLE_STREAM) == 0
    server.stop()
    assert redis_client.xlen(SINGLE_STREAM) == 30
    assert list((Path(server.env["VAR_DIR"]) / "spool").glob("*.spool")) == []


def test_a_killed_worker_is_started_again_and_the_access_log_names_no_one(server):
    server.start()
    before = server.workers()
    assert len(before) == 2
    os.kill(min(before), signal.SIGKILL)
    assert wait_for(lambda: len(server.workers()) == 2 and server.workers() != before, timeout=20)
    assert all(_pixel(server, n) == 200 for n in range(10))

    def access() -> list[str]:
        return [line for line in server.log.read_text().splitlines() if '"GET /' in line]

    # The log is written a moment after the answer.
    assert wait_for(lambda: sum('"GET /mtracking.gif" 200' in x for x in access()) == 10, 5)
    for secret in ("shop.example", "127.0.0.1", "Chrome", "page_url"):
        assert not any(secret in line for line in access()), secret
