"""Where a hot path spends its time: the WSGI application called in-process, no server, no wrk.

    .venv/bin/python bench/inprocess.py                 # CPU per request, Consentry vs bare Django
    .venv/bin/python bench/inprocess.py --profile pixel # and a pyinstrument tree for one path
    .venv/bin/python bench/inprocess.py --path form --profile form  # the form submission

Each path is called as a WSGI server would call it (an environ dict, start_response, the body
iterated and closed), with a different visitor each time (X-Forwarded-For, user agent), against
the production configuration: PostgreSQL database `consentry_profile` (recreated and migrated,
dropped after; `--database` names another), Redis db 11 (flushed before and after;
`--redis-db`). The bare Django of bench/bare runs the same loop in a second process. Figures
are CPU microseconds per request of this process (time.process_time), so they hold up on a
machine that is doing other work too, unlike requests per second. Network waits on Redis and
PostgreSQL are not CPU and are not counted; the server (granian) is not part of either
figure. A form submission's CPU includes its queries' client side (the ORM, psycopg).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_PYTHON = REPO / ".venv" / "bin" / "python"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PROFILE_DB = "consentry_profile"
REDIS_URL = "redis://127.0.0.1:6379/11"
SITE = "http://bench.example"
# The form's id in the profiling database (set by the worker that creates it; 1 in a new one).
FORM_ID = 1
# What the identified and click paths pick from: bench/fixtures.py makes them in the Consentry
# worker, which writes them to VAR_DIR/fixtures.json, where the bare worker reads them.
FIXTURES: dict[str, Any] = {}
_FORM_SUCCESS = '{"ok": true, "message": "Thank you, we received your message.", "redirect": null}'

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/{v}.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:{v}.0) Gecko/20100101 Firefox/{v}.0",
)


def _visitor(rng: random.Random) -> dict[str, str]:
    agent = rng.choice(_AGENTS).format(v=rng.randint(112, 131), m=rng.randint(0, 6))
    ip = f"{rng.randint(11, 99)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    return {"HTTP_USER_AGENT": agent, "HTTP_X_FORWARDED_FOR": ip}


def _environ(
    method: str, path: str, query: str = "", *, body: bytes = b"", headers: dict[str, str]
) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }


def requests_for(name: str, rng: random.Random) -> dict[str, Any]:
    """One request of a benchmarked path, from a new visitor."""
    visitor = _visitor(rng)
    page = f"{SITE}/p/{rng.randint(1, 5000)}"
    if name == "pixel":
        return _environ("GET", "/mtracking.gif", f"page_url={page}", headers=visitor)
    if name == "event":
        body = json.dumps(
            {"type": "pageview", "page_url": page, "id": str(secrets.token_hex(16))}
        ).encode()
        return _environ(
            "POST",
            "/mtc/event",
            body=body,
            headers={"CONTENT_TYPE": "text/plain", "HTTP_ORIGIN": SITE, **visitor},
        )
    if name == "identified":
        cookie = rng.choice(FIXTURES["identified"])
        return _environ(
            "GET", "/mtracking.gif", f"page_url={page}", headers={"HTTP_COOKIE": cookie, **visitor}
        )
    if name == "click":
        target, _, query = rng.choice(FIXTURES["clicks"]).partition("?")
        return _environ("GET", target, query, headers=visitor)
    if name == "form":
        # As the embedded form's script sends it: each submission names a new contact.
        email = f"visitor.{secrets.token_hex(8)}%40bench.example"
        body = f"email={email}&first_name=Ada&message=Please+call+me+back.&cs_hp=".encode()
        return _environ(
            "POST",
            "/form/submit",
            f"formId={FORM_ID}",
            body=body,
            headers={
                "CONTENT_TYPE": "application/x-www-form-urlencoded",
                "HTTP_ORIGIN": SITE,
                "HTTP_REFERER": f"{SITE}/contact",
                "HTTP_ACCEPT": "application/json",
                **visitor,
            },
        )
    raise ValueError(name)


PATHS = ("pixel", "event", "identified", "click", "form")
_FIXTURED = ("identified", "click")


def _call(app: WSGIApp, environ: dict[str, Any]) -> str:
    status = ""

    def start_response(s: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        nonlocal status
        status = s

    body = app(environ, start_response)
    try:
        for _chunk in body:
            pass
    finally:
        close = getattr(body, "close", None)
        if close is not None:
            close()
    return status


def measure(app: WSGIApp, name: str, count: int, seed: int) -> dict[str, float]:
    rng = random.Random(seed)
    environs = [requests_for(name, rng) for _ in range(count)]
    for environ in environs[: count // 10]:  # warm: imports, connections, caches
        _call(app, environ)
    environs = [requests_for(name, rng) for _ in range(count)]
    started_cpu, started = time.process_time(), time.perf_counter()
    failed = 0
    for environ in environs:
        status = _call(app, environ)
        failed += not status.startswith(("200", "204", "302"))
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    return {"cpu_us": cpu / count * 1e6, "wall_us": wall / count * 1e6, "failed": failed}


def _cpu(result: dict[str, float]) -> float:
    return result["cpu_us"]


def worker(app_name: str, paths: list[str], count: int, profile: str | None) -> None:
    """Run inside the child process: load one application, measure, print JSON."""
    sys.path.insert(0, str(REPO))
    import django
    from django.conf import settings
    from django.utils.module_loading import import_string

    django.setup(set_prefix=False)
    # What the server serves: the project's WSGI_APPLICATION, not a plain Django handler.
    app: WSGIApp = import_string(settings.WSGI_APPLICATION)
    global FORM_ID
    fixtures_file = (
        Path(os.environ["BENCH_FIXTURES"])
        if "BENCH_FIXTURES" in os.environ
        else Path(settings.VAR_DIR) / "fixtures.json"
    )
    if app_name == "consentry" and any(p in _FIXTURED for p in paths):
        from bench.fixtures import fixtures_make

        made = fixtures_make()
        FORM_ID = int(made["form"][0].rsplit("=", 1)[1])
        fixtures_file.write_text(json.dumps(made))
    elif "form" in paths and app_name == "consentry":
        from bench.fixtures import form_make

        FORM_ID = form_make()
    if any(p in _FIXTURED for p in paths):
        FIXTURES.update(json.loads(fixtures_file.read_text()))
    # The best of three rounds: another process on the machine only ever adds time.
    results = {
        name: min((measure(app, name, count, seed=7 + r) for r in range(3)), key=_cpu)
        for name in paths
    }
    if profile and app_name == "consentry":
        from pyinstrument import Profiler

        rng = random.Random(11)
        environs = [requests_for(profile, rng) for _ in range(count)]
        profiler = Profiler(interval=0.0001)
        profiler.start()
        for environ in environs:
            _call(app, environ)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False), file=sys.stderr)
    print(json.dumps(results))


def _database_recreate(database: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {database}")


def _database_drop(database: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url, socket_timeout=5).flushdb()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=3000, help="requests per path (3000)")
    parser.add_argument("--path", action="append", choices=PATHS, help="paths (default all)")
    parser.add_argument("--profile", choices=PATHS, help="print a pyinstrument tree for a path")
    parser.add_argument(
        "--database", default=PROFILE_DB, help=f"database to recreate and drop ({PROFILE_DB})"
    )
    parser.add_argument("--redis-db", type=int, default=11, help="Redis db to flush (11)")
    parser.add_argument("--worker", choices=("consentry", "bare"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    paths = args.path or list(PATHS)
    if not 100 <= args.count <= 100_000:
        parser.error("--count must be 100..100000")
    if not args.database.isidentifier() or args.database in ("postgres", "template1"):
        parser.error("--database must be a plain name of a database this run may drop")
    if not 0 <= args.redis_db <= 15:
        parser.error("--redis-db must be 0..15")
    redis_url = REDIS_URL.rsplit("/", 1)[0] + f"/{args.redis_db}"
    if args.worker:
        worker(args.worker, paths, args.count, args.profile)
        return 0

    base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
    var_dir = Path(tempfile.mkdtemp(prefix="consentry-profile-"))
    (var_dir / "static").mkdir()
    consentry_env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "consentry.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{args.database}",
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48)[:50],
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_URL": "http://127.0.0.1:8000",
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "COOKIE_SECURE": "false",
        "TRACKED_SITES": SITE,
        "VAR_DIR": str(var_dir),
    }
    # The bare view answers the tracker's success body (bench/bare/urls.py reads it from here).
    fixtures = var_dir / "fixtures.json"
    fixtures.write_text(json.dumps({"form_success": _FORM_SUCCESS}))
    bare_env = {
        **base,
        "DJANGO_SETTINGS_MODULE": "bench.bare.settings",
        "BENCH_FIXTURES": str(fixtures),
    }
    _database_recreate(args.database)
    _redis_flush(redis_url)
    try:
        subprocess.run(
            [str(VENV_PYTHON), "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            cwd=REPO,
            env=consentry_env,
            check=True,
            timeout=300,
        )
        figures = {}
        for name, env in (("consentry", consentry_env), ("bare", bare_env)):
            argv = [str(VENV_PYTHON), __file__, "--worker", name, "--count", str(args.count)]
            argv += [a for p in paths for a in ("--path", p)]
            if args.profile:
                argv += ["--profile", args.profile]
            done = subprocess.run(
                argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
            )
            if done.returncode != 0:
                print(done.stdout, done.stderr, file=sys.stderr)
                return 2
            if done.stderr.strip():
                print(done.stderr)
            figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        _database_drop(args.database)
        _redis_flush(redis_url)
    print(f"CPU per request, in-process WSGI, {args.count} requests per path, new visitor each:")
    print(f"{'path':8} {'Consentry':>12} {'bare':>9} {'tracker adds':>13} {'failed':>7}")
    for name in paths:
        ours, bare = figures["consentry"][name], figures["bare"][name]
        print(
            f"{name:8} {ours['cpu_us']:>9.0f} µs {bare['cpu_us']:>6.0f} µs "
            f"{ours['cpu_us'] - bare['cpu_us']:>10.0f} µs {ours['failed']:>7.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
