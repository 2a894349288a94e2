"""Benchmark the ingest pipeline behind the hot path: Redis stream -> Celery drain -> PostgreSQL
-> daily rollups, and prove that it loses and duplicates nothing.

One command (`.venv/bin/python bench/pipeline.py [--events 1000000]`), or `pipeline_bench()`
from Python:

1. recreates its own PostgreSQL database `consentry_pipeline_bench` (`manage.py migrate` under
   a production configuration) and flushes its own Redis db 12, then creates the objects the
   non-page events refer to (an email with tracked recipients and links, focus items, assets,
   contacts with devices);
2. appends N synthetic events to the stream with pipelined XADDs, shaped like the ones the
   views build: mostly anonymous page hits (a few sites, thousands of paths, hundreds of
   thousands of visitor hashes over the last 24 hours, a share of machines), identified hits
   with device ids, email opens and clicks, focus views and conversions, asset downloads;
3. starts the real Celery worker with beat (bench/run.py's command line; `--celery-workers`
   starts more) and times it from its start until the stream is empty, sampling the worker
   processes' memory every 0.2 s and where the machine's CPU went (workers, PostgreSQL,
   Redis, other people's work) once a second;
4. stops the worker, recomputes the rollups of every day covered (`tracker.rollups.rollup_day`,
   what the beat's `rollup_days` task runs) and times them;
5. checks that PostgreSQL holds exactly one row per pushed event of each kind, and that the
   rollup totals of each day equal the page hits stored for it (exits 1 otherwise);
6. prints one block of results, stops everything it started, drops the database and flushes
   the Redis db.

It owns `consentry_pipeline_bench`, Redis db 12 and the lock `$TMPDIR/consentry-pipeline.lock`
for the length of the run, and nothing else, so it can run beside bench/run.py (which owns
`consentry_bench` and db 13). Every wait is bounded in time. The steps that need Django (the
fixtures, the rollups) run in a child interpreter (`--child`), so this process never sets
Django up and can be imported by anything.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import fcntl
import json
import os
import platform
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"

try:
    import psycopg
    import redis
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
BENCH_DB = "consentry_pipeline_bench"
DB_URL = f"postgresql://postgres@127.0.0.1:5432/{BENCH_DB}"
REDIS_DB = 12
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
STREAM = "consentry:events"  # consentry.health.EVENT_STREAM
GROUP = "drain"  # tracker.drain.GROUP
LOCK_NAME = "consentry-pipeline.lock"
# Only these variables reach the child processes, as in bench/run.py: a developer's
# DATABASE_URL or make's SECRET_KEY_FILE cannot change what is measured.
PASSED_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TZ")
MIB = 1024 * 1024
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# What an event becomes, and the table that must then hold exactly one row for it.
TABLES = {
    "page": "tracker_anonymoushit WHERE NOT machine",
    "machine": "tracker_anonymoushit WHERE machine",
    "identified": "tracker_pagehit",
    "open": "emails_emailopen",
    "click": "emails_emailclick",
    "focus": "focus_focusevent",
    "asset": "pages_assetdownload",
}
# The mix of a busy marketing site: page hits dominate; a consented minority is identified.
MIX = {
    "page": 0.835,
    "machine": 0.03,
    "identified": 0.08,
    "open": 0.025,
    "click": 0.006,
    "focus": 0.02,
    "asset": 0.004,
}
SITES = (
    ("https://www.example.com", 6),
    ("https://shop.example.com", 3),
    ("https://blog.example.org", 1),
)
PATHS_PER_SITE = 4000
VISITORS_PER_DAY = 250_000
DEVICES = 40_000  # identified browsers; the first KNOWN_DEVICES already belong to a contact
KNOWN_DEVICES = 5_000
CONTACTS = 5_000
TRACKED_RECIPIENTS = 1_000  # recipients of the email who consented to tracking
SPAN_S = 86_400  # the events' times spread over the last day, in order
SESSION_GAP_S = 1_800  # tracker.services.SESSION_GAP: hits this soon after midnight carry "vp"
PUSH_CHUNK = 5_000
# The drain rate the specification asks for.
TARGET_EVENTS_S = 20_000
# A drain during which other work kept more cores than this busy measured less than it could.
OTHER_LOAD_LIMIT = 0.1


class BenchError(Exception):
    """A step failed; the message says which and why."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# --------------------------------------------------------------------------------------------
# Processes


