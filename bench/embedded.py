"""The embedded default under load: 50 concurrent writers against `make run`, and proof that
nothing failed and nothing was lost.

`.venv/bin/python bench/embedded.py` (options: --help):

1. prepares a temporary VAR_DIR exactly as `make run` does (a generated secret key, migrate,
   collectstatic, bootstrap), with no DATABASE_URL and no REDIS_URL: SQLite, the pipeline
   in-process;
2. serves it with `make run`'s own server line (`scripts/serve` with two workers);
3. beside the load, runs the periodic jobs (rollups and retention) in a loop, as each web
   worker's scheduler thread does every five minutes;
4. fires --writers concurrent writers for --duration seconds, each a browser with its own
   cookies cycling through POST /mtc/event (pageviews), /mtracking.gif, POST /form/submit to
   the demo form (consent boxes ticked) and consent grants and withdrawals;
5. counts: requests, errors (any answer but 2xx, any failed connection, any "database is
   locked" or traceback in the server's log), and checks that every accepted hit, submission
   and consent is a row in the database. Exits 1 on any error or loss.

Only loopback traffic; every loop is bounded in time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, bench/ is on the path and the repository is not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (
    BROWSER_UA,
    HOST,
    PASSED_THROUGH,
    REPO,
    BenchError,
    Processes,
    Service,
    cpu_model,
    free_port,
    log,
    wait_http_ok,
)

BIN = Path(sys.executable).parent
# All writers share one address: the per-address limits (rightly) answer 429 to that many
# hits from one visitor. They are raised so that what is measured is the database.
LIMITS = {"EVENT_RATE_LIMIT": "10000000", "FORM_SUBMIT_LIMIT": "1000000"}
# What the server's log must never hold after a load.
LOG_FAILURES = re.compile(r"database is locked|Traceback|Internal Server Error|\" 5\d\d ")
PERIODIC = """
import sys, time
import django
django.setup()
from django.db import close_old_connections
from tracker.retention import retention_run
from tracker.rollups import rollup_recent
deadline = time.monotonic() + float(sys.argv[1])
runs = 0
while time.monotonic() < deadline:
    rollup_recent()
    retention_run()
    close_old_connections()
    runs += 1
    time.sleep(1.0)
