"""The run: plans the jobs (every surface in every mode and state, and every problem scenario
in every mode), prepares the target, its fixtures, the host site and one Chromium, plays the
jobs one at a time, switches the tracking mode only between modes, and gathers the
`AuditResult`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from audit.browser import CHROMIUM, AuditSetupError, chromium_open, origin_of, playwright_import
from audit.host import LOOPBACK, HostSite, publish_pages
from audit.report import AuditResult, CookieSeen, ScenarioResult
from audit.rules import MODES, STATES, Mode, State
from audit.scenarios import PROBLEMS, SURFACES, ScenarioRun, Spec, states_prepare
from audit.targets import EmailLinks, Fixtures, Target

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import StorageState as PlaywrightStorageState


@dataclass(frozen=True)
class Job:
    spec: Spec
    group: str
    mode: Mode
    state: State
    fresh: tuple[EmailLinks, ...]  # recipients of its own, handed out before the run


class Auditor:
    """Plays scenarios in one Chromium; one per worker thread."""

    def __init__(
        self,
        chromium: Browser,
        target: Target,
        site: HostSite,
        fixtures: Fixtures,
        prepared: dict[State, PlaywrightStorageState],
    ) -> None:
        self.chromium = chromium
        self.site = site
        self.fixtures = fixtures
        self.tracker = origin_of(target.base_url)
        self.prepared = prepared

    def play(self, job: Job) -> ScenarioResult:
        spec = job.spec
        result = _result(job)
        run = ScenarioRun(
            chromium=self.chromium,
            tracker=self.tracker,
            site=self.site,
            fixtures=self.fixtures,
            prepared=self.prepared,
            result=result,
            fresh=list(job.fresh),
        )
        try:
            spec.play(run)
        except Exception as exc:  # a scenario that cannot run is reported, not fatal
            result.error = self.sanitise(f"{type(exc).__name__}: {exc}")
        finally:
            try:
                run.finish()
            except Exception as exc:
                result.error = result.error or self.sanitise(f"{type(exc).__name__}: {exc}")
        # A write whose cookie vanished within its step still shows in the report.
        named = {(c.browser, c.name) for c in result.cookies}
        for browser, name, verdict in run.transient:
            if (browser, name) not in named:
                named.add((browser, name))
                result.cookies.append(
                    CookieSeen(
                        browser=browser,
                        name=name,
                        domain="(written, then expired within the step)",
                        days=None,
                        same_site="",
                        secure=False,
                        http_only=False,
                        preset=False,
                        rewritten=False,
                        at_end=False,
                        permitted=verdict.ok,
                        why=verdict.why,
                    )
                )
        return result

    def sanitise(self, message: str) -> str:
        """One line, without ports or tokens: the report must not change from run to run."""
        line = message.strip().splitlines()[0] if message.strip() else "error"
        for origin, name in (
            (self.tracker, "{tracker}"),
            (self.site.origin, "{site}"),
            (self.site.local, "{site}"),
        ):
            line = line.replace(origin, name)
        line = re.sub(r"/(r|email/[a-z]+|email)/[A-Za-z0-9_:?=.-]+", r"/\1/…", line)
        return line[:300]


def _result(job: Job) -> ScenarioResult:
    matrix = job.group == "matrix"
    return ScenarioResult(
        id=f"{job.mode}/{job.state}/{job.spec.id}" if matrix else f"{job.mode}/{job.spec.id}",
        group=job.group,
        mode=job.mode,
        state=job.state,
        surface=job.spec.title,
        title=job.spec.title,
    )


def run_audit(
    target: Target,
    *,
    modes: Sequence[Mode] | None = None,
    states: Sequence[State] = STATES,
    surfaces: Sequence[str] | None = None,
    problems: Sequence[str] | None = None,
    chromium: Path = CHROMIUM,
    site: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Audit `target` in each of `modes` (default: all the target can switch to), for each
    state and surface (ids of SURFACES; default all) and each problem scenario (ids of PROBLEMS;
    default all). `site` is the host site's origin against a deployment (one it tracks).

    The tracking mode is switched between modes only, when no scenario is running."""
    playwright_import()  # before any fixture: Playwright is an optional extra
    if not chromium.exists():
        raise AuditSetupError(
            f"Chromium is not at {chromium}: install it (`apt-get install chromium`) "
            "or pass --chromium PATH"
        )
    chosen_modes = [m for m in MODES if m in (modes or target.modes)]
    if not set(chosen_modes) <= set(target.modes):
        raise AuditSetupError(f"this target can only be audited in {list(target.modes)}")
    specs = [s for s in SURFACES if surfaces is None or s.id in surfaces]
    named = [s for s in PROBLEMS if problems is None or s.id in problems]
    unknown = set(surfaces or ()) - {s.id for s in SURFACES}
    unknown |= set(problems or ()) - {s.id for s in PROBLEMS}
    if unknown:
        raise AuditSetupError(f"unknown scenarios: {sorted(unknown)}")
    plan = [
        (
            mode,
            [("matrix", state, spec) for state in states for spec in specs]
            + [("rfc", State.NONE, spec) for spec in named],
        )
        for mode in chosen_modes
    ]
    fresh = sum(spec.fresh for _, jobs in plan for _, _, spec in jobs)
    say = progress or (lambda _: None)
    result = AuditResult(target=target.description, modes=chosen_modes)
    # Another port of the tracker's own host (same site: its SameSite=Lax cookies travel with
    # the embeds' requests); against a deployment, a loopback server for the blank page.
    host = urlsplit(target.base_url).hostname or "localhost"
    host_site = HostSite(host if host in LOOPBACK else "127.0.0.1", site)
    try:
        with target.run(site=host_site.origin):
            with target.preparing():
                fixtures = target.make_fixtures(
                    site=host_site.origin, blank=host_site.blank, fresh=fresh
                )
            try:
                publish_pages(host_site, origin_of(target.base_url), fixtures)
                # One Chromium for the whole run, a fresh context (or two) per scenario. One
                # scenario at a time: the local run's SQLite serialises writes anyway, and
                # concurrent writers make it answer "database is locked".
                with chromium_open(executable=chromium) as browser:
                    prepared = states_prepare(
                        chromium=browser, target=target, site=host_site, fixtures=fixtures
                    )
                    result.prepared = {
                        str(state): sorted({c["name"] for c in prepared[state]["cookies"]})
                        if state in prepared
                        else []
                        for state in STATES
                    }
                    auditor = Auditor(browser, target, host_site, fixtures, prepared)
                    for mode, scenarios in plan:
                        started = time.monotonic()
                        with target.mode(mode):
                            for group, state, spec in scenarios:
                                job = Job(
                                    spec=spec,
                                    group=group,
                                    mode=mode,
                                    state=state,
                                    fresh=tuple(fixtures.take_fresh() for _ in range(spec.fresh)),
                                )
                                result.scenarios.append(auditor.play(job))
                        elapsed = time.monotonic() - started
                        say(f"mode {mode}: {len(scenarios)} scenarios in {elapsed:.0f} s")
            finally:
                result.notes += target.remove_fixtures()
    finally:
        host_site.close()
    return result
