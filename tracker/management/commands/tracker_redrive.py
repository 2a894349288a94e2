from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tracker.models import DeadLetter
from tracker.store import deadletters_redrive


class Command(BaseCommand):
    help = (
        "Store dead letters again once their cause is fixed: every one, or those named by --id. "
        "A stored one is removed; one that fails again stays with its new error."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--id", type=int, action="append", dest="ids", metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        result = deadletters_redrive(ids=options["ids"])
        left = DeadLetter.objects.count()
        self.stdout.write(f"stored: {result.stored}, failed: {result.failed}, left: {left}")
        if result.failed:
            raise SystemExit(1)
