"""Benchmark the tracker's hot paths against a bare Django, and prove the pipeline loses nothing.

One command (`make bench`, i.e. `.venv/bin/python bench/run.py`):

1. starts the production configuration on its own resources: a fresh PostgreSQL database
   `consentry_bench` (migrated), Redis db 13 (flushed), a Celery worker with beat and gunicorn
   sync workers serving `consentry.wsgi`;
2. starts a bare Django (`bench/bare/`) under the same gunicorn command line;
3. makes what the other paths need in the tracker's database (bench/fixtures.py: an email, its
   recipients and links, a focus item, a form, and the cookies of identified browsers);
4. loads both with wrk (`bench/wrk/*.lua`: many distinct visitors), each after a warm-up, on
   seven paths: the pixel, the script's event beacon, the pixel of an identified browser, an
   email's open pixel and tracked link, a focus item's view pixel and a form submission;
5. after every load, waits for the stream to drain and checks that PostgreSQL holds one row per
   request that wrk saw succeed, in the table that path writes (exits 1 on any loss, duplicate
   or row of the wrong kind);
6. prints one table, then stops everything it started and drops the database.

Only loopback traffic; every loop is bounded in count or time. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / "bench"
WRK_DIR = BENCH / "wrk"
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

try:
    import psycopg
    import redis
    from psycopg.rows import TupleRow
except ImportError:  # run by a Python outside the project's venv: start again inside it
    if (
        Path(sys.prefix).resolve() == VENV_PYTHON.parent.parent.resolve()
        or not VENV_PYTHON.exists()
    ):
        raise
    os.execv(VENV_PYTHON, [str(VENV_PYTHON), *sys.argv])  # noqa: S606 - same argv

BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "consentry_bench"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"
REDIS_DB = 13
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
STREAM = "consentry:events"  # consentry.health.EVENT_STREAM
SITE = "http://bench.example"
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
# Only these variables reach the child processes: nothing from the caller's environment
# (SECRET_KEY_FILE exported by make, a developer's DATABASE_URL, GUNICORN_CMD_ARGS, …) can
# change what is measured.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")


class BenchError(Exception):
    """A step failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Processes:
    """Everything the benchmark started. Each runs in its own process group (its own session),
    so stopping one also stops the children it forked (gunicorn and Celery workers), and a
    Ctrl-C in the terminal reaches only this script, which then stops them in order."""

    log_dir: Path
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path) -> Service:
        slug = "".join(c if c.isalnum() else "-" for c in name).strip("-")
        log_path = self.log_dir / f"{slug}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = Service(name, process, log_path)
        self.services.append(service)
        return service

    def check_alive(self) -> None:
        for service in self.services:
            if service.name.startswith("wrk"):
                continue
            if not service.alive():
                raise BenchError(
                    f"{service.name} exited with {service.process.returncode}:\n"
                    f"{service.log_tail()}"
                )

    def stop(self, service: Service, grace: float = 10.0) -> None:
        """SIGTERM to the service's process group, SIGKILL to what is left after `grace`."""
        pgid = service.process.pid  # the group leader: start_new_session made pid == pgid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            service.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log(f"{service.name} ignored SIGTERM for {grace:.0f}s: SIGKILL")
        # Forked children can outlive their leader: make sure the group is gone.
        deadline = time.monotonic() + grace
        while _group_exists(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.process.wait(timeout=5)

    def stop_all(self) -> None:
        while self.services:
            self.stop(self.services.pop())


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(url: str, *, timeout: float = 2.0, headers: dict[str, str] | None = None) -> int:
    """The status of a GET on loopback (only loopback URLs are ever built here)."""
    request = urllib.request.Request(url, headers={"User-Agent": BROWSER_UA, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_http_ok(service: Service, url: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not service.alive():
            raise BenchError(f"{service.name} exited:\n{service.log_tail()}")
        try:
            status = http_get(url, timeout=1.0)
        except (OSError, urllib.error.URLError) as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status}"
        time.sleep(0.25)
    raise BenchError(f"{service.name} did not answer 200 on {url} in {timeout:.0f}s ({last})")


# --------------------------------------------------------------------------------------------
# The benchmarked paths

# Page hits, anonymous and identified: where the pixel and the event beacon land.
HITS_SQL = (
    "SELECT (SELECT count(*) FROM tracker_anonymoushit) + (SELECT count(*) FROM tracker_pagehit)"
)
PROBE_IP = "198.51.100.7"  # a documentation address: the one client of the checks before loads


@dataclass(frozen=True)
class Probe:
    """One request sent to both servers before the loads, to prove they answer the same."""

    method: str
    target: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class BenchPath:
    """One row of the table: the wrk script that loads it and what PostgreSQL must hold after.

    `rows` counts the rows of the table this path writes: each request wrk saw succeed must add
    exactly one. `wrong_kind` counts rows a load of this path must never add (an identified hit
    stored anonymously, an open not attributed to its recipient, …): any increase fails the
    check. `tagged` counts rows carrying this load's event ids (%(p)s: the nonce prefix), for
    the one path whose client chooses the ids. `data` names the fixtures' list the script picks
    its requests from (passed to wrk as a file); `probe` builds, from its first line, the
    request both servers must answer alike.
    """

    label: str
    script: str
    rows: str
    # The lowest ratio to bare Django this path must reach (bench/README.md, Targets).
    target: float
    wrong_kind: str | None = None
    tagged: str | None = None
    data: str | None = None
    probe: Callable[[str], Probe] | None = None


def _form_probe(target: str) -> Probe:
    return Probe(
        "POST",
        target,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": SITE,
            "Accept": "application/json",
        },
        b"email=probe%40bench.example&first_name=Probe&message=Hello&cs_hp=",
    )


PATHS: tuple[BenchPath, ...] = (
    BenchPath(
        "GET /mtracking.gif",
        "pixel.lua",
        target=0.8,
        rows=HITS_SQL,
        probe=lambda _: Probe("GET", f"/mtracking.gif?page_url={SITE}/probe"),
    ),
    # No probe: the bare view answers the beacon with the GIF, the tracker with a short JSON.
    BenchPath(
        "POST /mtc/event",
        "event.lua",
        target=0.8,
        rows=HITS_SQL,
        tagged="SELECT"
        " (SELECT count(*) FROM tracker_anonymoushit WHERE event_id::text LIKE %(p)s)"
        " + (SELECT count(*) FROM tracker_pagehit WHERE event_id::text LIKE %(p)s)",
    ),
    BenchPath(
        "GET /mtracking.gif identified",
        "identified.lua",
        target=0.6,
        rows="SELECT count(*) FROM tracker_pagehit",
        # Every fixture device belongs to a contact: an anonymous hit, or an identified one
        # tied to no one, means the cookies were not honoured.
        wrong_kind="SELECT (SELECT count(*) FROM tracker_anonymoushit)"
        " + (SELECT count(*) FROM tracker_pagehit WHERE contact_id IS NULL)",
        data="identified",
        probe=lambda cookie: Probe(
            "GET", f"/mtracking.gif?page_url={SITE}/probe", {"Cookie": cookie}
        ),
    ),
    BenchPath(
        "GET /email/<token>.gif",
        "open.lua",
        target=0.8,
        rows="SELECT count(*) FROM emails_emailopen",
        # A visitor's random address falls in a mail proxy's published ranges about one time
        # in two hundred: such an open is rightly a machine's and nobody's, and not wrong.
        wrong_kind="SELECT count(*) FROM emails_emailopen WHERE (recipient_id IS NULL OR machine)"
        " AND machine_source NOT IN ('apple-relay', 'google-proxy')",
        data="opens",
        probe=lambda target: Probe("GET", target),
    ),
    BenchPath(
        "GET /r/<id>?ct=<token>",
        "click.lua",
        target=0.6,
        rows="SELECT count(*) FROM emails_emailclick",
        wrong_kind="SELECT count(*) FROM emails_emailclick WHERE recipient_id IS NULL OR machine",
        data="clicks",
        probe=lambda target: Probe("GET", target),
    ),
    BenchPath(
        "GET /focus/<id>/viewpixel.gif",
        "focus.lua",
        target=0.8,
        rows="SELECT count(*) FROM focus_focusevent",
        wrong_kind="SELECT count(*) FROM focus_focusevent WHERE kind <> 'view' OR machine",
        data="focus",
        probe=lambda target: Probe("GET", target),
    ),
    BenchPath(
        "POST /form/submit",
        "form.lua",
        target=0.25,
        rows="SELECT count(*) FROM forms_submission",
        wrong_kind="SELECT count(*) FROM forms_submission WHERE contact_id IS NULL",
        data="form",
        probe=_form_probe,
    ),
)


# --------------------------------------------------------------------------------------------
# PostgreSQL and Redis


def database_recreate() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def database_drop() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


@dataclass
class Store:
    """Read-only views of the bench database and Redis db, for the pipeline checks."""

    db: psycopg.Connection[TupleRow]
    redis: redis.Redis

    @classmethod
    @contextlib.contextmanager
    def open(cls) -> Iterator[Store]:
        client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}", autocommit=True
        ) as conn:
            try:
                yield cls(conn, client)
            finally:
                client.close()

    def count(self, sql: str, params: dict[str, str] | None = None) -> int:
        """The one number a path's count query returns (its SQL is this file's own)."""
        row = self.db.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def rows(self) -> int:
        """Stored hits: anonymous staging rows plus identified hits."""
        return self.count(HITS_SQL)

    def backlog(self) -> int:
        return int(self.redis.xlen(STREAM))

    def profile(self) -> dict[str, object]:
        """What the stored rows say about the visitors the load simulated."""
        rows = self.db.execute(
            "SELECT device_class, machine, count(*) FROM tracker_anonymoushit"
            " GROUP BY device_class, machine ORDER BY 3 DESC"
        ).fetchall()
        counts = self.db.execute(
            "SELECT count(DISTINCT browser), count(DISTINCT visitor), count(DISTINCT path)"
            " FROM tracker_anonymoushit"
        ).fetchone()
        return {
            "device_classes": {f"{r[0]}{' (machine)' if r[1] else ''}": r[2] for r in rows},
            "browsers": counts[0] if counts else 0,
            "visitors": counts[1] if counts else 0,
            "paths": counts[2] if counts else 0,
            "identified": self.count("SELECT count(*) FROM tracker_pagehit"),
            "identified_contacts": self.count(
                "SELECT count(DISTINCT contact_id) FROM tracker_pagehit"
            ),
            "email_opens": self.count("SELECT count(*) FROM emails_emailopen"),
            "email_clicks": self.count("SELECT count(*) FROM emails_emailclick"),
            "focus_views": self.count("SELECT count(*) FROM focus_focusevent"),
            "form_submissions": self.count("SELECT count(*) FROM forms_submission"),
        }


