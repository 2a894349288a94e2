"""Benchmark outgoing webhooks: how many events per second reach a receiver, and whether the hot
tracking path slows down while they are being sent.

`.venv/bin/python bench/webhooks.py` (options: --help):

1. the production configuration on the benchmarks' own resources (PostgreSQL database
   `consentry_bench`, Redis db 13, the lock of bench/run.py): gunicorn sync workers serving
   `consentry.wsgi`, a Celery worker with beat and its default prefork pool of 2 processes;
2. a receiver on loopback in its own process (a threaded HTTP server answering 204 at once and
   counting each webhook-id), whose own capacity is measured first with wrk;
3. N events (`webhooks_emit` with `Emission`s, in one transaction) to one endpoint that
   subscribes: the time from their commit until every delivery is succeeded, and every event
   id received, none twice (duplicates counted);
4. `GET /mtracking.gif` under wrk (bench/wrk/pixel.lua, as bench/run.py loads it) alone, then
   again while N more events are being delivered: both rates and their ratio;
5. steps 3 and 4 again with the Celery worker restarted under `nice -n 19` (--nice; 0 skips
   this round), its session's autogroup niced too (--plain-nice: not): deliveries are retried
   for hours, so a deployment may give the web workers the CPU first.

Prints one table naming the machine. Exits 1 when an event is lost or a delivery fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis

from bench.run import (
    BIN,
    HOST,
    REDIS_DB,
    REDIS_URL,
    REPO,
    WRK_DIR,
    BenchError,
    LoadConfig,
    Processes,
    Service,
    Store,
    WrkResult,
    _interrupt,
    cpu_model,
    database_drop,
    database_recreate,
    free_port,
    gunicorn_argv,
    log,
    production_env,
    run_alone,
    wait_http_ok,
    wrk_run,
)

EVENT_TYPE = "contact.created"
SUCCEEDED_SQL = "SELECT count(*) FROM webhooks_delivery WHERE status = 'succeeded'"
FINISHED_SQL = "SELECT count(*) FROM webhooks_delivery WHERE status <> 'pending'"
# wrk against the receiver alone: a POST with a webhook-id, as the worker sends.
RECEIVER_LUA = """
wrk.method = "POST"
wrk.body = '{"type":"probe"}'
wrk.headers["content-type"] = "application/json"
wrk.headers["webhook-id"] = "msg_probe"
"""


# --------------------------------------------------------------------------------------------
# The receiver (run in its own process: `bench/webhooks.py --serve PORT`)


def serve(port: int) -> None:
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            self.rfile.read(length)
            with lock:
                seen[self.headers.get("webhook-id", "")] += 1
            self.send_response(204)
            self.end_headers()

        def do_GET(self) -> None:
            with lock:
                body = json.dumps(dict(seen)).encode()
                if self.path == "/reset":
                    seen.clear()
            self.send_response(200)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    server.serve_forever()


def received(url: str, *, reset: bool = False) -> Counter[str]:
    with urllib.request.urlopen(f"{url}/{'reset' if reset else 'ids'}", timeout=10) as answer:
        return Counter(json.loads(answer.read()))


# --------------------------------------------------------------------------------------------
# The emission (run under the servers' environment: `bench/webhooks.py --emit N --url URL`)


def emit(count: int, url: str, out: Path) -> None:
    import uuid

    import django

    django.setup()
    from django.db import transaction

    from webhooks.models import Endpoint
    from webhooks.services import Emission, endpoint_create, webhooks_emit

    if not Endpoint.objects.filter(url=url).exists():
        endpoint_create(url=url, events=[EVENT_TYPE], description="benchmark receiver")
    ids = [uuid.uuid4() for _ in range(count)]
    with transaction.atomic():
        queued = webhooks_emit(
            [
                Emission(
                    type=EVENT_TYPE,
                    data={"contact": {"id": n, "email": f"bench{n}@example.com"}},
                    id=event_id,
                )
                for n, event_id in enumerate(ids)
            ]
        )
    committed = time.time()
    if queued != count:
        raise SystemExit(f"{queued} deliveries queued for {count} events")
    out.write_text(json.dumps({"committed": committed, "ids": [f"msg_{i.hex}" for i in ids]}))


# --------------------------------------------------------------------------------------------
# The run


def wrk_plain(procs: Processes, *, url: str, script: Path, seconds: int) -> float:
    """Requests per second wrk reports (the receiver's own capacity)."""
    argv = [shutil.which("wrk") or "/usr/bin/wrk", "-t2", "-c16", f"-d{seconds}s", "-s"]
    service = procs.start("wrk-receiver", [*argv, str(script), url], env=_env(), cwd=REPO)
    service.process.wait(timeout=seconds + 30)
    procs.services.remove(service)
    for line in service.log_path.read_text().splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise BenchError(f"wrk printed no rate:\n{service.log_path.read_text()[-2000:]}")


def _env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONUNBUFFERED": "1"}


class Emitted:
    def __init__(self, committed: float, ids: list[str]) -> None:
        self.committed = committed
        self.ids = ids


def emit_run(env: dict[str, str], *, count: int, url: str, run_dir: Path) -> Emitted:
    out = run_dir / f"emitted-{time.monotonic_ns()}.json"
    made = subprocess.run(
        [str(BIN / "python"), str(Path(__file__)), "--emit", str(count), "--url", url, str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if made.returncode != 0:
        raise BenchError(f"emission failed:\n{made.stdout[-2000:]}{made.stderr[-2000:]}")
    data = json.loads(out.read_text())
    return Emitted(float(data["committed"]), list(data["ids"]))


def wait_finished(store: Store, procs: Processes, *, total: int, timeout: float) -> float:
    """Wait until no delivery is pending; the wall clock (time.time()) then."""
    deadline = time.monotonic() + timeout
    while store.count(FINISHED_SQL) < total:
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(
                f"{store.count(FINISHED_SQL)} of {total} deliveries finished in {timeout:.0f}s"
            )
        time.sleep(0.05)
    return time.time()


def ids_check(url: str, emitted: list[str]) -> tuple[int, int, int]:
    """(lost, duplicates, strangers): ids never received, copies beyond the first, ids received
    that were not emitted."""
    seen = received(url)
    wanted = set(emitted)
    lost = sum(1 for i in wanted if seen[i] == 0)
    duplicates = sum(n - 1 for i, n in seen.items() if i in wanted and n > 1)
    strangers = sum(n for i, n in seen.items() if i not in wanted)
    return lost, duplicates, strangers


@dataclass
class Round:
    """One worker configuration: N events alone, the pixel alone, the pixel while N more fire."""

    alone_s: float
    quiet: WrkResult
    busy: WrkResult
    during: float  # deliveries per second while wrk ran
    pending_at_end: int
    busy_s: float
    ids: list[str]


def celery_start(
    procs: Processes, env: dict[str, str], *, args: argparse.Namespace, run_dir: Path, nice: int
) -> Service:
    argv = [
        str(BIN / "celery"),
        "-A",
        "consentry",
        "worker",
        "--beat",
        "--concurrency",
        str(args.concurrency),
        "--loglevel",
        "warning",
        "--schedule",
        str(run_dir / "celerybeat-schedule"),
    ]
    if nice:
        # `nice` execs celery in the same process, so the pool it forks inherits the niceness.
        argv = [shutil.which("nice") or "/usr/bin/nice", "-n", str(nice), *argv]
    service = procs.start(f"celery-nice-{nice}" if nice else "celery", argv, env=env, cwd=REPO)
    # With autogroups (kernel.sched_autogroup_enabled), each session is scheduled as one
    # group: a niceness ranks the worker only against its own session, and every service here
    # has a session of its own (as under systemd, where each unit is its own cgroup), so
    # `nice` alone gives the web workers almost nothing. The session's group is niced too,
    # unless --plain-nice.
    autogroup = Path(f"/proc/{service.process.pid}/autogroup")
    if nice and not args.plain_nice and autogroup.exists():
        autogroup.write_text(str(nice))
    time.sleep(1)
    if service.alive() and os.getpriority(os.PRIO_PROCESS, service.process.pid) != nice:
        raise BenchError(f"the Celery worker does not run at niceness {nice}")
    return service


def autogroup_of(pid: int) -> str:
    """A process's scheduling group and its niceness ("/autogroup-N nice K"), or "-"."""
    try:
        return Path(f"/proc/{pid}/autogroup").read_text().strip()
    except OSError:
        return "-"


def round_run(
    store: Store,
    procs: Processes,
    env: dict[str, str],
    *,
    args: argparse.Namespace,
    load: LoadConfig,
    base_url: str,
    hook_url: str,
    run_dir: Path,
    finished_before: int,
) -> Round:
    log(f"webhooks alone: {args.events:,} events")
    first = emit_run(env, count=args.events, url=hook_url, run_dir=run_dir)
    done = wait_finished(store, procs, total=finished_before + args.events, timeout=args.timeout)
    alone_s = done - first.committed

    log(f"pixel alone: wrk {args.warmup}s warm-up + {args.duration}s")
    nonce = os.urandom(4).hex()
    pixel = WRK_DIR / "pixel.lua"
    wrk_run(procs, name="wrk-warmup", base_url=base_url, script=pixel,
            seconds=args.warmup, load=load, nonce=nonce, store=None)  # fmt: skip
    quiet = wrk_run(procs, name="wrk-pixel", base_url=base_url, script=pixel,
                    seconds=args.duration, load=load, nonce=nonce, store=None)  # fmt: skip

    log(f"pixel while {args.events:,} more events are delivered")
    second = emit_run(env, count=args.events, url=hook_url, run_dir=run_dir)
    before = store.count(SUCCEEDED_SQL)
    started = time.time()
    busy = wrk_run(procs, name="wrk-pixel-busy", base_url=base_url, script=pixel,
                   seconds=args.duration, load=load, nonce=nonce, store=None)  # fmt: skip
    during = (store.count(SUCCEEDED_SQL) - before) / (time.time() - started)
    total = finished_before + 2 * args.events
    pending_at_end = total - store.count(FINISHED_SQL)
    done = wait_finished(store, procs, total=total, timeout=args.timeout)
    return Round(
        alone_s=alone_s,
        quiet=quiet,
        busy=busy,
        during=during,
        pending_at_end=pending_at_end,
        busy_s=done - second.committed,
        ids=first.ids + second.ids,
    )


def run(args: argparse.Namespace) -> int:
    run_dir = Path(tempfile.mkdtemp(prefix="consentry-bench-webhooks-"))
    procs = Processes(log_dir=run_dir)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    load = LoadConfig(args.threads, args.connections, args.duration, args.warmup, 0)
    load_start = " ".join(f"{n:.2f}" for n in os.getloadavg())
    ok = False
    try:
        log("PostgreSQL: recreating database consentry_bench; Redis: flushing db 13")
        database_recreate()
        redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
        port, receiver_port = free_port(), free_port()
        var_dir = run_dir / "var"
        (var_dir / "static").mkdir(parents=True)
        env = production_env(port=port, var_dir=var_dir)
        env["WEBHOOK_ALLOWED_NETWORKS"] = f"{HOST}/32"
        log("manage.py migrate")
        subprocess.run(
            [str(BIN / "python"), "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=300,
        )

        receiver_url = f"http://{HOST}:{receiver_port}"
        hook_url = f"{receiver_url}/hooks"
        procs.start(
            "receiver",
            [str(BIN / "python"), str(Path(__file__)), "--serve", str(receiver_port)],
            env=_env(),
            cwd=REPO,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                received(receiver_url)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BenchError("the receiver does not answer") from None
                time.sleep(0.1)
        script = run_dir / "receiver.lua"
        script.write_text(RECEIVER_LUA)
        log("the receiver alone under wrk (-t2 -c16, 3 s)")
        receiver_rps = wrk_plain(procs, url=hook_url, script=script, seconds=3)
        received(receiver_url, reset=True)

        log(f"starting Celery worker + beat (prefork, concurrency {args.concurrency})")
        celery = celery_start(procs, env, args=args, run_dir=run_dir, nice=0)
        log(f"starting gunicorn consentry.wsgi ({args.workers} sync workers) on port {port}")
        web = procs.start(
            "gunicorn-consentry",
            gunicorn_argv(
                "consentry.wsgi",
                config=REPO / "gunicorn.conf.py",
                port=port,
                workers=args.workers,
                run_dir=run_dir,
                threaded=False,
            ),
            env=env,
            cwd=REPO,
        )
        base_url = f"http://{HOST}:{port}"
        wait_http_ok(web, f"{base_url}/healthz")
        time.sleep(3)  # the worker's pool and beat up

        rounds: list[tuple[int, Round]] = []
        niced_group = "-"
        with Store.open() as store:
            rounds.append((0, round_run(store, procs, env, args=args, load=load,
                                        base_url=base_url, hook_url=hook_url, run_dir=run_dir,
                                        finished_before=0)))  # fmt: skip
            if args.nice:
                log(f"restarting the Celery worker under nice -n {args.nice}")
                procs.services.remove(celery)
                procs.stop(celery)
                celery = celery_start(procs, env, args=args, run_dir=run_dir, nice=args.nice)
                niced_group = autogroup_of(celery.process.pid)
                time.sleep(3)  # the worker's pool and beat up
                rounds.append((args.nice, round_run(store, procs, env, args=args, load=load,
                                                    base_url=base_url, hook_url=hook_url,
                                                    run_dir=run_dir,
                                                    finished_before=2 * args.events)))  # fmt: skip
            emitted = [i for _, r in rounds for i in r.ids]
            total_ok = store.count(SUCCEEDED_SQL)
            lost, dup, strange = ids_check(receiver_url, emitted)
            attempts = store.count("SELECT count(*) FROM webhooks_attempt")
            procs.check_alive()
        ok = True
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        log("stopping everything the benchmark started")
        if not ok:
            for service in procs.services:
                log(f"--- {service.name} (last lines of {service.log_path})\n{service.log_tail()}")
        procs.stop_all()
        with contextlib.suppress(Exception):
            database_drop()
        with contextlib.suppress(Exception):
            redis.Redis.from_url(REDIS_URL, socket_timeout=5).flushdb()
        if ok and not args.keep_logs:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:
            log(f"logs kept in {run_dir}")

    def pixel_cell(r: WrkResult) -> str:
        return f"{r.rps:,.0f} req/s, p99 {r.p99_ms:.1f} ms, {r.errors} errors"

    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(
        f"Consentry webhooks benchmark · {now} · {cpu_model()} · {os.cpu_count()} cores · "
        f"Python {sys.version.split()[0]}"
    )
    print(
        f"gunicorn {args.workers} sync workers · Celery 1 worker (prefork {args.concurrency}) "
        f"+ beat · wrk -t{args.threads} -c{args.connections} -d{args.duration}s · PostgreSQL, "
        f"Redis db {REDIS_DB} · load average {load_start} at the start"
    )
    rows: list[tuple[str, str]] = [("receiver alone (wrk POST, 204)", f"{receiver_rps:,.0f} req/s")]
    for nice, r in rounds:
        prefix = f"nice -n {nice}: " if nice else ""
        if nice:
            rows.append(
                (
                    f"Celery worker under nice -n {nice}",
                    f"its session's autogroup: {niced_group}; gunicorn and PostgreSQL at 0",
                )
            )
        rows += [
            (
                f"{prefix}webhooks alone: {args.events:,} events",
                f"{r.alone_s:.1f} s, {args.events / r.alone_s:,.0f} events/s delivered",
            ),
            (f"{prefix}pixel alone", pixel_cell(r.quiet)),
            (f"{prefix}pixel while webhooks fire", pixel_cell(r.busy)),
            ("  ratio (while ÷ alone)", f"{r.busy.rps / r.quiet.rps:.2f}" if r.quiet.rps else "-"),
            (
                f"{prefix}webhooks during the pixel load",
                f"{r.during:,.0f} events/s ({r.pending_at_end:,} still pending when wrk stopped)",
            ),
            (
                f"{prefix}webhooks under load: {args.events:,} events",
                f"{r.busy_s:.1f} s, {args.events / r.busy_s:,.0f} events/s delivered",
            ),
        ]
    rows.append(
        (
            f"received ({len(rounds) * 2} rounds)",
            f"{total_ok:,} of {len(emitted):,} succeeded, lost {lost}, duplicates {dup}, "
            f"unknown ids {strange}, {attempts:,} attempts",
        )
    )
    width = max(len(label) for label, _ in rows)
    print(f"| {'measure':<{width}} | result |")
    print(f"| {'-' * width} | --- |")
    for label, value in rows:
        print(f"| {label:<{width}} | {value} |")
    bad = lost or strange or total_ok != len(emitted)
    if bad:
        print("WEBHOOK MISMATCH: an event was lost, failed or unknown")
    return 1 if bad else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    cores = os.cpu_count() or 1
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5000, help="events per round (5000)")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery pool processes (2)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of pixel load (10)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up (2)")
    parser.add_argument("--workers", type=int, default=2 * cores, help="gunicorn workers")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per round (600)")
    parser.add_argument(
        "--nice", type=int, default=19, help="niceness of the Celery worker's round (19; 0: none)"
    )
    parser.add_argument(
        "--plain-nice",
        action="store_true",
        help="nice the worker's processes only, not its session's autogroup",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the service logs")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--emit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("out", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not (1 <= args.events <= 1_000_000 and 1 <= args.duration <= 120 and 0 <= args.nice <= 19):
        parser.error("--events must be 1..1,000,000, --duration 1..120 and --nice 0..19")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    if args.emit:
        emit(args.emit, args.url, Path(args.out))
        return 0
    return run_alone(run, args)


if __name__ == "__main__":
    raise SystemExit(main())
