"""The command's default run: a Consentry of its own, never the operator's.

The command re-runs itself in a child process whose environment points `DATABASE_URL` at a
fresh SQLite file in a temporary directory (also its VAR_DIR: media, static) and has no
`REDIS_URL`, so nothing the operator runs is read or written. The child migrates that
database, starts Django's LiveServerThread in its own process (so `override_settings` switches
the tracking mode of the very server the browser talks to), runs the audit, writes the report
and exits with the audit's status; the parent then deletes the directory.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from audit.report import AuditResult
from audit.rules import Mode

# Marks the child and names its database: the child refuses to run on any other.
CHILD_DATABASE = "CONSENTRY_COOKIE_AUDIT_DATABASE"
# Settings the child must not inherit from the operator's environment (consentry/settings.py):
# the audit's rules assume the default settings, and its data must stay in the temporary
# directory. In-process, the audit pins the switches again (InProcessTarget.run).
OPERATOR_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "VAR_DIR",
    "PUBLIC_URL",
    "ALLOWED_HOSTS",
    "TRACKING_MODE",
    "DNC_REVOKES_TRACKING",
    "HONOR_GPC",
    "HONOR_DNT",
    "COOKIE_DOMAIN",
    "COOKIE_SECURE",
    "COOKIE_SAMESITE",
    "TRUSTED_PROXIES",
    "TRACKED_SITES",
    "EMAIL_URL",
    "UNSUBSCRIBE_MAILTO",
    "BOUNCE_WEBHOOK_SECRET",
    "FOCUS_FREQUENCY_COOKIE",
    "FORM_SUBMIT_LIMIT",
    "EVENT_RATE_LIMIT",
    "CONSENT_NOTICE_VERSION",
    "LOG_LEVEL",
)


def child_environment(directory: Path) -> dict[str, str]:
    database = directory / "audit.sqlite3"
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in OPERATOR_SETTINGS and name.removesuffix("_FILE") not in OPERATOR_SETTINGS
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{database}",
            "VAR_DIR": str(directory),
            "ALLOWED_HOSTS": "localhost,127.0.0.1",
            "COOKIE_SECURE": "false",  # plain HTTP on localhost
            "EMAIL_URL": "console://",
            "LOG_LEVEL": "error",
            CHILD_DATABASE: str(database),
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "consentry.settings"
            ),
        }
    )
    return env


def spawn(arguments: Sequence[str], *, base_dir: Path) -> int:
    """Run `cookie_audit --child <arguments>` on a throwaway database; its exit status."""
    with tempfile.TemporaryDirectory(prefix="consentry-cookie-audit-") as name:
        directory = Path(name)
        (directory / "static").mkdir()  # STATIC_ROOT, so that WhiteNoise finds a directory
        command = [sys.executable, "-m", "django", "cookie_audit", "--child", *arguments]
        completed = subprocess.run(  # noqa: S603 (our own interpreter and command)
            command, env=child_environment(directory), cwd=base_dir, check=False
        )
        return completed.returncode


def run_child(
    *,
    modes: Sequence[Mode] | None,
    chromium: Path,
    progress: Callable[[str], None],
) -> AuditResult:
    """In the child: migrate the throwaway database, serve it, audit it."""
    from django.conf import settings
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.management import call_command
    from django.test import override_settings
    from django.test.testcases import LiveServerThread

    from audit.run import run_audit
    from audit.targets import InProcessTarget

    expected = os.environ.get(CHILD_DATABASE)
    actual = str(settings.DATABASES["default"]["NAME"])
    if not expected or actual != expected:
        raise RuntimeError(
            "--child is internal: it runs only on the temporary database its parent made"
        )
    call_command("migrate", interactive=False, verbosity=0)
    # Chromium asks for /favicon.ico; a 404 logged for each would drown the report's summary.
    logging.getLogger("django.request").setLevel(logging.ERROR)
    # Static files straight from the apps (no collectstatic, no manifest to build first).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        server = LiveServerThread("localhost", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        if server.error is not None:
            raise server.error
        try:
            target = InProcessTarget(f"http://localhost:{server.port}")
            return run_audit(target, modes=modes, chromium=chromium, progress=progress)
        finally:
            server.terminate()