@dataclass
class Drain:
    seconds: float  # from the end of the load until the stream was empty
    rows: int


def wait_drained(store: Store, *, rows_sql: str, since: float, timeout: float) -> Drain:
    """Wait until the stream is empty and the row count (`rows_sql`) has stood still for a
    second.

    The drain deletes stream entries only after their transaction committed, so an empty stream
    means every event appended so far is in PostgreSQL (or was dropped as malformed, which the
    row count then shows). The extra second lets requests still in flight when wrk stopped
    finish and be drained too. (A form submission is written by the request itself: the stream
    stays empty and only the second of stillness matters.)
    """
    deadline = time.monotonic() + timeout
    empty_since: float | None = None  # first poll of the current run of empty polls
    settled_rows, settled_since = -1, 0.0
    while time.monotonic() < deadline:
        backlog = store.backlog()
        rows = store.count(rows_sql)
        now = time.monotonic()
        if backlog != 0:
            empty_since = None
        elif empty_since is None or rows != settled_rows:
            empty_since = empty_since or now
            settled_rows, settled_since = rows, now
        elif now - settled_since >= 1.0:
            return Drain(seconds=max(0.0, empty_since - since), rows=rows)
        time.sleep(0.2)
    raise BenchError(
        f"the pipeline did not drain in {timeout:.0f}s: {store.backlog()} events still in the "
        f"stream, {store.count(rows_sql)} rows stored"
    )


