from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from emails.machines import (
    ranges_dir,
    ranges_read_apple,
    ranges_read_google,
    ranges_snapshot_apple,
    ranges_snapshot_google,
)


class Command(BaseCommand):
    help = (
        "Replace the snapshots of the mail proxies' address ranges with files you downloaded: "
        "Apple's egress-ip-ranges.csv (--apple) and Google's user-triggered-fetchers-google.json "
        "(--google). Nothing is downloaded. Restart the web workers afterwards."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--apple", type=Path, help="Apple's egress-ip-ranges.csv")
        parser.add_argument("--google", type=Path, help="Google's IP range JSON file")

    def handle(self, *args: Any, **options: Any) -> None:
        apple: Path | None = options["apple"]
        google: Path | None = options["google"]
        if apple is None and google is None:
            raise CommandError("give --apple FILE, --google FILE or both")
        # Both files are read and checked before either snapshot is replaced.
        parsed = []
        for path, read, write in (
            (apple, ranges_read_apple, ranges_snapshot_apple),
            (google, ranges_read_google, ranges_snapshot_google),
        ):
            if path is None:
                continue
            try:
                spans = read(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise CommandError(f"{path}: {exc}") from None
            if not spans:
                raise CommandError(f"{path}: no prefixes; the snapshot is left as it was")
            parsed.append((path, spans, write))
        for path, spans, write in parsed:
            written = write(spans=spans, origin=path.name, directory=ranges_dir())
            self.stdout.write(f"{written}: {len(spans)} prefixes from {path}")
        self.stdout.write("Restart the web workers: each process reads the ranges once.")
