from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Each process keeps the active endpoints (webhooks.services._subscribers): any save
        # or delete, from a service, the admin or the API, makes every process read them again.
        from django.db.models.signals import post_delete, post_save

        from webhooks.models import Endpoint

        post_save.connect(_changed, sender=Endpoint, dispatch_uid="webhooks.endpoint.saved")
        post_delete.connect(_changed, sender=Endpoint, dispatch_uid="webhooks.endpoint.deleted")


def _changed(**kwargs: Any) -> None:
    from webhooks.services import endpoints_changed

    endpoints_changed()