print(f"periodic runs: {runs}", flush=True)
"""


@dataclass
class Embedded:
    """A running embedded default: its address, VAR_DIR, environment and demo form."""

    base: str
    var_dir: Path
    env: dict[str, str]
    form_id: int
    server: Service

    @property
    def database(self) -> Path:
        return self.var_dir / "consentry.sqlite3"


def embedded_env(*, var_dir: Path, port: int) -> dict[str, str]:
    """`make run`'s environment: nothing from the caller's (no DATABASE_URL, no REDIS_URL)."""
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(
        PYTHONUNBUFFERED="1",
        VAR_DIR=str(var_dir),
        SECRET_KEY_FILE=str(var_dir / "secret_key"),
        COOKIE_SECURE="false",
        PUBLIC_URL=f"http://{HOST}:{port}",
        **LIMITS,
    )
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def embedded_start(procs: Processes, *, var_dir: Path, workers: int = 2) -> Embedded:
    """Prepare VAR_DIR and serve it exactly as `make run` does."""
    port = free_port()
    env = embedded_env(var_dir=var_dir, port=port)
    var_dir.mkdir(parents=True, exist_ok=True)
    key = var_dir / "secret_key"
    key.write_text(secrets.token_urlsafe(50))
    key.chmod(0o600)
    _manage(env, "migrate", "--noinput")
    _manage(env, "collectstatic", "--noinput", "--verbosity", "0")
    shown = _manage(env, "bootstrap")
    found = re.search(r"/form/(\d+)", shown)
    if found is None:
        raise BenchError(f"bootstrap named no demo form:\n{shown}")
    line = {"HOST": HOST, "PORT": str(port), "WEB_WORKERS": str(workers), "BIN": str(BIN)}
    server = procs.start(
        "serve-embedded", [str(REPO / "scripts" / "serve")], env={**env, **line}, cwd=REPO
    )
    base = f"http://{HOST}:{port}"
    wait_http_ok(server, f"{base}/healthz", timeout=60)
    return Embedded(base=base, var_dir=var_dir, env=env, form_id=int(found[1]), server=server)


# --------------------------------------------------------------------------------------------
# The writers


@dataclass
class Tally:
    """What the writers sent and what the server answered, shared by every writer thread."""

    requests: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    # Event ids of the hits the server said it counted (a counted pageview, a 200 pixel).
    hits: set[str] = field(default_factory=set)
    forms: int = 0
    consents: int = 0
    consent_changes: int = 0  # the commands that changed the browser's choice
    latencies: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, kind: str, what: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.samples) < 10:
                self.samples.append(f"{kind}: {what[:300]}")

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class Browser:
    """One writer: a browser with its own cookies, talking to the server over a new connection
    for each request."""

    def __init__(self, embedded: Embedded, index: int) -> None:
        self.embedded = embedded
        self.index = index
        self.choice = "none"  # the browser's consent as the server last read it
        self.cookies: dict[str, str] = {}
        self.host, _, port = embedded.base.removeprefix("http://").partition(":")
        self.port = int(port)
        self.sent = 0

    def send(
        self, method: str, target: str, *, body: bytes | None = None, ctype: str = ""
    ) -> tuple[int, bytes]:
        headers = {"User-Agent": BROWSER_UA, "Accept": "application/json"}
        if ctype:
            headers["Content-Type"] = ctype
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            for header in response.headers.get_all("Set-Cookie") or []:
                self._remember(header)
            return response.status, payload
        finally:
            connection.close()

    def _remember(self, header: str) -> None:
        jar: SimpleCookie = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or not morsel.value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def page(self) -> str:
        self.sent += 1
        return f"{self.embedded.base}/demo/p{self.index}-{self.sent}?utm_source=bench"

    def pageview(self, tally: Tally) -> None:
        event_id = str(uuid.uuid4())
        body = json.dumps({"type": "pageview", "page_url": self.page(), "id": event_id})
        status, payload = self.send("POST", "/mtc/event", body=body.encode(), ctype="text/plain")
        if status != 200:
            tally.error("event", f"{status} {payload!r}")
            return
        reply = json.loads(payload)
        # The browser's choice as the server reads it: a consent command that repeats it
        # writes no record.
        self.choice = str(reply.get("consent", self.choice))
        if reply.get("counted"):
            with tally.lock:
                tally.hits.add(event_id)

    def pixel(self, tally: Tally) -> None:
        event_id = str(uuid.uuid4())
        query = urlencode({"page_url": self.page(), "id": event_id, "page_title": "Bench"})
        status, payload = self.send("GET", f"/mtracking.gif?{query}")
        if status != 200:
            tally.error("pixel", f"{status} {payload!r}")
        else:
            with tally.lock:
                tally.hits.add(event_id)

    def submit(self, tally: Tally) -> None:
        self.sent += 1
        fields = {
            "email": f"writer{self.index}-{self.sent}@bench.example",
            "first_name": f"Writer {self.index}",
            "track": "1",
            "newsletter": "1",
        }
        status, payload = self.send(
            "POST",
            f"/form/submit?formId={self.embedded.form_id}",
            body=urlencode(fields).encode(),
            ctype="application/x-www-form-urlencoded",
        )
        if status != 200 or not json.loads(payload).get("ok"):
            tally.error("form", f"{status} {payload!r}")
        else:
            with tally.lock:
                tally.forms += 1

    def consent(self, tally: Tally, command: str) -> None:
        body = json.dumps({"type": "consent", "consent": command, "page_url": self.page()})
        status, payload = self.send("POST", "/mtc/event", body=body.encode(), ctype="text/plain")
        if status != 200:
            tally.error("consent", f"{status} {payload!r}")
            return
        # A record is written only when the command changes the browser's choice.
        changed = self.choice != ("granted" if command == "grant" else "refused")
        self.choice = str(json.loads(payload).get("consent", self.choice))
        with tally.lock:
            tally.consents += 1
            tally.consent_changes += changed

    def run(self, tally: Tally, deadline: float) -> None:
        """Cycle through the mix until the deadline: grants make the following hits
        identified (a device is created on the first one), withdrawals anonymous again."""
        steps = ("pageview", "pixel", "submit", "pageview", "pixel", "consent")
        turn = self.index  # writers start at different steps
        while time.monotonic() < deadline:
            step = steps[turn % len(steps)]
            started = time.monotonic()
            try:
                if step == "consent":
                    self.consent(tally, "grant" if (turn // len(steps)) % 2 == 0 else "revoke")
                else:
                    getattr(self, step)(tally)
            except (OSError, http.client.HTTPException, ValueError) as exc:
                tally.error(step, f"{type(exc).__name__}: {exc}")
            with tally.lock:
                tally.requests[step] += 1
                tally.latencies.append(time.monotonic() - started)
            turn += 1


def writers_run(embedded: Embedded, *, writers: int, duration: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + duration
    threads = [
        threading.Thread(target=Browser(embedded, i).run, args=(tally, deadline), daemon=True)
        for i in range(writers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        # A request waits at most its 30 s timeout after the deadline.
        thread.join(timeout=duration + 60)
    if any(t.is_alive() for t in threads):
        raise BenchError("a writer did not stop within a minute of the deadline")
    return tally


# --------------------------------------------------------------------------------------------
# The check


@dataclass
class Stored:
    hits_missing: int
    hits_stored: int
    forms_stored: int
    form_consents: int
    script_consents: int
    identified_hits: int
    log_failures: list[str]

    def lost(self, tally: Tally) -> list[str]:
        lost = []
        if self.hits_missing:
            lost.append(f"{self.hits_missing} of {len(tally.hits)} counted hits not stored")
        if self.forms_stored != tally.forms:
            lost.append(f"{tally.forms} submissions accepted, {self.forms_stored} stored")
        if self.form_consents != tally.forms:
            lost.append(f"{tally.forms} form consents accepted, {self.form_consents} stored")
        if self.script_consents != tally.consent_changes:
            lost.append(
                f"{tally.consent_changes} consent changes accepted, {self.script_consents} stored"
            )
        return lost


def _one(db: sqlite3.Connection, sql: str, params: Sequence[object] = ()) -> int:
    value: int = db.execute(sql, params).fetchone()[0]
    return value


def stored_check(embedded: Embedded, tally: Tally) -> Stored:
    """Reads the SQLite file itself (read-only): what a later `make run` would find."""
    with contextlib.closing(
        sqlite3.connect(f"file:{embedded.database}?mode=ro", uri=True, timeout=30)
    ) as db:
        # Django stores a UUIDField as 32 hex digits on SQLite.
        ids = {
            row[0]
            for row in db.execute(
                "SELECT event_id FROM tracker_anonymoushit UNION ALL "
                "SELECT event_id FROM tracker_pagehit"
            )
        }
        wanted = {uuid.UUID(e).hex for e in tally.hits}
        form = embedded.form_id
        stored = Stored(
            hits_missing=len(wanted - ids),
            hits_stored=len(wanted & ids),
            forms_stored=_one(
                db, "SELECT count(*) FROM forms_submission WHERE form_id = ?", [form]
            ),
            form_consents=_one(
                db,
                "SELECT count(*) FROM consent_consentrecord "
                "WHERE source = 'form' AND purpose = 'tracking'",
            ),
            script_consents=_one(
                db, "SELECT count(*) FROM consent_consentrecord WHERE source = 'script'"
            ),
            identified_hits=_one(db, "SELECT count(*) FROM tracker_pagehit"),
            log_failures=[],
        )
    text = embedded.server.log_path.read_text(errors="replace")
    stored.log_failures = [line for line in text.splitlines() if LOG_FAILURES.search(line)]
    return stored


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Result:
    tally: Tally
    stored: Stored
    duration: float
    writers: int

    @property
    def lost(self) -> list[str]:
        return self.stored.lost(self.tally)

    @property
    def errors(self) -> int:
        return sum(self.tally.errors.values()) + len(self.stored.log_failures)

    @property
    def passed(self) -> bool:
        return self.errors == 0 and not self.lost and self.tally.total > 0

    def line(self) -> str:
        latencies = sorted(self.tally.latencies) or [0.0]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        mix = ", ".join(f"{k} {v}" for k, v in sorted(self.tally.requests.items()))
        return (
            f"{self.writers} writers, {self.duration:.0f} s: {self.tally.total} requests "
            f"({self.tally.total / self.duration:.0f}/s; {mix}), {self.errors} errors, "
            f"p99 {p99 * 1000:.0f} ms; stored: {self.stored.hits_stored}/{len(self.tally.hits)} "
            f"hits ({self.stored.identified_hits} identified), "
            f"{self.stored.forms_stored}/{self.tally.forms} submissions, "
            f"{self.stored.script_consents}/{self.tally.consent_changes} consent changes "
            f"({self.tally.consents} commands)"
        )


@contextlib.contextmanager
def periodic_jobs(procs: Processes, embedded: Embedded, seconds: float) -> Iterator[Service]:
    """Rollups and retention in a loop beside the load, in their own process."""
    service = procs.start(
        "periodic",
        [str(BIN / "python"), "-c", PERIODIC, str(seconds)],
        env={**embedded.env, "DJANGO_SETTINGS_MODULE": "consentry.settings"},
        cwd=REPO,
    )
    try:
        yield service
    finally:
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=seconds + 60)


def embedded_bench(*, writers: int, duration: float, keep: bool = False) -> Result:
    run_dir = Path(tempfile.mkdtemp(prefix="consentry-embedded-"))
    procs = Processes(log_dir=run_dir)
    failed = True
    try:
        embedded = embedded_start(procs, var_dir=run_dir / "var")
        with periodic_jobs(procs, embedded, duration) as periodic:
            tally = writers_run(embedded, writers=writers, duration=duration)
        if periodic.process.returncode != 0:
            raise BenchError(f"the periodic jobs failed:\n{periodic.log_tail()}")
        procs.stop(embedded.server)  # a graceful stop: every worker finished its requests
        stored = stored_check(embedded, tally)
        stored.log_failures += [
            line
            for line in periodic.log_path.read_text(errors="replace").splitlines()
            if LOG_FAILURES.search(line)
        ]
        result = Result(tally=tally, stored=stored, duration=duration, writers=writers)
        failed = not result.passed
        return result
    finally:
        procs.stop_all()
        if keep or failed:
            log(f"logs and database kept in {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--writers", type=int, default=50, help="concurrent writers (50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of load (30)")
    parser.add_argument("--keep", action="store_true", help="keep the logs and the database")
    args = parser.parse_args(argv)
    log(f"embedded default (`make run`): {args.writers} writers for {args.duration:.0f} s")
    result = embedded_bench(writers=args.writers, duration=args.duration, keep=args.keep)
    print(result.line())
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores; {dt.date.today().isoformat()}")
    for sample in result.tally.samples[:5]:
        print(f"  error: {sample}")
    for line in result.stored.log_failures[:5]:
        print(f"  log: {line}")
    for lost in result.lost:
        print(f"  LOST: {lost}")
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
