from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tracker.retention import retention_run


class Command(BaseCommand):
    help = (
        "Roll up, then purge anonymous staging rows and salts older than 48 h, "
        "and identified hits older than RETENTION_DAYS."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in retention_run().items():
            self.stdout.write(f"{name}: {count}")
