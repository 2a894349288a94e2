"""gunicorn settings for `make run` (the embedded default)."""

from typing import Any


def post_worker_init(worker: Any) -> None:
    from tracker.embedded import scheduler_start

    scheduler_start()
