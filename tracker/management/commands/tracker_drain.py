from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tracker.drain import backlog, events_drain
from tracker.rollups import rollup_recent


class Command(BaseCommand):
    help = "Drain the event stream into the database until it is empty, then roll up."

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        while written := events_drain():
            total += written
        rollup_recent()
        self.stdout.write(f"written: {total}, backlog: {backlog()}")
