from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consentry.settings")

app = Celery("consentry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_tidy(task: Any = None, **_kwargs: Any) -> None:
    # Workers keep their database connection across tasks (CELERY_DB_REUSE_MAX): as Django
    # does around each request, drop it when it broke (PostgreSQL restarted) or grew too old.
    # A task run eagerly runs inside its caller's request or transaction: leave that alone.
    if task is not None and task.request.is_eager:
        return
    from django.db import close_old_connections

    close_old_connections()
