"""Private services for the fault-injection tests (tests/tracker/test_faults.py).

A PostgreSQL cluster and a Redis of their own on spare loopback ports, so that stopping them
harms nothing else; the production web server (scripts/serve) and a real Celery worker with
beat pointed at them; a load of tracking events sent from threads over plain HTTP; and the
figures read back with psycopg and redis-py. No mocks: every piece is the real program,
started as production starts it.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis

from consentry.streams import SINGLE_STREAM as EVENT_STREAM
from tracker.drain import GROUP

ROOT = Path(__file__).resolve().parents[2]
STREAM = EVENT_STREAM
SITE = "http://faults.example"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
# Over both hit tables, anonymous and identified: all rows, rows among a list of event ids,
# and event ids stored more than once.
COUNT_STORED = """
    SELECT count(*), count(*) FILTER (WHERE event_id::text = ANY(%s)) FROM (
        SELECT event_id FROM tracker_anonymoushit
        UNION ALL SELECT event_id FROM tracker_pagehit
    ) AS hits
"""
COUNT_TWICE = """
    SELECT count(*) FROM (
        SELECT event_id FROM (
            SELECT event_id FROM tracker_anonymoushit
            UNION ALL SELECT event_id FROM tracker_pagehit
        ) AS hits
        GROUP BY event_id HAVING count(*) > 1
    ) AS twice
"""


def _pg_bin() -> Path | None:
    """The newest PostgreSQL server binaries: Debian's versioned directory, else the PATH."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


PG_BIN = _pg_bin()
REDIS_SERVER = shutil.which("redis-server")


def missing() -> str | None:
    """Why these services cannot be started here, or None."""
    if PG_BIN is None or not (PG_BIN / "pg_ctl").exists():
        return "the fault tests need PostgreSQL's initdb and pg_ctl (apt-get install postgresql)"
    if REDIS_SERVER is None:
        return "the fault tests need redis-server (apt-get install redis-server)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, the fault tests need a 'postgres' user to run PostgreSQL"
        if shutil.which("runuser") is None:
            return "running as root, the fault tests need runuser to run PostgreSQL"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        # A service still starting (or down on purpose) answers with errors: keep asking.
        with contextlib.suppress(Exception):
            if predicate():
                return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


# The web server's access log lines for answers below 500 (tracker access lines are not news).
_ROUTINE = re.compile(r'^\[[^]]*\] "[A-Z]+ [^"]*" [1-4]\d\d ')


def _tail(path: Path, lines: int = 60) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join([line for line in text if not _ROUTINE.match(line)][-lines:])


