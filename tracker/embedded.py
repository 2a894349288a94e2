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


# How often the webhook thread looks for deliveries that are due (retries, and any an
# emission's wake-up missed); an emission wakes it at once.
WEBHOOK_INTERVAL = 5.0


def _webhooks_loop(stop: threading.Event) -> None:
    from webhooks.services import deliveries_due_run, wake, webhooks_log_purge

    rounds = 0
    while not stop.is_set():
        wake.wait(WEBHOOK_INTERVAL)
        wake.clear()
        try:
            deliveries_due_run()
            rounds += 1
            if rounds % 720 == 0:  # about hourly
                webhooks_log_purge()
        except Exception:
            logger.exception("webhook deliveries failed; retrying next round")
        finally:
            close_old_connections()


def scheduler_start() -> threading.Event | None:
    if settings.REDIS_URL:
        return None
    stop = threading.Event()
    threading.Thread(target=_loop, args=(stop,), name="consentry-periodic", daemon=True).start()
    # Deliveries are claimed with a lease, so each web worker's thread may run this safely.
    threading.Thread(
        target=_webhooks_loop, args=(stop,), name="consentry-webhooks", daemon=True
    ).start()
    return stop
