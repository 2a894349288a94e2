"""The embedded default's scheduler: without Redis there is no Celery beat, so each web worker
runs the periodic jobs in a daemon thread. Both jobs are idempotent, so two workers running
them at once do no harm."""

from __future__ import annotations

import logging
import random
import threading

from django.conf import settings
from django.db import close_old_connections

from tracker.retention import retention_run
from tracker.rollups import rollup_recent

logger = logging.getLogger("tracker.embedded")
INTERVAL = 300.0


def _loop(stop: threading.Event) -> None:
    while not stop.wait(INTERVAL + random.uniform(0, 30)):
        try:
            rollup_recent()
            retention_run()
        except Exception:
            logger.exception("periodic rollup or retention failed; retrying next round")
        finally:
            close_old_connections()


def scheduler_start() -> threading.Event | None:
    if settings.REDIS_URL:
        return None
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="consentry-periodic", daemon=True).start()
    return stop