# --------------------------------------------------------------------------------------------
# CPU: where the two cores went during a load (Linux /proc; read only)

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_snapshot(procs: Processes) -> dict[str, float]:
    """CPU seconds used so far by each part of the stack: the services this script started (by
    process group), PostgreSQL (the bench database's backends and the server's background
    processes) and Redis (by process name), wrk (reaped children of this script) and the whole
    machine ("busy": all CPU time that was not idle)."""
    groups = {service.process.pid: service.name for service in procs.services}
    seconds: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        pgid, used = int(fields[2]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        if pgid in groups:
            name = groups[pgid]
        elif command == "postgres":
            if not _our_postgres(entry):
                continue
            name = "postgres"
        elif command.startswith("redis-server"):
            name = "redis"
        else:
            continue
        seconds[name] = seconds.get(name, 0.0) + used
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds["wrk"] = children.ru_utime + children.ru_stime
    with contextlib.suppress(OSError, ValueError, IndexError):
        # user nice system idle iowait irq softirq steal: interrupt time (mostly the loopback
        # network here) belongs to no process.
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        seconds["busy"] = (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS
        seconds["kernel irq"] = (ticks[5] + ticks[6]) / CLOCK_TICKS
    return seconds


def _our_postgres(entry: Path) -> bool:
    """A backend serving the bench database, or a background process of the server; not a
    backend of another database (the test suite may be running next to the benchmark)."""
    try:
        title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    is_backend = "(" in title or "[local]" in title  # "user db 127.0.0.1(port) state"
    return f" {BENCH_DB} " in title or not is_backend


def cpu_cores(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Average cores each part kept busy between two snapshots; "other" is what the machine
    spent on anything else (another job on the same machine disturbs the figures)."""
    if wall <= 0:
        return {}
    # A process that ended meanwhile takes its time along: clamp at zero.
    cores = {name: max(0.0, after[name] - before.get(name, 0.0)) / wall for name in after}
    if "busy" in cores:
        accounted = sum(v for k, v in cores.items() if k != "busy")
        cores["other"] = max(0.0, cores["busy"] - accounted)
    return cores


def disturbed(result: WrkResult) -> bool:
    return result.cpu.get("other", 0.0) > OTHER_LOAD_LIMIT


# A load during which other work on the machine kept more cores than this busy is disturbed:
# its figures are low. It is run again while the patience budget lasts.
OTHER_LOAD_LIMIT = 0.1


@dataclass
class Patience:
    """Seconds the run may spend waiting for a quiet machine and repeating disturbed loads, so
    that a shared machine (a test suite next door) costs a bounded amount of time."""

    seconds: float

    def wait_quiet(self, procs: Processes) -> None:
        """Wait until the machine is nearly idle (our idle services use next to nothing), for at
        most 30 s and what is left of the budget."""
        started = time.monotonic()
        deadline = started + min(30.0, self.seconds)
        announced = False
        while True:
            before, sampled = cpu_snapshot(procs), time.monotonic()
            time.sleep(0.5)
            cores = cpu_cores(before, cpu_snapshot(procs), time.monotonic() - sampled)
            busy = cores.get("busy", 0.0)
            if busy <= OTHER_LOAD_LIMIT or time.monotonic() >= deadline:
                break
            if not announced:
                log(f"  the machine is busy ({busy:.2f} cores): waiting for it to quieten")
                announced = True
        self.seconds = max(0.0, self.seconds - (time.monotonic() - started - 0.5))

    def spend(self, seconds: float) -> None:
        self.seconds = max(0.0, self.seconds - seconds)


# nginx: the one proxy in front of both applications on the gunicorn-nginx line.
SHARED_PARTS = ("postgres", "redis", "celery", "nginx")


def cost_line(row: Row) -> str:
    """Microseconds of CPU per request served, by part: cores busy ÷ requests per second."""
    ours, bare = row.consentry, row.bare
    if not ours.rps or not bare.rps:
        return "-"
    web = ours.cpu.get("web-consentry", 0.0) / ours.rps * 1e6
    base = bare.cpu.get("web-bare", 0.0) / bare.rps * 1e6
    parts = [f"web worker {web:.0f} (bare Django {base:.0f})"]
    parts += [
        f"{name} {ours.cpu.get(name, 0.0) / ours.rps * 1e6:.0f}"
        for name in SHARED_PARTS
        if name != "nginx" or name in ours.cpu
    ]
    return ", ".join(parts)


def cpu_line(cores: dict[str, float]) -> str:
    parts = sorted(((v, k) for k, v in cores.items() if k != "busy" and v >= 0.01), reverse=True)
    named = ", ".join(f"{k} {v:.2f}" for v, k in parts)
    total = cores.get("busy")
    return f"{total:.2f} of {os.cpu_count()} cores busy: {named}" if total is not None else named


# --------------------------------------------------------------------------------------------
# Load


@dataclass(frozen=True)
class LoadConfig:
    threads: int
    connections: int
    duration: int
    warmup: int
    patience: float  # seconds the whole run may spend on quiet waits and repeated loads


@dataclass
class WrkResult:
    requests: int  # responses wrk read
    sent: int  # requests wrk generated (request() calls in the Lua script)
    duration_us: int
    status_errors: int  # responses with a status above 399
    socket_errors: int  # connect, read and write errors
    timeouts: int  # responses slower than wrk's --timeout (still counted in requests)
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    peak_backlog: int = 0  # largest stream length sampled during the load
    end_backlog: int = 0  # stream length when wrk exited
    cpu: dict[str, float] = field(default_factory=dict)  # cores busy per part, during the load

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    @property
    def ok(self) -> int:
        """Responses wrk saw succeed (2xx/3xx)."""
        return self.requests - self.status_errors

    @property
    def in_flight(self) -> int:
        """Requests written but not answered when wrk stopped: at most one per connection.
        The server may still have handled them, so each may or may not have a row."""
        return max(0, self.sent - self.requests)

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors

    @classmethod
    def parse(cls, output: str) -> WrkResult:
        for line in output.splitlines():
            if line.startswith("BENCH_RESULT "):
                data = json.loads(line.removeprefix("BENCH_RESULT "))
                return cls(
                    requests=int(data["requests"]),
                    sent=int(data["sent"]),
                    duration_us=int(data["duration_us"]),
                    status_errors=int(data["status_errors"]),
                    socket_errors=int(data["connect_errors"])
                    + int(data["read_errors"])
                    + int(data["write_errors"]),
                    timeouts=int(data["timeouts"]),
                    p50_ms=data["p50_us"] / 1000,
                    p90_ms=data["p90_us"] / 1000,
                    p99_ms=data["p99_us"] / 1000,
                    max_ms=data["max_us"] / 1000,
                )
        raise BenchError(f"wrk printed no BENCH_RESULT line:\n{output[-2000:]}")


def wrk_run(
    procs: Processes,
    *,
    name: str,
    base_url: str,
    script: Path,
    seconds: int,
    load: LoadConfig,
    nonce: str,
    store: Store | None,
    data: Path | None = None,
    env: dict[str, str] | None = None,
    backlog: list[int] | None = None,
) -> WrkResult:
    """One wrk run; with a store, the stream length is sampled every second meanwhile (and
    each sample added to `backlog`). The script gets the run nonce and, when it needs one, the
    file it picks its requests from; `env` is added to wrk's environment."""
    argv = [
        shutil.which("wrk") or "/usr/bin/wrk",
        f"-t{load.threads}",
        f"-c{load.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
        "--",
        nonce,
        *([str(data)] if data is not None else []),
    ]
    cpu_before = cpu_snapshot(procs)
    started = time.monotonic()
    service = procs.start(name, argv, env=child_env(env or {}), cwd=REPO)
    peak = 0
    deadline = time.monotonic() + seconds + 60
    try:
        while service.alive():
            if time.monotonic() > deadline:
                raise BenchError(f"{name} ran {seconds + 60}s past its duration")
            if store is not None:
                length = store.backlog()
                peak = max(peak, length)
                if backlog is not None:
                    backlog.append(length)
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=1.0)
    finally:
        procs.stop(service, grace=2.0)
        procs.services.remove(service)
    cpu = cpu_cores(cpu_before, cpu_snapshot(procs), time.monotonic() - started)
    output = service.log_path.read_text(errors="replace")
    if service.process.returncode != 0:
        raise BenchError(f"{name} failed ({service.process.returncode}):\n{output[-2000:]}")
    result = WrkResult.parse(output)
    result.cpu = cpu
    if store is not None:
        result.end_backlog = store.backlog()
        result.peak_backlog = max(peak, result.end_backlog)
    return result


@dataclass(frozen=True)
class Check:
    """One load's events against PostgreSQL."""

    label: str
    ok: int  # responses wrk saw succeed: each must have exactly one row
    in_flight: int  # unanswered when wrk stopped: each may have a row
    stored: int  # new rows
    tagged: int | None  # new rows carrying this run's event ids (POST /mtc/event only)
    wrong_kind: int | None  # new rows of a kind this path must never write
    drain_s: float
    peak_backlog: int
    end_backlog: int

    @property
    def lost(self) -> int:
        return max(0, self.ok - self.stored)

    @property
    def duplicates(self) -> int:
        """Rows beyond one per request sent (and, with tagged ids, rows not of this run)."""
        extra = max(0, self.stored - (self.ok + self.in_flight))
        if self.tagged is not None:
            extra = max(extra, self.stored - self.tagged)
        return extra

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicates == 0 and not self.wrong_kind

    def line(self) -> str:
        verdict = "ok" if self.passed else "MISMATCH"
        kind = f" · wrong kind {self.wrong_kind}" if self.wrong_kind is not None else ""
        return (
            f"{self.label}: succeeded {self.ok} (+{self.in_flight} in flight at stop) · "
            f"stored {self.stored} · lost {self.lost} · duplicates {self.duplicates}{kind} · "
            f"drained {self.drain_s:.1f}s after the load (backlog at end {self.end_backlog}, "
            f"peak {self.peak_backlog}) · {verdict}"
        )


def loaded_and_checked(
    procs: Processes,
    store: Store,
    *,
    label: str,
    path: BenchPath,
    base_url: str,
    data: Path | None,
    seconds: int,
    load: LoadConfig,
    drain_timeout: float,
) -> tuple[WrkResult, Check]:
    before = store.count(path.rows)
    wrong_kind_before = store.count(path.wrong_kind) if path.wrong_kind else 0
    nonce = secrets.token_hex(4)
    result = wrk_run(
        procs,
        name=f"wrk-{label}",
        base_url=base_url,
        script=WRK_DIR / path.script,
        seconds=seconds,
        load=load,
        nonce=nonce,
        store=store,
        data=data,
    )
    ended = time.monotonic()
    drain = wait_drained(store, rows_sql=path.rows, since=ended, timeout=drain_timeout)
    check = Check(
        label=label,
        ok=result.ok,
        in_flight=result.in_flight,
        stored=drain.rows - before,
        tagged=store.count(path.tagged, {"p": nonce + "%"}) if path.tagged else None,
        wrong_kind=store.count(path.wrong_kind) - wrong_kind_before if path.wrong_kind else None,
        drain_s=drain.seconds,
        peak_backlog=result.peak_backlog,
        end_backlog=result.end_backlog,
    )
    log(f"  pipeline {check.line()}")
    return result, check


# --------------------------------------------------------------------------------------------
# The stack


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def production_env(*, port: int, var_dir: Path) -> dict[str, str]:
    return child_env(
        {
            "DJANGO_SETTINGS_MODULE": "consentry.settings",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(48)[:50],
            "ALLOWED_HOSTS": HOST,
            "PUBLIC_URL": f"http://{HOST}:{port}",
            "TRUSTED_PROXIES": f"{HOST}/32",
            "COOKIE_SECURE": "false",
            "TRACKED_SITES": SITE,
            "VAR_DIR": str(var_dir),
        }
    )


@dataclass(frozen=True)
class Stack:
    consentry_url: str
    bare_url: str
    # The fixtures' request lists, one file each (name -> path), for the wrk scripts.
    data: dict[str, Path] = field(default_factory=dict)


# The server lines compared (bench/README.md, *The server*). Each serves Consentry and the bare
# Django alike: the same command, workers and access log.
SERVERS = ("gunicorn-sync", "gunicorn-nginx", "granian")
# The production line (the README's): what `make bench` measures unless told otherwise.
PRODUCTION_SERVER = "granian"
# Threads per worker, for the servers whose workers run more than one request at a time.
THREADS = 4


def server_line(server: str, workers: int) -> str:
    if server == "gunicorn-sync":
        return f"gunicorn: {workers} sync workers"
    if server == "gunicorn-nginx":
        return f"nginx (keep-alive) -> gunicorn: {workers} gthread workers x {THREADS} threads"
    return f"granian (WSGI): {workers} workers x {THREADS} threads"


def default_workers(server: str) -> int:
    """Two sync workers per core (each runs one request at a time); one threaded worker per
    core otherwise."""
    cores = os.cpu_count() or 1
    return 2 * cores if server == "gunicorn-sync" else cores


def gunicorn_argv(
    app: str, *, config: Path, port: int, workers: int, run_dir: Path, threaded: bool
) -> list[str]:
    """gunicorn for the tracker or the bare baseline: sync workers (one request at a time, a
    new connection per request), or threaded ones that keep connections alive (behind nginx).

    Each server gets its own control socket: gunicorn's default (~/.gunicorn/gunicorn.ctl) is
    one path per user, which the two servers would fight over.
    """
    name = config.parent.name if config.parent != REPO else "consentry"
    workers_line = (
        ["--worker-class", "gthread", "--threads", str(THREADS), "--keep-alive", "75"]
        if threaded
        else ["--worker-class", "sync"]
    )
    return [
        str(BIN / "gunicorn"),
        app,
        "--config",
        str(config),
        "--workers",
        str(workers),
        *workers_line,
        "--bind",
        f"{HOST}:{port}",
        "--control-socket",
        str(run_dir / f"gunicorn-{name}.ctl"),
    ]


def granian_argv(app: str, *, port: int, workers: int) -> tuple[list[str], dict[str, str]]:
    """The README's production line (scripts/serve), for the tracker or the bare baseline."""
    return [str(REPO / "scripts" / "serve")], {
        "APP": f"{app}:application",
        "HOST": HOST,
        "PORT": str(port),
        "WEB_WORKERS": str(workers),
        "WEB_THREADS": str(THREADS),
        "BIN": str(BIN),
    }


def nginx_config(run_dir: Path, routes: dict[int, int]) -> Path:
    """A reverse proxy that keeps the client's connections and its own to each upstream alive
    (public port -> upstream port)."""
    servers = "\n".join(
        f"""
    upstream u{upstream} {{ server {HOST}:{upstream}; keepalive 64; }}
    server {{
        listen {HOST}:{public};
        keepalive_requests 100000;
        location / {{
            proxy_pass http://u{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}"""
        for public, upstream in routes.items()
    )
    temp = run_dir / "nginx"
    temp.mkdir(exist_ok=True)
    config = temp / "nginx.conf"
    config.write_text(
        f"""daemon off;
worker_processes 1;
pid {temp}/nginx.pid;
error_log {temp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{servers}
}}
"""
    )
    return config


def web_start(
    procs: Processes,
    server: str,
    *,
    ports: tuple[int, int],
    workers: int,
    run_dir: Path,
    env: dict[str, str],
    bare_env: dict[str, str],
) -> tuple[Service, Service]:
    """Both applications on the chosen line, answering on `ports` (Consentry's, the bare's)."""
    port, bare_port = ports
    bare_config = BENCH / "bare" / "gunicorn.conf.py"
    listen, bare_listen = port, bare_port
    if server == "gunicorn-nginx":
        listen, bare_listen = free_port(), free_port()
        while len({port, bare_port, listen, bare_listen}) < 4:
            listen, bare_listen = free_port(), free_port()
    if server == "granian":
        ours, line = granian_argv("consentry.wsgi", port=listen, workers=workers)
        env = {**env, **line}
        theirs, line = granian_argv("bench.bare.wsgi", port=bare_listen, workers=workers)
        bare_env = {**bare_env, **line}
    else:
        threaded = server == "gunicorn-nginx"
        ours = gunicorn_argv(
            "consentry.wsgi",
            config=REPO / "gunicorn.conf.py",
            port=listen,
            workers=workers,
            run_dir=run_dir,
            threaded=threaded,
        )
        theirs = [
            *gunicorn_argv(
                "bench.bare.wsgi",
                config=bare_config,
                port=bare_listen,
                workers=workers,
                run_dir=run_dir,
                threaded=threaded,
            ),
            "--pythonpath",
            str(REPO),
        ]
    log(f"starting {server}: consentry.wsgi ({workers} workers) on port {listen}")
    consentry = procs.start("web-consentry", ours, env=env, cwd=REPO)
    log(f"starting {server}: bench.bare.wsgi ({workers} workers) on port {bare_listen}")
    # scripts/serve runs from the project's directory; gunicorn is given --pythonpath.
    bare = procs.start("web-bare", theirs, env=bare_env, cwd=BENCH / "bare")
    if server == "gunicorn-nginx":
        config = nginx_config(run_dir, {port: listen, bare_port: bare_listen})
        log(f"starting nginx on ports {port} and {bare_port}")
        procs.start("nginx", ["nginx", "-c", str(config)], env=child_env({}), cwd=run_dir)
    return consentry, bare


def stack_start(procs: Processes, *, server: str, workers: int, run_dir: Path) -> Stack:
    log("PostgreSQL: recreating database consentry_bench")
    database_recreate()
    log(f"Redis: flushing db {REDIS_DB}")
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()

    port, bare_port = free_port(), free_port()
    while bare_port == port:
        bare_port = free_port()
    var_dir = run_dir / "var"
    (var_dir / "static").mkdir(parents=True)  # STATIC_ROOT: whitenoise warns when it is absent
    env = production_env(port=port, var_dir=var_dir)

    log("manage.py migrate")
    migrate = subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "--verbosity", "0"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if migrate.returncode != 0:
        raise BenchError(f"migrate failed:\n{migrate.stdout[-2000:]}{migrate.stderr[-2000:]}")
    fixtures_path = run_dir / "fixtures.json"
    data = fixtures_make(env=env, out=fixtures_path)

    log("starting Celery worker + beat (concurrency 2)")
    celery = [
        str(BIN / "celery"),
        "-A",
        "consentry",
        "worker",
        "--beat",
        "--concurrency",
        "2",
        "--loglevel",
        "warning",
        "--schedule",
        str(run_dir / "celerybeat-schedule"),
    ]
    procs.start("celery", celery, env=env, cwd=REPO)

    consentry, bare = web_start(
        procs,
        server,
        ports=(port, bare_port),
        workers=workers,
        run_dir=run_dir,
        env=env,
        # The redirect targets and the form's answer, so that it answers the same bytes.
        bare_env=child_env(
            {"DJANGO_SETTINGS_MODULE": "bench.bare.settings", "BENCH_FIXTURES": str(fixtures_path)}
        ),
    )
    stack = Stack(f"http://{HOST}:{port}", f"http://{HOST}:{bare_port}", data)
    wait_http_ok(consentry, f"{stack.consentry_url}/healthz")
    wait_http_ok(bare, f"{stack.bare_url}/mtracking.gif")
    return stack


def fixtures_make(*, env: dict[str, str], out: Path) -> dict[str, Path]:
    """bench/fixtures.py under the servers' environment (their SECRET_KEY signs the cookies and
    click tokens it mints); each of its request lists is written to a file of one request per
    line, which the wrk scripts read. Returns list name -> file."""
    log(
        "bench/fixtures.py: an email with its recipients and links, a focus item, a form, and "
        "the cookies of identified browsers"
    )
    made = subprocess.run(
        [str(BIN / "python"), "-m", "bench.fixtures", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if made.returncode != 0:
        raise BenchError(f"fixtures failed:\n{made.stdout[-2000:]}{made.stderr[-2000:]}")
    fixtures = json.loads(out.read_text())
    files: dict[str, Path] = {}
    for path in PATHS:
        if path.data is None:
            continue
        lines = fixtures.get(path.data)
        if not isinstance(lines, list) or not lines:
            raise BenchError(f"the fixtures hold no {path.data!r} list")
        files[path.data] = out.with_name(f"{path.data}.lines")
        files[path.data].write_text("".join(f"{line}\n" for line in lines))
    return files


def smoke_test(procs: Processes, store: Store, stack: Stack) -> None:
    """One hit end to end before any load: proves the worker and beat are draining."""
    status = http_get(
        f"{stack.consentry_url}/mtracking.gif?page_url={SITE}/smoke",
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    if status != 200:
        raise BenchError(f"the pixel answered {status}, not 200")
    deadline = time.monotonic() + 60
    while store.rows() < 1:
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchError("the smoke-test hit never reached PostgreSQL (is beat running?)")
        time.sleep(0.25)
    if store.rows() != 1 or store.backlog() != 0:
        raise BenchError(f"smoke test: {store.rows()} rows, {store.backlog()} in the stream")


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    location: str | None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer to compare, not a hop to follow."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECT = urllib.request.build_opener(_NoRedirect)


def probe_send(base_url: str, probe: Probe) -> Answer:
    request = urllib.request.Request(
        base_url + probe.target,
        data=probe.body,
        method=probe.method,
        headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": PROBE_IP, **probe.headers},
    )
    try:
        with _NO_REDIRECT.open(request, timeout=10) as response:
            return Answer(response.status, response.read(), response.headers.get("Location"))
    except urllib.error.HTTPError as exc:
        return Answer(exc.code, exc.read(), exc.headers.get("Location"))


def like_for_like(store: Store, stack: Stack, drain_timeout: float) -> None:
    """Before any load, one request of each path to both servers: the tracker must succeed and
    the bare Django must answer the same status, body and Location, or the ratio would compare
    unlike answers. The tracker's rows from these requests are drained before the first load,
    so that they count in no load's check."""
    for path in PATHS:
        if path.probe is None:
            continue
        line = stack.data[path.data].read_text().split("\n", 1)[0] if path.data else ""
        probe = path.probe(line)
        tracker = probe_send(stack.consentry_url, probe)
        bare = probe_send(stack.bare_url, probe)
        if tracker.status >= 400:
            raise BenchError(
                f"{path.label}: the tracker answered {tracker.status} to {probe.method} "
                f"{probe.target}: {tracker.body[:300]!r}"
            )
        if tracker != bare:
            raise BenchError(
                f"{path.label}: the bare Django answers otherwise than the tracker: "
                f"{bare} instead of {tracker}"
            )
    wait_drained(store, rows_sql=HITS_SQL, since=time.monotonic(), timeout=drain_timeout)


# --------------------------------------------------------------------------------------------
# Report


@dataclass(frozen=True)
class Row:
    path: str
    consentry: WrkResult
    bare: WrkResult
    target: float  # BenchPath.target

    @property
    def ratio(self) -> float:
        return self.consentry.rps / self.bare.rps if self.bare.rps else 0.0

    @property
    def met(self) -> bool:
        return self.ratio >= self.target


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def table(rows: Sequence[Row]) -> str:
    header = (
        "path",
        "req/s",
        "p50",
        "p99",
        "errors",
        "bare req/s",
        "bare p99",
        "ratio",
        "p99 ratio",
        "target",
        "",
    )
    body = []
    for row in rows:
        c, b = row.consentry, row.bare
        body.append(
            (
                row.path,
                f"{c.rps:,.0f}",
                f"{c.p50_ms:.1f} ms",
                f"{c.p99_ms:.1f} ms",
                f"{c.errors}",
                f"{b.rps:,.0f}",
                f"{b.p99_ms:.1f} ms",
                f"{row.ratio:.2f}" if b.rps else "-",
                f"{c.p99_ms / b.p99_ms:.1f}x" if b.p99_ms else "-",
                f"{row.target:.2f}",
                "met" if row.met else "NOT MET",
            )
        )
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(len(header))]

    def fmt(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(header), rule, *(fmt(r) for r in body)])


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--duration", type=int, default=10, help="seconds per load (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (2)")
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=PRODUCTION_SERVER,
        help=f"the server line for both applications (default {PRODUCTION_SERVER}, the "
        "README's production line; see bench/README.md, The server)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help=f"web workers: two per core for gunicorn-sync ({2 * cores} here), one per core "
        f"otherwise ({cores}), each with {THREADS} threads",
    )
    parser.add_argument("--drain-timeout", type=float, default=120.0, help="seconds (120)")
    parser.add_argument(
        "--patience",
        type=float,
        default=120.0,
        help="seconds the run may spend waiting for a quiet machine and repeating loads that "
        "other work disturbed (120)",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the service logs")
    args = parser.parse_args(argv)
    if not (1 <= args.duration <= 120 and 0 <= args.warmup <= 30):
        parser.error("--duration must be 1..120 and --warmup 0..30 (bounded runs)")
    if not (0 <= args.patience <= 300 and 1 <= args.drain_timeout <= 600):
        parser.error("--patience must be 0..300 and --drain-timeout 1..600 (bounded runs)")
    if args.workers is None:
        args.workers = default_workers(args.server)
    if not (1 <= args.threads <= args.connections <= 1024 and 1 <= args.workers <= 64):
        parser.error("need 1 <= threads <= connections <= 1024 and 1 <= workers <= 64")
    return args


def server_loads(
    procs: Processes,
    store: Store | None,
    *,
    path: BenchPath,
    server: str,
    base_url: str,
    data: Path | None,
    load: LoadConfig,
    drain_timeout: float,
    checks: list[Check],
) -> WrkResult:
    """A warm-up, then the measured load, against one server. Consentry's loads (with a store)
    are each followed by the pipeline check."""
    phases = [(f"{path.label} (warm-up)", load.warmup)] if load.warmup else []
    phases.append((path.label, load.duration))
    result: WrkResult | None = None
    for label, seconds in phases:
        procs.check_alive()
        log(f"{label}: {server}, {seconds}s")
        if store is None:
            result = wrk_run(
                procs,
                name=f"wrk-{server}",
                base_url=base_url,
                script=WRK_DIR / path.script,
                seconds=seconds,
                load=load,
                nonce=secrets.token_hex(4),
                store=None,
                data=data,
            )
            continue
        result, check = loaded_and_checked(
            procs,
            store,
            label=label,
            path=path,
            base_url=base_url,
            data=data,
            seconds=seconds,
            load=load,
            drain_timeout=drain_timeout,
        )
        checks.append(check)
    assert result is not None
    log(f"  {summary(result)}")
    return result


def benchmark(
    procs: Processes, store: Store, stack: Stack, load: LoadConfig, drain_timeout: float
) -> tuple[list[Row], list[Check]]:
    """For each path, Consentry then bare Django, each on a quiet machine when it can be had.
    A load disturbed by other work is repeated while the patience budget lasts; the least
    disturbed attempt is the one reported."""
    rows: list[Row] = []
    checks: list[Check] = []
    patience = Patience(load.patience)
    for path in PATHS:
        data = stack.data[path.data] if path.data else None
        results: dict[str, WrkResult] = {}
        for server, base_url, server_store in (
            ("Consentry", stack.consentry_url, store),
            ("bare Django", stack.bare_url, None),
        ):
            attempts: list[WrkResult] = []
            while True:
                patience.wait_quiet(procs)
                started = time.monotonic()
                attempts.append(
                    server_loads(
                        procs,
                        server_store,
                        path=path,
                        server=server,
                        base_url=base_url,
                        data=data,
                        load=load,
                        drain_timeout=drain_timeout,
                        checks=checks,
                    )
                )
                if not disturbed(attempts[-1]):
                    break
                if patience.seconds < load.warmup + load.duration + 5:
                    log("  disturbed by other work, and out of patience: keeping the figures")
                    break
                log("  disturbed by other work on the machine: once more")
                patience.spend(time.monotonic() - started)
            results[server] = min(attempts, key=lambda r: r.cpu.get("other", 0.0))
        rows.append(Row(path.label, results["Consentry"], results["bare Django"], path.target))
    return rows, checks


def summary(result: WrkResult) -> str:
    return (
        f"{result.rps:,.0f} req/s, p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms, "
        f"{result.errors} errors, {result.timeouts} over 10s; {cpu_line(result.cpu)}"
    )


@contextlib.contextmanager
def exclusive_run() -> Iterator[bool]:
    """One benchmark at a time on a machine: two would drop each other's database and flush
    each other's Redis db. Yields False when another run holds the lock."""
    with (Path(tempfile.gettempdir()) / "consentry-bench.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def teardown(procs: Processes, *, outcome: str, run_dir: Path, keep_logs: bool = False) -> None:
    """Stop everything a run started, drop its database and empty its Redis db; the logs stay
    when the run did not end "ok" (or when asked)."""
    # A second Ctrl-C (or SIGTERM) must not cut the clean-up short; it is bounded in time.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    log("stopping everything the benchmark started")
    if outcome == "failed":
        for service in procs.services:
            log(f"--- {service.name} (last lines of {service.log_path})\n{service.log_tail()}")
    procs.stop_all()
    with contextlib.suppress(psycopg.Error):
        database_drop()
    with contextlib.suppress(redis.RedisError):
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
    if outcome != "ok" or keep_logs:
        log(f"logs kept in {run_dir}")
    else:
        shutil.rmtree(run_dir, ignore_errors=True)


def run_alone(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """`run(args)` while no other benchmark runs on this machine; 2 at once otherwise."""
    with exclusive_run() as alone:
        if not alone:
            log(
                "another benchmark is running on this machine (it owns consentry_bench and "
                f"Redis db {REDIS_DB}): try again when it is done"
            )
            return 2
        return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    return run_alone(run, parse_args(argv))


def run(args: argparse.Namespace) -> int:
    load = LoadConfig(args.threads, args.connections, args.duration, args.warmup, args.patience)
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="consentry-bench-"))
    procs = Processes(log_dir=run_dir)
    # Also SIGINT: a shell that starts us in the background hands it down ignored.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    outcome = "failed"  # or "interrupted", or "ok"
    try:
        stack = stack_start(procs, server=args.server, workers=args.workers, run_dir=run_dir)
        with Store.open() as store:
            smoke_test(procs, store, stack)
            like_for_like(store, stack, args.drain_timeout)
            rows, checks = benchmark(procs, store, stack, load, args.drain_timeout)
            procs.check_alive()
            profile = store.profile()
        outcome = "ok"
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 2
    except KeyboardInterrupt:
        outcome = "interrupted"
        log("interrupted")
        return 130
    finally:
        teardown(procs, outcome=outcome, run_dir=run_dir, keep_logs=args.keep_logs)

    elapsed = time.monotonic() - started
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(
        f"Consentry benchmark · {now} · {cpu_model()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    print(
        f"wrk -t{load.threads} -c{load.connections} -d{load.duration}s (after a {load.warmup}s "
        f"warm-up) · {server_line(args.server, args.workers)}, for Consentry and bare Django alike"
    )
    print()
    print(table(rows))
    print()
    print("Pipeline (one row in PostgreSQL per request wrk saw succeed):")
    for check in checks:
        print(f"  {check.line()}")
    print("CPU during the measured loads (average cores busy):")
    for row in rows:
        print(f"  {row.path}, Consentry: {cpu_line(row.consentry.cpu)}")
        print(f"  {row.path}, bare Django: {cpu_line(row.bare.cpu)}")
    print("CPU per request (µs; the shared parts bound how far more web nodes can go):")
    for row in rows:
        print(f"  {row.path}: {cost_line(row)}")
    print(f"Stored rows: {json.dumps(profile)}")
    met = sum(row.met for row in rows)
    print(f"Targets (ratio to bare Django): {met} of {len(rows)} met")
    for row in rows:
        verdict = "met" if row.met else "NOT MET"
        print(f"  {row.path}: {row.ratio:.2f}, target {row.target:.2f}: {verdict}")
    print(f"Total run time: {elapsed:.0f}s")
    noisy = [
        f"{row.path} ({who})"
        for row in rows
        for who, result in (("Consentry", row.consentry), ("bare", row.bare))
        if disturbed(result)
    ]
    if noisy:
        print(
            "WARNING: other work on this machine took more than "
            f"{OTHER_LOAD_LIMIT} cores during: {', '.join(noisy)}. Those figures are low; "
            "run again on a quiet machine."
        )
    bad = [c for c in checks if not c.passed]
    if bad:
        print()
        print("!" * 78)
        print(f"!! PIPELINE MISMATCH in {len(bad)} load(s): events were lost or duplicated")
        for check in bad:
            print(f"!!   {check.line()}")
        print("!" * 78)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
