"""Shared fixtures. Tests that need a real service say so with a marker; without the
service they are skipped with a loud reason, and under CI=true they fail instead."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = Path("/usr/bin/chromium")


def pytest_configure(config: pytest.Config) -> None:
    # Real password hashing is not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests render templates without running collectstatic first.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    # A hit goes straight to the stream, so that a test can look for it there at once; the
    # spool that batches them in production has its own tests (test_spool.py), and the fault
    # tests and the benchmark run servers with it on.
    settings.EVENT_BATCH_MS = 0
    # Most tests write inside a transaction that never commits, where PostgreSQL tells no
    # listener anything: the gate asks the database, as without the view. The view has its own
    # tests (contacts/test_dnc_view.py), on committed rows; the fault tests and the benchmark
    # run servers with it on.
    settings.DNC_LISTEN = False


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(f"!!! SKIPPED: {reason}")


@pytest.fixture(autouse=True)
def _require_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _missing("this test needs PostgreSQL (set DATABASE_URL=postgres://…)")
    if request.node.get_closest_marker("browser") and not CHROMIUM.exists():
        _missing("this test needs Chromium at /usr/bin/chromium (apt-get install chromium)")


@pytest.fixture
def redis_client(request: pytest.FixtureRequest) -> Iterator[object]:
    """The real Redis the settings point at, emptied before and after the test."""
    from consentry.redis import get_redis

    client = get_redis()
    if client is None:
        _missing("this test needs Redis (set REDIS_URL=redis://…)")
        raise AssertionError  # unreachable: _missing raises
    try:
        client.ping()
    except Exception as exc:
        _missing(f"Redis at {settings.REDIS_URL} does not answer: {exc}")
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Rate-limit counters and other cached values never leak from one test to the next."""
    from django.core.cache import cache

    from consentry.sites import sites_forget
    from focus.selectors import focus_frequencies_forget
    from forms.selectors import forms_forget
    from webhooks.services import endpoints_forget

    cache.clear()
    focus_frequencies_forget()
    forms_forget()
    sites_forget()
    endpoints_forget()
    yield
    cache.clear()


def celery_worker_start(
    schedule: Path, *, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real Celery worker with beat (so it drains every second), on the test database and
    the test Redis, with `env` added to its environment (its settings come from there). The
    test database must hold committed rows: use transactional_db."""
    db = settings.DATABASES["default"]
    environ = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL or "",
        "SECRET_KEY": settings.SECRET_KEY,
        **(env or {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "consentry",
            "worker",
            "--beat",
            "--pool",
            "solo",
            "--loglevel",
            "warning",
            "--schedule",
            str(schedule),
        ],
        cwd=Path(__file__).resolve().parent.parent,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def celery_worker_stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def worker(transactional_db, redis_client, tmp_path):
    """A real Celery worker with beat, on the test database and the test Redis."""
    process = celery_worker_start(tmp_path / "beat-schedule")
    yield process
    celery_worker_stop(process)