@dataclass
class Service:
    """A process started in its own session, so that stopping its group also stops the pool
    processes and the beat it forked."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls, name: str, argv: Sequence[str], *, env: dict[str, str], log_dir: Path
    ) -> Service:
        log_path = log_dir / f"{name}.log"
        with log_path.open("wb") as out:
            process = subprocess.Popen(
                list(argv),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(name, process, log_path)

    @property
    def pgid(self) -> int:
        return self.process.pid  # start_new_session made it the group leader

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 25) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 30.0) -> None:
        """SIGTERM to the group (Celery's warm shutdown finishes the running task), SIGKILL to
        whatever is left after `grace`."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)
        deadline = time.monotonic() + 5
        while group_pids({self.pgid}) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {name: os.environ[name] for name in PASSED_THROUGH if name in os.environ}
    env.setdefault("PATH", "/usr/bin:/bin")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def production_env(var_dir: Path) -> dict[str, str]:
    """bench/run.py's production configuration, on this benchmark's database and Redis db."""
    return child_env(
        {
            "DJANGO_SETTINGS_MODULE": "consentry.settings",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": secrets.token_urlsafe(48)[:50],
            "ALLOWED_HOSTS": HOST,
            "PUBLIC_URL": f"http://{HOST}",
            "TRUSTED_PROXIES": f"{HOST}/32",
            "COOKIE_SECURE": "false",
            "TRACKED_SITES": ",".join(site for site, _ in SITES),
            "VAR_DIR": str(var_dir),
        }
    )


def run_checked(argv: Sequence[str], *, env: dict[str, str], timeout: float, what: str) -> None:
    try:
        done = subprocess.run(
            list(argv),
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{what} took more than {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise BenchError(f"{what} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}")


def django_child(
    task: str, params: dict[str, Any], *, env: dict[str, str], run_dir: Path, timeout: float
) -> dict[str, Any]:
    """Run one of this file's Django-side steps (`child_main`) in a fresh interpreter under
    the benchmark's settings: the benchmark process itself never imports Django, so it can be
    imported by a caller that has Django set up for something else."""
    params_path, out_path = run_dir / f"{task}.in.json", run_dir / f"{task}.out.json"
    params_path.write_text(json.dumps(params))
    run_checked(
        [str(BIN / "python"), str(Path(__file__).resolve()), "--child", task],
        env={**env, "BENCH_CHILD_IN": str(params_path), "BENCH_CHILD_OUT": str(out_path)},
        timeout=timeout,
        what=f"the {task} step",
    )
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


# --------------------------------------------------------------------------------------------
# /proc: memory and CPU of what we started (Linux; read only)


def group_pids(pgids: set[int]) -> list[int]:
    """The live processes of these process groups."""
    return [pid for pid, (_, pgid, _) in _processes().items() if pgid in pgids]


def _processes() -> dict[int, tuple[str, int, float]]:
    """Every live process: pid -> (command, process group, CPU seconds used so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # the process ended meanwhile
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        found[int(entry.name)] = (command, int(fields[2]), used)
    return found


def _status_kib(pid: int, key: str) -> int:
    """A `kB` field of /proc/<pid>/status (VmRSS, VmHWM); 0 for a process that is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss_kib(pid: int) -> int:
    """Proportional set size: pages shared by the forked pool processes counted once overall."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _our_postgres(pid: int) -> bool:
    """A backend serving this benchmark's database, or a background process of the server (the
    WAL writer and checkpointer work for our inserts too); not another database's backend."""
    try:
        title = (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return False
    is_backend = "(" in title or "[local]" in title  # "user db 127.0.0.1(port) state"
    return f" {BENCH_DB} " in title or not is_backend


def _machine_busy_s() -> float:
    """CPU seconds the whole machine spent not idle since boot (interrupts included)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return (sum(ticks) - ticks[3] - ticks[4]) / CLOCK_TICKS
    return 0.0


@dataclass
class Watch:
    """Where the CPU went and how much memory the workers held, while they drained.

    CPU: the Celery workers (by process group), PostgreSQL (this database's backends and the
    server's background processes), Redis, this script, and "other" (the rest of the machine:
    other people's work). A process's time counts from the first look to the last one at which
    it was alive, so a backend that ends mid-drain keeps the time it used: Celery closes its
    database connection after every task, and each task gets a new backend.

    Memory: the sum of VmRSS over the workers' processes counts pages a forked pool process
    still shares with its parent once per process (an upper bound); PSS splits them, so its
    sum is what the workers really hold. VmRSS is read every sample (0.2 s); the process list,
    CPU, PSS and each process's own peak (VmHWM) once a second.
    """

    pgids: set[int] = field(default_factory=set)
    started: float = field(default_factory=time.monotonic)
    busy_at_start: float = field(default_factory=_machine_busy_s)
    first: dict[int, float] = field(default_factory=dict)  # pid -> CPU s at its first look
    last: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (part, CPU s)
    pids: list[int] = field(default_factory=list)  # the workers' processes
    peak_rss_kib: int = 0
    peak_pss_kib: int = 0
    hwm_kib: dict[int, int] = field(default_factory=dict)
    processes: int = 0
    _scanned: float = 0.0

    def __post_init__(self) -> None:
        self._scan(initial=True)

    def _part(self, pid: int, command: str, pgid: int) -> str | None:
        if pgid in self.pgids:
            return "celery"
        if pid == os.getpid():
            return "bench"
        if command == "postgres":
            return "postgres" if _our_postgres(pid) else None
        if command.startswith("redis-server"):
            return "redis"
        return None

    def _scan(self, *, initial: bool = False) -> None:
        self.pids = []
        for pid, (command, pgid, used) in _processes().items():
            if pid in self.last:
                part = self.last[pid][0]
            else:
                found = self._part(pid, command, pgid)
                if found is None:
                    continue
                part = found
                # Alive before the drain: only what it uses from now on is the drain's.
                self.first[pid] = used if initial else 0.0
            self.last[pid] = (part, used)
            if part == "celery":
                self.pids.append(pid)
        self.processes = max(self.processes, len(self.pids))
        self.peak_pss_kib = max(self.peak_pss_kib, sum(_pss_kib(p) for p in self.pids))
        for pid in self.pids:
            self.hwm_kib[pid] = max(self.hwm_kib.get(pid, 0), _status_kib(pid, "VmHWM"))
        self._scanned = time.monotonic()

    def sample(self, *, full: bool = False) -> None:
        if full or time.monotonic() - self._scanned >= 1.0:
            self._scan()
        self.peak_rss_kib = max(self.peak_rss_kib, sum(_status_kib(p, "VmRSS") for p in self.pids))

    def cores(self) -> dict[str, float]:
        """Average cores each part kept busy since the start; "busy" is the whole machine."""
        wall = time.monotonic() - self.started
        if wall <= 0:
            return {}
        cores: dict[str, float] = {}
        for pid, (part, used) in self.last.items():
            cores[part] = cores.get(part, 0.0) + max(0.0, used - self.first[pid]) / wall
        cores["busy"] = max(0.0, _machine_busy_s() - self.busy_at_start) / wall
        cores["other"] = max(0.0, cores["busy"] - sum(v for k, v in cores.items() if k != "busy"))
        return cores


def cpu_line(cores: dict[str, float]) -> str:
    parts = sorted(((v, k) for k, v in cores.items() if k != "busy" and v >= 0.01), reverse=True)
    named = ", ".join(f"{k} {v:.2f}" for v, k in parts)
    return f"{cores.get('busy', 0.0):.2f} of {os.cpu_count()} cores busy ({named})"


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine_busy(seconds: float = 1.0) -> float:
    """Cores busy on the whole machine over a short look, before we add our own load."""
    before = _machine_busy_s()
    time.sleep(seconds)
    return max(0.0, _machine_busy_s() - before) / seconds


# --------------------------------------------------------------------------------------------
# PostgreSQL and Redis


def database_recreate() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")


def database_drop() -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def redis_flush() -> None:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        client.flushdb()
    finally:
        client.close()


def _count(conn: psycopg.Connection[Any], sql: str, params: Sequence[object] = ()) -> int:
    row = conn.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# --------------------------------------------------------------------------------------------
# The events


@dataclass(frozen=True)
class Fixtures:
    """What the non-page events refer to; made by `child_fixtures` in the bench database."""

    recipient_tokens: list[str]  # tracked recipients: attributed opens and clicks
    pixel_tokens: list[str]  # the emails' shared pixels: opens counted in aggregate only
    link_ids: list[int]
    focus_ids: list[int]
    asset_ids: list[int]
    contact_ids: list[int]


def _device_id(rng: random.Random) -> str:
    # consent.gate.device_new_id: token_urlsafe(24), 32 characters
    return base64.urlsafe_b64encode(rng.getrandbits(192).to_bytes(24, "big")).decode()


@dataclass(frozen=True)
class Choice:
    """A weighted choice, drawn in bulk (random.choices with cumulative weights is the fast
    path) so that generating a million events takes seconds."""

    values: tuple[Any, ...]
    cum: tuple[float, ...]

    @classmethod
    def of(cls, weighted: Sequence[tuple[Any, float]]) -> Choice:
        total, cum = 0.0, []
        for _, weight in weighted:
            total += weight
            cum.append(total)
        return cls(tuple(v for v, _ in weighted), tuple(cum))

    def draw(self, rng: random.Random, k: int) -> list[Any]:
        return rng.choices(self.values, cum_weights=self.cum, k=k)


REFERRERS = Choice.of(
    [
        ("", 55),
        ("google.com", 24),
        ("bing.com", 3),
        ("duckduckgo.com", 3),
        ("facebook.com", 4),
        ("t.co", 2),
        ("linkedin.com", 2),
        ("news.ycombinator.com", 1),
        ("reddit.com", 2),
        ("mail.google.com", 2),
        ("partner.example.net", 2),
    ]
)
AGENTS = Choice.of(
    [
        (("desktop", "Chrome 131"), 27),
        (("mobile", "Chrome Mobile 131"), 19),
        (("mobile", "Mobile Safari 18"), 16),
        (("desktop", "Edge 131"), 9),
        (("desktop", "Safari 18"), 7),
        (("desktop", "Firefox 133"), 6),
        (("tablet", "Mobile Safari 18"), 4),
        (("mobile", "Samsung Internet 27"), 4),
        (("tablet", "Chrome 131"), 2),
        (("mobile", "Firefox Mobile 133"), 1),
        (("desktop", "Opera 115"), 1),
    ]
)
MACHINES = Choice.of(
    [
        (("bot", "Googlebot 2"), 40),
        (("bot", "bingbot 2"), 15),
        (("bot", "curl 8"), 10),
        (("bot", "HeadlessChrome 131"), 10),
        (("bot", "Python Requests 2"), 10),
        (("bot", ""), 15),
    ]
)
UTMS = (
    {"utm_source": "newsletter", "utm_medium": "email", "utm_campaign": "autumn-sale"},
    {"utm_source": "facebook", "utm_medium": "cpc", "utm_campaign": "retargeting"},
    {"utm_source": "google", "utm_medium": "cpc", "utm_campaign": "brand"},
    {"utm_source": "partner", "utm_medium": "referral", "utm_campaign": ""},
)
SECTIONS = ("blog", "products", "docs", "news", "help", "category", "guides", "careers")
LANGUAGES = ("en-GB", "en-US", "de-DE", "fr-FR", "nl-NL", "es-ES")
RESOLUTIONS = ("1920x1080", "1536x864", "2560x1440", "390x844", "412x915", "820x1180")


# event_enqueue's json.dumps(event, separators=(",", ":")), without building an encoder per call.
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode


class EventMaker:
    """Deterministic synthetic events (for a seed), each valid for its store. Times advance
    through the last 24 hours, as a live stream's would; ids are unique by construction (a
    random per-run prefix and the event's index), because the drain ignores a repeated id as a
    redelivery and colliding random ids would look like lost events."""

    def __init__(self, *, total: int, fixtures: Fixtures, seed: int, end: float) -> None:
        self.rng = random.Random(seed)
        self.total = total
        self.fixtures = fixtures
        self.start = end - SPAN_S
        self.step = SPAN_S / max(total, 1)
        prefix = f"{self.rng.getrandbits(64):016x}"
        # 8-4-4-4-12 with version 4 and the RFC 4122 variant; the last group is the index times
        # an odd number modulo 2**48 (a bijection): unique, yet scattered over the unique
        # index on event_id as random uuid4s are, not appended at its right edge.
        self.id_prefix = f"{prefix[:8]}-{prefix[8:12]}-4{prefix[12:15]}-8{prefix[15]}{prefix[:2]}-"
        self.id_factor = self.rng.getrandbits(48) | 1
        self.kinds = Choice.of(list(MIX.items()))
        self.paths = {site: [self._path(i) for i in range(PATHS_PER_SITE)] for site, _ in SITES}
        self.sites = Choice.of(SITES)
        self._visitors: dict[int, list[str]] = {}
        self._days: dict[int, str] = {}
        self.devices = [_device_id(self.rng) for _ in range(DEVICES)]
        self.pushed: Counter[str] = Counter()
        self.pushed_by_day: Counter[tuple[str, str]] = Counter()  # (day, kind)

    def _path(self, i: int) -> str:
        section = SECTIONS[i % len(SECTIONS)]
        return f"/{section}/{section[:3]}-item-{i}" if i else "/"

    def visitors(self, day: int) -> list[str]:
        """A day's visitor hashes (the salt changes every day, so do the hashes)."""
        if day not in self._visitors:
            bits = self.rng.getrandbits
            self._visitors[day] = [f"{bits(128):032x}" for _ in range(VISITORS_PER_DAY)]
        return self._visitors[day]

    def chunk(self, first: int, count: int) -> list[str]:
        """Events first..first+count-1, serialised as event_enqueue does."""
        rng = self.rng
        kinds = self.kinds.draw(rng, count)
        sites = self.sites.draw(rng, count)
        refs = REFERRERS.draw(rng, count)
        agents = AGENTS.draw(rng, count)
        out = []
        for n in range(count):
            i = first + n
            kind = kinds[n]
            ts = round(self.start + i * self.step + rng.random() * self.step, 3)
            scattered = (i * self.id_factor) & 0xFFFF_FFFF_FFFF
            event: dict[str, object] = {"id": f"{self.id_prefix}{scattered:012x}", "ts": ts}
            if kind in ("page", "machine", "identified"):
                self._page(event, kind, sites[n], refs[n], agents[n], ts)
            else:
                event["k"] = kind
                self._other(event, kind)
            self.pushed[kind] += 1
            self.pushed_by_day[(self._day(ts), kind)] += 1
            out.append(_ENCODE(event))
        return out

    def _day(self, ts: float) -> str:
        """The UTC day of a time, as the drain's _common computes it (cached: one per day)."""
        number = int(ts) // 86_400
        if number not in self._days:
            self._days[number] = dt.datetime.fromtimestamp(ts, tz=dt.UTC).date().isoformat()
        return self._days[number]

    def _page(
        self,
        event: dict[str, object],
        kind: str,
        site: str,
        refd: str,
        agent: tuple[str, str],
        ts: float,
    ) -> None:
        rng = self.rng
        # Skewed: a few pages and visitors account for most hits, as on a real site.
        path = self.paths[site][int(PATHS_PER_SITE * rng.random() ** 3)]
        day, into_day = divmod(int(ts), 86_400)
        who = int(VISITORS_PER_DAY * rng.random() ** 2)
        if kind == "machine":
            agent = MACHINES.draw(rng, 1)[0]
            refd = ""
        event.update(
            site=site,
            path=path,
            title=f"{path.rsplit('/', 1)[-1].replace('-', ' ').title() or 'Home'} | Example",
            refd=refd,
            dev=agent[0],
            br=agent[1],
            v=self.visitors(day)[who],
        )
        if rng.random() < 0.08:
            event.update(UTMS[rng.randrange(len(UTMS))])
        if into_day < SESSION_GAP_S:
            event["vp"] = self.visitors(day - 1)[who]
        if kind == "machine":
            event["m"] = 1
        elif kind == "identified":
            event.update(
                d=self.devices[int(DEVICES * rng.random() ** 2)],
                url=f"{site}{path}",
                ref=f"https://{refd}/" if refd else "",
                lang=LANGUAGES[rng.randrange(len(LANGUAGES))],
                res=RESOLUTIONS[rng.randrange(len(RESOLUTIONS))],
            )

    def _other(self, event: dict[str, object], kind: str) -> None:
        rng, fx = self.rng, self.fixtures
        machine = rng.random() < 0.1
        if kind == "open":
            # Opens with the per-recipient pixel (consented) or the shared one; some by proxies.
            tokens = fx.recipient_tokens if rng.random() < 0.6 else fx.pixel_tokens
            event.update(t=tokens[rng.randrange(len(tokens))], m=int(machine))
        elif kind == "click":
            attributed = not machine and rng.random() < 0.5
            token = fx.recipient_tokens[rng.randrange(len(fx.recipient_tokens))]
            event.update(
                l=fx.link_ids[rng.randrange(len(fx.link_ids))],
                r=token if attributed else "",
                m=int(machine),
            )
        else:
            ids = fx.focus_ids if kind == "focus" else fx.asset_ids
            event["f" if kind == "focus" else "a"] = ids[rng.randrange(len(ids))]
            if kind == "focus":
                event["a"] = "conversion" if rng.random() < 0.05 else "view"
            if machine:
                event["m"] = 1
            elif rng.random() < 0.3:
                event["d"] = self.devices[int(DEVICES * rng.random() ** 2)]
                if kind == "asset" and rng.random() < 0.3:
                    event["c"] = fx.contact_ids[rng.randrange(len(fx.contact_ids))]


@dataclass(frozen=True)
class Push:
    seconds: float  # generating, serialising and appending
    redis_s: float  # of which waiting for Redis (the pipelined XADDs)
    redis_mib: float  # Redis memory the stream took


def events_push(maker: EventMaker, *, timeout: float) -> Push:
    """Append all events with pipelined XADDs, a chunk per round trip."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=30)
    try:
        before = int(client.info("memory")["used_memory"])
        started, redis_s = time.monotonic(), 0.0
        for first in range(0, maker.total, PUSH_CHUNK):
            if time.monotonic() - started > timeout:
                raise BenchError(f"pushing took more than {timeout:.0f}s (at event {first})")
            payloads = maker.chunk(first, min(PUSH_CHUNK, maker.total - first))
            sending = time.monotonic()
            pipe = client.pipeline(transaction=False)
            for payload in payloads:
                pipe.xadd(STREAM, {"e": payload})
            pipe.execute()
            redis_s += time.monotonic() - sending
        seconds = time.monotonic() - started
        length = int(client.xlen(STREAM))
        if length != maker.total:
            raise BenchError(f"the stream holds {length} events, {maker.total} were pushed")
        after = int(client.info("memory")["used_memory"])
        return Push(seconds=seconds, redis_s=redis_s, redis_mib=(after - before) / MIB)
    finally:
        client.close()


# --------------------------------------------------------------------------------------------
# The drain


@dataclass
class Drain:
    seconds: float  # from the worker's start until the stream was empty
    first_commit_s: float  # from the worker's start until the first batch left the stream
    steady_rate: float  # events/s from then on: the drain without the workers' start-up
    quarter_rates: list[float]  # events/s over each quarter of the backlog
    cpu: dict[str, float]
    peak_rss_mib: float
    peak_pss_mib: float
    max_hwm_mib: float  # the largest single process's own peak RSS
    processes: int


def worker_argv(index: int, *, concurrency: int, run_dir: Path) -> list[str]:
    """bench/run.py's Celery command line; extra workers get their own node name and no beat
    (one beat per deployment)."""
    argv = [str(BIN / "celery"), "-A", "consentry", "worker"]
    if index == 0:
        argv += ["--beat", "--schedule", str(run_dir / "celerybeat-schedule")]
    else:
        argv += ["-n", f"pipeline{index}@%h"]
    return [*argv, "--concurrency", str(concurrency), "--loglevel", "warning"]


def drain_watch(
    workers: list[Service],
    *,
    argvs: Sequence[Sequence[str]],
    env: dict[str, str],
    log_dir: Path,
    total: int,
    timeout: float,
) -> Drain:
    """Start the workers (appended to `workers`, for the caller to stop) and wait for the
    stream to be empty. The drain deletes an entry only after its transaction committed, so an
    empty stream means every event is in PostgreSQL (or was dropped as malformed, which the
    row counts then show). Polls Redis only: counting rows meanwhile would load the database
    being measured."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=10)
    try:
        watch = Watch()  # its first look: before the workers exist
        started = time.monotonic()
        for index, argv in enumerate(argvs):
            workers.append(Service.start(f"celery-{index}", argv, env=env, log_dir=log_dir))
        watch.pgids = {w.pgid for w in workers}
        first_commit: float | None = None
        left_then = total  # the backlog when the first batch was seen committed
        marks = [total * q / 4 for q in (3, 2, 1, 0)]  # backlog at the end of each quarter
        reached: list[float] = []
        deadline = started + timeout
        while True:
            now = time.monotonic()
            for worker in workers:
                if not worker.alive():
                    raise BenchError(
                        f"{worker.name} exited with {worker.process.returncode}:\n"
                        f"{worker.log_tail()}"
                    )
            watch.sample()
            left = int(client.xlen(STREAM))
            if first_commit is None and left < total:
                first_commit, left_then = now - started, left
            while marks and left <= marks[0]:
                marks.pop(0)
                reached.append(now - started)
            if left == 0:
                break
            if now > deadline:
                raise BenchError(
                    f"the stream did not drain in {timeout:.0f}s: {left} of {total} events left"
                )
            time.sleep(0.2)
        seconds = time.monotonic() - started
        watch.sample(full=True)  # the last look: CPU, PSS and the high-water marks
        cpu = watch.cores()
        pending = client.xpending(STREAM, GROUP)
        if int(pending["pending"]) != 0:
            raise BenchError(f"{pending['pending']} events still pending after the drain")
    finally:
        client.close()
    quarters, previous = [], 0.0
    for at in reached:
        quarters.append(total / 4 / (at - previous) if at > previous else 0.0)
        previous = at
    return Drain(
        seconds=seconds,
        first_commit_s=first_commit or seconds,
        steady_rate=left_then / (seconds - first_commit) if first_commit else 0.0,
        quarter_rates=quarters,
        cpu=cpu,
        peak_rss_mib=watch.peak_rss_kib / 1024,
        peak_pss_mib=watch.peak_pss_kib / 1024,
        max_hwm_mib=max(watch.hwm_kib.values(), default=0) / 1024,
        processes=watch.processes,
    )


# --------------------------------------------------------------------------------------------
# Checks


@dataclass(frozen=True)
class RollupDay:
    day: str
    seconds: float
    rows: int  # DailyStat rows written
    hits: int  # page hits the day's rollup read (anonymous, machine and identified)
    peak_mib: float  # the rolling-up process's peak RSS so far (a worker's, under beat)


def stored_counts() -> dict[str, int]:
    with psycopg.connect(DB_URL, autocommit=True, connect_timeout=5) as conn:
        # The table names are this file's constants, never input.
        return {
            kind: _count(conn, f"SELECT count(*) FROM {table}")  # noqa: S608
            for kind, table in TABLES.items()
        }


def rollup_mismatches(maker: EventMaker, days: Sequence[str]) -> list[str]:
    """Each day's rollup totals against the rows stored and the events pushed for that day:
    anonymous people, machines, identified people, and everyone (people of both kinds)."""
    problems = []
    with psycopg.connect(DB_URL, autocommit=True, connect_timeout=5) as conn:
        for day in days:
            totals: dict[str, int] = dict(
                conn.execute(
                    # One total per site and audience: the sites add up.
                    "SELECT audience, sum(hits) FROM tracker_dailystat"
                    " WHERE day = %s AND dimension = 'total' GROUP BY audience",
                    (day,),
                ).fetchall()
            )
            paths = _count(
                conn,
                "SELECT sum(hits) FROM tracker_dailystat"
                " WHERE day = %s AND dimension = 'path' AND audience = 'anonymous'",
                (day,),
            )
            rows = {
                "anonymous": _count(
                    conn,
                    "SELECT count(*) FROM tracker_anonymoushit WHERE day = %s AND NOT machine",
                    (day,),
                ),
                "machine": _count(
                    conn,
                    "SELECT count(*) FROM tracker_anonymoushit WHERE day = %s AND machine",
                    (day,),
                ),
                "identified": _count(
                    conn, "SELECT count(*) FROM tracker_pagehit WHERE day = %s", (day,)
                ),
            }
            rows["all"] = rows["anonymous"] + rows["identified"]
            pushed = {
                "anonymous": maker.pushed_by_day[(day, "page")],
                "machine": maker.pushed_by_day[(day, "machine")],
                "identified": maker.pushed_by_day[(day, "identified")],
            }
            pushed["all"] = pushed["anonymous"] + pushed["identified"]
            for audience, stored in rows.items():
                rolled = int(totals.get(audience, 0))
                if not rolled == stored == pushed[audience]:
                    problems.append(
                        f"{day} {audience}: pushed {pushed[audience]}, stored {stored}, "
                        f"rolled up {rolled}"
                    )
            if paths != rows["anonymous"]:
                problems.append(f"{day}: anonymous hits by path add up to {paths}")
    return problems


# --------------------------------------------------------------------------------------------
# The result


@dataclass
class PipelineResult:
    events: int
    workers: int
    concurrency: int
    busy_before: float  # cores the machine was busy with before we started
    push: Push
    drain: Drain
    pushed: dict[str, int]
    stored: dict[str, int]
    rollups: list[RollupDay]
    rollup_every_s: float  # beat's schedule of rollup_days
    rollup_problems: list[str]
    total_s: float

    @property
    def lost_or_duplicated(self) -> dict[str, tuple[int, int]]:
        return {
            kind: (self.pushed.get(kind, 0), self.stored.get(kind, 0))
            for kind in TABLES
            if self.pushed.get(kind, 0) != self.stored.get(kind, 0)
        }

    @property
    def passed(self) -> bool:
        return not self.lost_or_duplicated and not self.rollup_problems

    @property
    def drain_rate(self) -> float:
        return self.events / self.drain.seconds if self.drain.seconds else 0.0

    def lines(self) -> list[str]:
        d, p = self.drain, self.push
        rolled = sum(r.hits for r in self.rollups)
        rollup_s = sum(r.seconds for r in self.rollups)
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        kinds = " · ".join(f"{k} {self.pushed.get(k, 0):,}" for k in TABLES)
        out = [
            f"Consentry pipeline benchmark · {now} · {cpu_model()} · {os.cpu_count()} cores · "
            f"Python {platform.python_version()}",
            f"events: {self.events:,} ({kinds})",
            f"push: {p.seconds:.1f}s, {self.events / p.seconds:,.0f} events/s (generating and "
            f"serialising them included; the pipelined XADDs, {PUSH_CHUNK:,} per round trip, "
            f"took {p.redis_s:.1f}s = {self.events / p.redis_s if p.redis_s else 0:,.0f}/s); "
            f"the stream took {p.redis_mib:,.0f} MiB in Redis",
            f"drain: {d.seconds:.1f}s from the worker's start to an empty stream = "
            f"{self.drain_rate:,.0f} events/s ({self.workers} worker(s) x concurrency "
            f"{self.concurrency}, with beat); first batch committed after "
            f"{d.first_commit_s:.1f}s, "
            + f"{d.steady_rate:,.0f} events/s after that"
            + "; by quarter of the backlog: "
            + " / ".join(f"{r:,.0f}" for r in d.quarter_rates)
            + f" events/s; target {TARGET_EVENTS_S:,}/s "
            + ("met" if self.drain_rate >= TARGET_EVENTS_S else "NOT met"),
            f"  CPU during the drain: {cpu_line(d.cpu)}",
            f"  worker memory: peak {d.peak_rss_mib:,.0f} MiB RSS summed over "
            f"{d.processes} processes (PSS {d.peak_pss_mib:,.0f} MiB); largest process "
            f"{d.max_hwm_mib:,.0f} MiB (VmHWM)",
            f"rollups: {rollup_s:.1f}s for {len(self.rollups)} day(s), "
            f"{rolled / rollup_s if rollup_s else 0:,.0f} page hits/s rolled up ("
            + ", ".join(
                f"{r.day}: {r.hits:,} hits in {r.seconds:.1f}s -> {r.rows:,} rows"
                for r in self.rollups
            )
            + f"); peak memory of the process rolling up "
            f"{max((r.peak_mib for r in self.rollups), default=0):,.0f} MiB",
            f"  beat's rollup_days recomputes today and yesterday every "
            f"{self.rollup_every_s:.0f}s: these took {rollup_s:.0f}s of it, so it "
            + ("keeps up" if rollup_s < self.rollup_every_s else "does NOT keep up")
            + f" with {rolled:,} page hits over the two days (at this rate, up to about "
            f"{rolled / rollup_s * self.rollup_every_s / 1e6 if rollup_s else 0:.1f} million)",
            "checks: "
            + (
                "rows == events pushed for every kind"
                if not self.lost_or_duplicated
                else "MISMATCH "
                + ", ".join(
                    f"{k}: pushed {a}, stored {b}" for k, (a, b) in self.lost_or_duplicated.items()
                )
            )
            + "; "
            + (
                "rollup totals == rows stored == pushed, each day and audience"
                if not self.rollup_problems
                else "ROLLUP MISMATCH " + "; ".join(self.rollup_problems)
            ),
            f"machine: {self.busy_before:.2f} cores busy with other work before the run, "
            f"{d.cpu.get('other', 0.0):.2f} during the drain"
            + (
                " (figures are low: run again on a quiet machine)"
                if d.cpu.get("other", 0.0) > OTHER_LOAD_LIMIT
                else ""
            )
            + f"; total run time {self.total_s:.0f}s",
            f"verdict: {'ok' if self.passed else 'FAILED'}",
        ]
        return out


# --------------------------------------------------------------------------------------------
# The run


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Handlers = dict[signal.Signals, Any]


def _signals_ignored() -> Handlers:
    """Ignore the stop signals (from the main thread only: signal handlers live there)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, signal.SIG_IGN) for signum in _STOP_SIGNALS}


def _signals_restore(handlers: Handlers) -> None:
    for signum, handler in handlers.items():
        signal.signal(signum, handler)


@contextlib.contextmanager
def exclusive_run() -> Iterator[bool]:
    """One pipeline benchmark at a time on a machine: two would drop each other's database and
    flush each other's Redis db. Yields False when another run holds the lock."""
    with (Path(tempfile.gettempdir()) / LOCK_NAME).open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True


def pipeline_bench(
    events: int,
    *,
    celery_workers: int = 1,
    concurrency: int = 2,
    seed: int = 20_250_101,
    push_timeout: float = 600.0,
    drain_timeout: float = 1_800.0,
    rollup_timeout: float = 900.0,
    keep_logs: bool = False,
) -> PipelineResult:
    """The whole benchmark (see the module's docstring). Raises BenchError when a step fails
    or another run holds the lock; a result whose `passed` is False means lost, duplicated or
    miscounted events."""
    if not 1 <= events <= 5_000_000:
        raise BenchError("events must be 1..5,000,000")
    if not (1 <= celery_workers <= 8 and 1 <= concurrency <= 16):
        raise BenchError("celery_workers must be 1..8 and concurrency 1..16")
    with exclusive_run() as alone:
        if not alone:
            raise BenchError(
                f"another pipeline benchmark is running on this machine (it owns {BENCH_DB} "
                f"and Redis db {REDIS_DB}): try again when it is done"
            )
        return _run(
            events,
            celery_workers=celery_workers,
            concurrency=concurrency,
            seed=seed,
            timeouts=(push_timeout, drain_timeout, rollup_timeout),
            keep_logs=keep_logs,
        )


def _run(
    events: int,
    *,
    celery_workers: int,
    concurrency: int,
    seed: int,
    timeouts: tuple[float, float, float],
    keep_logs: bool,
) -> PipelineResult:
    push_timeout, drain_timeout, rollup_timeout = timeouts
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="consentry-pipeline-"))
    workers: list[Service] = []
    ok = False
    try:
        busy_before = machine_busy()
        log(f"PostgreSQL: recreating {BENCH_DB}; Redis: flushing db {REDIS_DB}")
        database_recreate()
        redis_flush()
        (run_dir / "var").mkdir()
        env = production_env(run_dir / "var")
        log("manage.py migrate")
        run_checked(
            [str(BIN / "python"), "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            env=env,
            timeout=300,
            what="migrate",
        )
        log("creating the emails, links, focus items, assets, contacts and devices events name")
        # A random stream of their own: the event maker's devices never repeat these.
        devices_rng = random.Random(f"known-devices-{seed}")
        known_devices = [_device_id(devices_rng) for _ in range(KNOWN_DEVICES)]
        fixtures = Fixtures(
            **django_child(
                "fixtures",
                {"contacts": CONTACTS, "tracked": TRACKED_RECIPIENTS, "devices": known_devices},
                env=env,
                run_dir=run_dir,
                timeout=300,
            )
        )
        maker = EventMaker(total=events, fixtures=fixtures, seed=seed, end=time.time() - 60)
        # The first KNOWN_DEVICES identified browsers belong to contacts already; the rest are
        # new and created by the drain on first sight (devices_for).
        maker.devices[:KNOWN_DEVICES] = known_devices
        log(f"pushing {events:,} events into {STREAM} (Redis db {REDIS_DB})")
        push = events_push(maker, timeout=push_timeout)
        log(f"  {push.seconds:.1f}s, {events / push.seconds:,.0f} events/s")

        log(
            f"starting {celery_workers} Celery worker(s), concurrency {concurrency}, with beat;"
            " waiting for the stream to empty"
        )
        drain = drain_watch(
            workers,
            argvs=[
                worker_argv(i, concurrency=concurrency, run_dir=run_dir)
                for i in range(celery_workers)
            ],
            env=env,
            log_dir=run_dir,
            total=events,
            timeout=drain_timeout,
        )
        log(f"  {drain.seconds:.1f}s, {events / drain.seconds:,.0f} events/s")
        # Stopped before the rollups, so that beat's own rollup or the next drain cannot run
        # beside the measured one.
        for worker in workers:
            worker.stop()
        stored = stored_counts()

        days = sorted({day for day, _ in maker.pushed_by_day})
        log(f"rolling up {', '.join(days)}")
        outcome = django_child(
            "rollups", {"days": days}, env=env, run_dir=run_dir, timeout=rollup_timeout
        )
        rollups = [RollupDay(**r) for r in outcome["days"]]
        problems = rollup_mismatches(maker, days)
        ok = True
        return PipelineResult(
            events=events,
            workers=celery_workers,
            concurrency=concurrency,
            busy_before=busy_before,
            push=push,
            drain=drain,
            pushed=dict(maker.pushed),
            stored=stored,
            rollups=rollups,
            rollup_every_s=float(outcome["every_s"]),
            rollup_problems=problems,
            total_s=time.monotonic() - started,
        )
    finally:
        # A second Ctrl-C or SIGTERM must not cut the clean-up short; it is bounded in time.
        deferred = _signals_ignored()
        if not ok:
            for worker in workers:
                log(f"--- {worker.name} (last lines of {worker.log_path})\n{worker.log_tail()}")
        for worker in workers:
            worker.stop(grace=10.0)
        with contextlib.suppress(psycopg.Error):
            database_drop()
        with contextlib.suppress(redis.RedisError):
            redis_flush()
        if not ok or keep_logs:
            log(f"logs kept in {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
        _signals_restore(deferred)


# --------------------------------------------------------------------------------------------
# The Django side, run in a child interpreter (see django_child)


def child_fixtures(params: dict[str, Any]) -> dict[str, Any]:
    """An email sent to contacts (some consented to tracking) with two tracked links, focus
    items, assets, and devices that belong to contacts: what the non-page events name."""
    from consent.services import consent_grant
    from contacts.models import Contact, Device
    from emails.models import Email, EmailSend, Recipient, RecipientStatus, TrackedLink
    from focus.models import FocusItem
    from pages.models import Asset

    contacts = Contact.objects.bulk_create(
        [
            Contact(email=f"reader{i}@example.net", first_name=f"Reader {i}")
            for i in range(int(params["contacts"]))
        ]
    )
    Device.objects.bulk_create(
        [
            Device(public_id=public_id, contact=contacts[i % len(contacts)])
            for i, public_id in enumerate(params["devices"])
        ]
    )
    tracked = contacts[: int(params["tracked"])]
    for contact in tracked:
        consent_grant(contact=contact, source="bench")
    emails = [
        Email.objects.create(
            name=name, subject=name, from_email="news@shop.example.com", html="<p>Hello</p>"
        )
        for name in ("Autumn sale", "Monthly news")
    ]
    links = [
        TrackedLink.objects.create(email=email, url=f"https://shop.example.com/{slug}")
        for email in emails
        for slug in ("sale", "new-arrivals")
    ]
    send = EmailSend.objects.create(email=emails[0])
    recipients = Recipient.objects.bulk_create(
        [
            Recipient(send=send, contact=c, status=RecipientStatus.SENT, tracked=c in tracked)
            for c in contacts
        ]
    )
    focus = [
        FocusItem.objects.create(name=name, headline=name, button_url=url)
        for name, url in (
            ("Newsletter bar", ""),
            ("Sale banner", "https://shop.example.com/sale"),
            ("Webinar", "https://www.example.com/webinar"),
        )
    ]
    assets = [
        Asset.objects.create(
            title=title, slug=slug, file=f"assets/{slug}.pdf", original_name=f"{slug}.pdf"
        )
        for title, slug in (("Price list", "price-list"), ("Whitepaper", "whitepaper"))
    ]
    return {
        "recipient_tokens": [r.token for r in recipients if r.tracked],
        "pixel_tokens": [e.pixel_token for e in emails],
        "link_ids": [link.pk for link in links],
        "focus_ids": [item.pk for item in focus],
        "asset_ids": [asset.pk for asset in assets],
        "contact_ids": [c.pk for c in contacts],
    }


def child_rollups(params: dict[str, Any]) -> dict[str, Any]:
    """Each day's rollup, timed alone (tracker.rollups.rollup_day: what rollup_recent runs for
    today and yesterday)."""
    import resource

    from django.conf import settings

    from tracker.models import AnonymousHit, PageHit
    from tracker.rollups import rollup_day

    out = []
    for text in params["days"]:
        day = dt.date.fromisoformat(text)
        hits = (
            AnonymousHit.objects.filter(day=day).count() + PageHit.objects.filter(day=day).count()
        )
        started = time.perf_counter()
        rows = rollup_day(day=day)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
        out.append({"day": text, "seconds": seconds, "rows": rows, "hits": hits, "peak_mib": peak})
    every = settings.CELERY_BEAT_SCHEDULE["rollup-days"]["schedule"]
    assert isinstance(every, int | float), f"rollup-days runs on a {type(every).__name__}"
    return {"days": out, "every_s": float(every)}


CHILDREN = {"fixtures": child_fixtures, "rollups": child_rollups}


def child_main(task: str) -> int:
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    params = json.loads(Path(os.environ["BENCH_CHILD_IN"]).read_text())
    result = CHILDREN[task](params)
    Path(os.environ["BENCH_CHILD_OUT"]).write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=1_000_000, help="events (1,000,000)")
    parser.add_argument(
        "--celery-workers", type=int, default=1, help="Celery workers; the first runs beat (1)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="pool processes per worker (2, as run.py)"
    )
    parser.add_argument("--seed", type=int, default=20_250_101, help="of the synthetic events")
    parser.add_argument(
        "--drain-timeout", type=float, default=1_800.0, help="seconds the drain may take (1800)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the workers' logs")
    args = parser.parse_args(argv)
    if not 1 <= args.events <= 5_000_000:
        parser.error("--events must be 1..5,000,000")
    if not (1 <= args.celery_workers <= 8 and 1 <= args.concurrency <= 16):
        parser.error("--celery-workers must be 1..8 and --concurrency 1..16")
    if not 10 <= args.drain_timeout <= 3_600:
        parser.error("--drain-timeout must be 10..3600 (bounded runs)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"] and len(argv) == 2 and argv[1] in CHILDREN:
        return child_main(argv[1])
    args = parse_args(argv)
    # Also SIGTERM and SIGHUP: the clean-up in pipeline_bench must run whatever stops us.
    for signum in _STOP_SIGNALS:
        signal.signal(signum, _interrupt)
    try:
        result = pipeline_bench(
            args.events,
            celery_workers=args.celery_workers,
            concurrency=args.concurrency,
            seed=args.seed,
            drain_timeout=args.drain_timeout,
            keep_logs=args.keep_logs,
        )
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    print()
    print("\n".join(result.lines()))
    return 0 if result.passed else 1


if __name__ == "__main__":
    sys.exit(main())