def _end(process: subprocess.Popen[bytes] | None, timeout: float = 15.0) -> None:
    """Stop a process we started in its own session: SIGTERM to its group, then SIGKILL."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # Children left in the group (the worker's beat) go with it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


class Services:
    """The whole stack on private ports. Every start is undone by close(), also on failure."""

    def __init__(self, secret_key: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="consentry-faults-"))
        self.dir.chmod(0o755)  # the postgres user must reach its directories inside
        self.pg_data = self.dir / "pg" / "data"
        self.pg_run = self.dir / "pg" / "run"  # sockets and the server's log
        self.redis_dir = self.dir / "redis"
        self.redis_dir.mkdir()
        (self.dir / "var" / "static").mkdir(parents=True)
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.web_port = free_port()
        self.pg_started = False
        self.redis_process: subprocess.Popen[bytes] | None = None
        self.web_process: subprocess.Popen[bytes] | None = None
        self.worker_process: subprocess.Popen[bytes] | None = None
        self.database_url = f"postgres://postgres@127.0.0.1:{self.pg_port}/consentry"
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.endswith("_FILE") and k not in ("DATABASE_URL", "REDIS_URL")
        }
        self.env = {
            **environ,
            "DJANGO_SETTINGS_MODULE": "consentry.settings",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": secret_key,
            "DEBUG": "false",
            "VAR_DIR": str(self.dir / "var"),
            "ALLOWED_HOSTS": "127.0.0.1",
            "PUBLIC_URL": f"http://127.0.0.1:{self.web_port}",
            "TRACKED_SITES": SITE,
            "TRACKING_MODE": "consent",
            "COOKIE_SECURE": "false",
            "TRUSTED_PROXIES": "127.0.0.1/32",
            "LOG_LEVEL": "warning",
        }
        self.redis = redis.Redis(
            host="127.0.0.1", port=self.redis_port, socket_connect_timeout=0.5, socket_timeout=2
        )

    # -- PostgreSQL ---------------------------------------------------------------------------

    def _as_postgres(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else list(argv)

    def _pg(self, *argv: str, timeout: float = 60) -> None:
        assert PG_BIN is not None
        command = self._as_postgres(str(PG_BIN / argv[0]), *argv[1:])
        result = subprocess.run(command, capture_output=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed ({result.returncode}): "
                f"{result.stderr.decode(errors='replace')}\n{_tail(self.pg_run / 'server.log')}"
            )

    def postgres_init(self) -> None:
        self.pg_data.mkdir(parents=True)
        self.pg_run.mkdir()
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            for path in (self.pg_data.parent, self.pg_data, self.pg_run):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.pg_data.chmod(0o700)
        self._pg(
            "initdb",
            "-D",
            str(self.pg_data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )

    def postgres_start(self) -> None:
        options = (
            f"-p {self.pg_port} -k {self.pg_run} -c listen_addresses=127.0.0.1 "
            # A test cluster: durability across an operating-system crash is not under test
            # (a stopped server still writes everything on its way down).
            "-c fsync=off -c full_page_writes=off -c max_connections=60"
        )
        self._pg(
            "pg_ctl",
            "-D",
            str(self.pg_data),
            "-l",
            str(self.pg_run / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "30",
            "start",
        )
        self.pg_started = True

    def postgres_stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.pg_data), "-m", mode, "-w", "-t", "30", "stop")
        self.pg_started = False

    def postgres_running(self) -> bool:
        try:
            with psycopg.connect(self._dsn("postgres"), connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def _dsn(self, dbname: str = "consentry") -> str:
        return f"host=127.0.0.1 port={self.pg_port} user=postgres dbname={dbname}"

    def sql(self, query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(self._dsn(), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(query, params)
            return cursor.fetchall() if cursor.description else []

    def database_create(self) -> None:
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE consentry")
        self.manage("migrate", "--noinput")

    def manage(self, *argv: str) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", *argv],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"manage.py {' '.join(argv)} failed: {result.stderr.decode(errors='replace')}"
            )

    # -- Redis --------------------------------------------------------------------------------

    def redis_start(self) -> None:
        assert REDIS_SERVER is not None
        log = (self.redis_dir / "redis.log").open("ab")
        self.redis_process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--daemonize",
                "no",
                "--dir",
                str(self.redis_dir),
                "--save",
                "",
                # The stream is the only copy of an event until it is drained: a Redis that is
                # stopped and started again must come back with it (see the module docstring
                # of tests/tracker/test_faults.py).
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: bool(self.redis.ping()), timeout=15):
            raise RuntimeError(f"redis-server did not start: {_tail(self.redis_dir / 'redis.log')}")

    def redis_stop(self) -> None:
        _end(self.redis_process)
        self.redis_process = None

    def redis_running(self) -> bool:
        return self.redis_process is not None and self.redis_process.poll() is None

    # -- the web server and the Celery worker ----------------------------------------------

    def _spawn(
        self, argv: list[str], log_name: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        log = (self.dir / log_name).open("ab")
        try:
            return subprocess.Popen(
                argv,
                cwd=ROOT,
                env={**self.env, **(env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped with all its children
            )
        finally:
            log.close()

    def web_start(self) -> None:
        # The production line (scripts/serve), with two workers.
        line = {
            "PORT": str(self.web_port),
            "WEB_WORKERS": "2",
            "BIN": str(Path(sys.executable).parent),
        }
        self.web_process = self._spawn([str(ROOT / "scripts" / "serve")], "web.log", line)
        if not wait_until(lambda: self.get("/healthz")[0] == 200, timeout=30, interval=0.2):
            raise RuntimeError(f"the web server did not start: {_tail(self.dir / 'web.log')}")

    def web_running(self) -> bool:
        return self.web_process is not None and self.web_process.poll() is None

    def worker_start(self) -> None:
        self.worker_process = self._spawn(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "consentry",
                "worker",
                "--beat",
                "--pool",
                "solo",
                "--loglevel",
                "warning",
                "--schedule",
                str(self.dir / "beat-schedule"),
            ],
            "worker.log",
        )

    def worker_consumer(self) -> str:
        """The drain's consumer name in the running worker (see tracker.drain)."""
        assert self.worker_process is not None
        return f"{socket.gethostname()}-{self.worker_process.pid}"

    def worker_wait_ready(self, timeout: float = 45) -> None:
        """Ready once beat has had it drain at least once: its consumer is in the group."""
        consumer = self.worker_consumer().encode()

        def draining() -> bool:
            consumers = self.redis.xinfo_consumers(STREAM, GROUP)
            return any(c["name"] == consumer for c in consumers)

        if not wait_until(draining, timeout=timeout, interval=0.1):
            raise RuntimeError(f"the worker never drained: {_tail(self.dir / 'worker.log')}")

    def worker_kill(self) -> None:
        """SIGKILL to the worker and its beat, as when its machine or container dies."""
        assert self.worker_process is not None
        os.killpg(self.worker_process.pid, signal.SIGKILL)
        self.worker_process.wait(timeout=10)

    def worker_stop(self) -> None:
        _end(self.worker_process, timeout=20)
        self.worker_process = None

    def worker_running(self) -> bool:
        return self.worker_process is not None and self.worker_process.poll() is None

    # -- the whole stack ----------------------------------------------------------------------

    def start(self) -> None:
        self.postgres_init()
        self.postgres_start()
        self.database_create()
        self.redis_start()
        self.web_start()
        self.worker_start()
        self.worker_wait_ready()

    def ensure(self) -> None:
        """Everything running again after a test that failed halfway through a fault."""
        if not self.pg_started:
            self.postgres_start()
        if not self.redis_running():
            self.redis_start()
        if not self.web_running():
            self.web_start()
        if not self.worker_running():
            self.worker_start()
            self.worker_wait_ready()

    def reset(self) -> None:
        """No hit rows and an empty stream (its group and dead consumers gone with it), and
        every command allowed again."""
        self.redis.execute_command("ACL", "SETUSER", "default", "+@all")
        self.sql("TRUNCATE tracker_anonymoushit, tracker_pagehit")
        self.redis.delete(STREAM)

    def close(self) -> None:
        for stop in (self.worker_stop, self._web_stop, self.redis_stop, self._postgres_close):
            with contextlib.suppress(Exception):
                stop()
        with contextlib.suppress(Exception):
            self.redis.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _web_stop(self) -> None:
        _end(self.web_process)
        self.web_process = None

    def _postgres_close(self) -> None:
        pid_file = self.pg_data / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            self.postgres_stop(mode="immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            # pg_ctl could not stop it: the postmaster this test started goes by its own pid.
            with contextlib.suppress(OSError, ValueError, IndexError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ---\n{_tail(path)}"
            for name, path in (
                ("web", self.dir / "web.log"),
                ("worker", self.dir / "worker.log"),
                ("redis", self.redis_dir / "redis.log"),
                ("postgres", self.pg_run / "server.log"),
            )
        )

    # -- reading the figures ------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.web_port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def healthz(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, json.loads(body)

    def backlog(self) -> int:
        """What /healthz reports as the backlog: the stream's length."""
        return int(self.redis.xlen(STREAM))

    def stream_state(self) -> dict[str, int]:
        """The stream's entries by state: not yet delivered to the drain's group, delivered
        and pending (read, not acknowledged), and orphaned (acknowledged but never deleted:
        no read of the group returns them again, yet they count in the backlog)."""
        raw: Any = self.redis.xrange(STREAM)
        entries = [_entry_id(entry_id) for entry_id, _ in raw]
        try:
            groups = self.redis.xinfo_groups(STREAM)
        except redis.ResponseError:  # no stream, no group
            groups = []
        group = next((g for g in groups if g["name"] == GROUP.encode()), None)
        if group is None:
            return {"undelivered": len(entries), "pending": 0, "orphaned": 0}
        last = _entry_id(group["last-delivered-id"])
        pending = {
            _entry_id(p["message_id"])
            for p in self.redis.xpending_range(STREAM, GROUP, "-", "+", 1_000_000)
        }
        return {
            "undelivered": sum(1 for e in entries if e > last),
            "pending": len(pending),
            "orphaned": sum(1 for e in entries if e <= last and e not in pending),
        }

    def stored(self, ids: set[str]) -> tuple[int, int, int]:
        """(rows, rows among `ids`, event ids stored more than once) over both hit tables."""
        with psycopg.connect(self._dsn(), autocommit=True, connect_timeout=5) as conn:
            counts = conn.execute(COUNT_STORED, (list(ids),)).fetchone()
            twice = conn.execute(COUNT_TWICE).fetchone()
        assert counts is not None
        assert twice is not None
        return int(counts[0]), int(counts[1]), int(twice[0])


def _entry_id(value: object) -> tuple[int, int]:
    text = value.decode() if isinstance(value, bytes) else str(value)
    milliseconds, sequence = text.split("-")
    return int(milliseconds), int(sequence)


def post_event(port: int, event_id: str, *, n: int = 0, address: str = "198.51.100.7") -> int:
    """POST one pageview as the script sends it; the HTTP status, or 0 without an answer."""
    body = {"type": "pageview", "id": event_id, "page_url": f"{SITE}/p/{n % 50}"}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        conn.request(
            "POST",
            "/mtc/event",
            body=json.dumps(body).encode(),
            headers={
                "Content-Type": "text/plain;charset=UTF-8",
                "User-Agent": f"{CHROME} v{n % 17}",
                "X-Forwarded-For": address,
                "Origin": SITE,
            },
        )
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


@dataclass
class Load:
    """`total` tracking events POSTed from `threads` threads, a new connection for each, from
    addresses spread across many /16 networks."""

    port: int
    total: int
    threads: int = 8
    statuses: dict[str, int] = field(default_factory=dict)  # event id -> HTTP status (0: none)
    slowest: float = 0.0
    _next: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _workers: list[threading.Thread] = field(default_factory=list)
    _started: float = 0.0
    elapsed: float = 0.0

    def start(self) -> Load:
        self._started = time.monotonic()
        self._workers = [
            threading.Thread(target=self._run, name=f"load-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for worker in self._workers:
            worker.start()
        return self

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._next >= self.total:
                    self.elapsed = max(self.elapsed, time.monotonic() - self._started)
                    return
                n = self._next
                self._next += 1
            event_id = str(uuid.uuid4())
            address = f"{(n * 7) % 223 + 1}.{(n * 13) % 256}.{n % 256}.{(n * 3) % 250 + 1}"
            began = time.monotonic()
            status = post_event(self.port, event_id, n=n, address=address)
            took = time.monotonic() - began
            with self._lock:
                self.statuses[event_id] = status
                self.slowest = max(self.slowest, took)

    @property
    def sent(self) -> int:
        with self._lock:
            return len(self.statuses)

    def wait_sent(self, n: int, timeout: float = 60) -> None:
        if not wait_until(lambda: self.sent >= n, timeout=timeout, interval=0.01):
            raise AssertionError(f"only {self.sent} of {n} events sent in {timeout:.0f} s")

    def join(self, timeout: float = 90) -> Load:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        if any(worker.is_alive() for worker in self._workers):
            raise AssertionError(f"the load did not finish in {timeout:.0f} s")
        return self

    @property
    def accepted(self) -> set[str]:
        with self._lock:
            return {i for i, status in self.statuses.items() if status == 200}

    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(sorted(Counter(self.statuses.values()).items()))


class BacklogWatch:
    """Samples the stream's length every 20 ms in a thread; keeps the maximum seen."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.maximum = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="backlog-watch", daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            with contextlib.suppress(redis.RedisError):
                self.maximum = max(self.maximum, self.services.backlog())

    @contextlib.contextmanager
    def watching(self) -> Iterator[BacklogWatch]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)
