"""Import contacts, their consent evidence and Do-Not-Contact entries from a CSV file."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from contacts.imports import TARGETS, ImportRefused, contacts_import, mapping_parse


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (Mautic's contact export reads as it is). Consent "
        "evidence columns become consent records marked as imported from the file; "
        "Do-Not-Contact columns add entries. Importing the same file again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file, UTF-8, with a header row")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=TARGET",
            help=f"map a column: TARGET is one of {', '.join(TARGETS)} or field:<alias>",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="report what would change, write nothing"
        )
        parser.add_argument("--quiet-progress", action="store_true", help="no progress line")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        show = not options["quiet_progress"]

        def progress(done: int, total: int) -> None:
            if show:
                percent = 100 * done // total if total else 100
                self.stderr.write(f"\r{done}/{total} contacts ({percent}%)", ending="")
                sys.stderr.flush()

        try:
            report = contacts_import(
                data=data,
                file_name=path.name,
                mapping=mapping_parse(lines=options["map"]),
                dry_run=options["dry_run"],
                progress=progress,
            )
        except ImportRefused as exc:
            raise CommandError(f"{path.name}: {exc}") from None
        if show:
            self.stderr.write("")
        for error in report.errors:
            self.stdout.write(f"refused: {error}")
        prefix = "dry run, nothing written: " if report.dry_run else ""
        self.stdout.write(prefix + report.summary())
