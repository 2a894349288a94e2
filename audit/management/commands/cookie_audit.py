"""`manage.py cookie_audit`: drive Chromium through every public surface, in every tracking mode
and consent state, and report every cookie and storage entry left behind, judged against the
rules written down in audit/rules.py. Exits 1 on any unpermitted write, 2 when a
scenario could not run.

    manage.py cookie_audit [--format md|json] [--output FILE]
        a Consentry of its own (a child process on a temporary SQLite database), all modes
    manage.py cookie_audit --base-url URL --token TOKEN [--site ORIGIN]
        a live deployment, in its own mode; fixtures through the REST API, removed at the end
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit import rules
from audit.report import AuditResult
from audit.rules import MODES, Mode

TOKEN_VARIABLE = "CONSENTRY_AUDIT_TOKEN"  # noqa: S105 (a variable's name, not a secret)


class Command(BaseCommand):
    help = (
        "Drive Chromium through every public surface in every tracking mode and consent state, "
        "and report every cookie and storage entry, judged against the gate's rules "
        "(docs/architecture.md). Exits 1 on any unpermitted write."
    )
    # The parent process touches no database at all: the audit runs on one of its own.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            help="audit a live deployment at this URL instead of a local throwaway one",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get(TOKEN_VARIABLE),
            help=f"REST API token for --base-url (default: ${TOKEN_VARIABLE})",
        )
        parser.add_argument(
            "--site",
            help="with --base-url: an origin the deployment tracks (TRACKED_SITES) for the host "
            "pages that embed the script, forms and focus items; on localhost the audit serves "
            "it on that port, elsewhere Chromium answers its pages itself",
        )
        parser.add_argument("--format", choices=["md", "json"], default="md")
        parser.add_argument("--output", help="write the report here instead of stdout")
        parser.add_argument(
            "--chromium",
            default="/usr/bin/chromium",
            help="the Chromium binary (default: Debian's /usr/bin/chromium)",
        )
        parser.add_argument(
            "--mode",
            action="append",
            choices=[str(m) for m in MODES],
            help="local run only: audit only this mode (repeatable; default: every mode)",
        )
        parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        chromium = Path(options["chromium"])
        if options["child"]:
            self._child(options, chromium)
            return
        self._requirements(chromium)
        if options["base_url"]:
            self._remote(options, chromium)
            return
        forwarded = ["--format", options["format"], "--chromium", str(chromium)]
        if options["output"]:
            forwarded += ["--output", str(Path(options["output"]).resolve())]
        for mode in options["mode"] or ():
            forwarded += ["--mode", mode]
        from audit.local import spawn

        status = spawn(forwarded, base_dir=Path(settings.BASE_DIR))
        if status:
            raise CommandError(
                "the cookie audit failed (see the report above or in the output file)",
                returncode=status,
            )

    def _requirements(self, chromium: Path) -> None:
        """Fail early and clearly, before any child process or fixture."""
        try:
            import playwright.sync_api  # noqa: F401 (only whether it can be imported)
        except ImportError:
            raise CommandError(
                "Playwright for Python is missing; it is a development extra: "
                "`.venv/bin/pip install -e '.[dev]'`"
            ) from None
        if not chromium.exists():
            raise CommandError(
                f"Chromium is not at {chromium}: `apt-get install chromium`, or pass --chromium"
            )

    def _child(self, options: dict[str, Any], chromium: Path) -> None:
        from audit.local import run_child

        modes = [Mode(m) for m in options["mode"]] if options["mode"] else None
        result = run_child(modes=modes, chromium=chromium, progress=self._progress)
        self._finish(result, options)

    def _remote(self, options: dict[str, Any], chromium: Path) -> None:
        from audit.browser import AuditSetupError
        from audit.run import run_audit
        from audit.targets import RemoteTarget, TargetError

        if not options["token"]:
            raise CommandError(
                f"--base-url needs --token (or ${TOKEN_VARIABLE}): the fixtures are made "
                "through the REST API"
            )
        if options["mode"]:
            raise CommandError("--mode is for local runs: a deployment is audited in its own mode")
        site = options["site"]
        if site and not re.match(r"^https?://[^/]+$", site.rstrip("/")):
            raise CommandError("--site must be an origin such as https://www.example.com")
        try:
            target = RemoteTarget(options["base_url"], options["token"])
            result = run_audit(target, chromium=chromium, site=site, progress=self._progress)
        except (TargetError, AuditSetupError) as exc:
            raise CommandError(str(exc)) from exc
        self._finish(result, options)

    def _progress(self, line: str) -> None:
        self.stderr.write(f"cookie audit: {line}")

    def _finish(self, result: AuditResult, options: dict[str, Any]) -> None:
        report = (
            result.to_json() if options["format"] == "json" else result.to_markdown(rules.table())
        )
        if options["output"]:
            Path(options["output"]).write_text(report, encoding="utf-8")
        else:
            self.stdout.write(report, ending="")
            self.stdout.flush()
        summary = (
            f"{result.verdict}: {len(result.scenarios)} scenarios, "
            f"{len(result.findings)} unpermitted writes, {len(result.errors)} errors"
        )
        self._progress(summary)
        for finding in result.findings:
            self.stderr.write(f"  unpermitted: {finding.sentence()}")
        for scenario in result.errors:
            self.stderr.write(f"  could not run: {scenario.id}: {scenario.error}")
        if result.exit_code:
            raise CommandError(summary, returncode=result.exit_code)
