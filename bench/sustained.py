"""The sustained rate: the highest rate of page events the whole production stack holds on this
machine, open loop, with the stream's backlog flat and p99 under 100 ms.

    .venv/bin/python bench/sustained.py                       # about 10 minutes
    .venv/bin/python bench/sustained.py --start 1500 --step 1.2 --seconds 60

It starts the stack as bench/run.py does, on the same resources (PostgreSQL database
`consentry_bench`, Redis db 13, the lock): the production line (`scripts/serve`), a Celery
worker with beat (the drain every second, the rollups every five minutes), PostgreSQL and Redis,
all on the same cores as the load. Then it offers `POST /mtc/event`, the tracking script's page
event, at fixed rates (`bench/wrk/paced.lua`: evenly spaced requests whatever the latency, from
many distinct visitors), each for `--seconds` after a 5 s ramp at that rate. A rate holds when:

- wrk delivered at least 97 % of it, with no error;
- p99 latency stayed under 100 ms;
- the backlog stayed flat: sampled every second, its mean over the last tenth of the window was
  no more than one second's worth of events above its mean over the first tenth, and it never
  held more than five seconds' worth;
- after the load, PostgreSQL holds one row per answered event, none twice (bench/run.py's
  check).

Rates rise by `--step` from `--start` until one fails; the answer is the highest that held.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import secrets
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.run import (
    PATHS,
    PRODUCTION_SERVER,
    WRK_DIR,
    BenchError,
    Check,
    LoadConfig,
    Processes,
    Store,
    WrkResult,
    _interrupt,
    cpu_line,
    cpu_model,
    default_workers,
    log,
    run_alone,
    server_line,
    smoke_test,
    stack_start,
    teardown,
    wait_drained,
    wrk_run,
)

EVENT = next(path for path in PATHS if path.script == "event.lua")
RAMP_S = 5
P99_LIMIT_MS = 100.0
DELIVERED = 0.97  # of the rate offered
TARGET = 5_000  # page events/s (bench/README.md, Targets)


@dataclass
class Trial:
    rate: int
    result: WrkResult
    check: Check
    backlog: list[int]  # one sample a second over the measured window

    @property
    def delivered(self) -> float:
        return self.result.rps / self.rate

    @property
    def flat(self) -> bool:
        # The drain takes the stream once a second, so single samples swing by up to a second's
        # worth: compare the first and last tenths of the window.
        if len(self.backlog) < 10:
            return False
        tenth = len(self.backlog) // 10
        first = sum(self.backlog[:tenth]) / tenth
        last = sum(self.backlog[-tenth:]) / tenth
        return last - first <= self.rate and max(self.backlog) <= 5 * self.rate

    @property
    def holds(self) -> bool:
        return (
            self.delivered >= DELIVERED
            and self.result.errors == 0
            and self.result.p99_ms < P99_LIMIT_MS
            and self.flat
            and self.check.passed
        )

    def line(self) -> str:
        backlog = (
            f"backlog {self.backlog[0]:,} -> {self.backlog[-1]:,} (peak {max(self.backlog):,})"
            if self.backlog
            else "backlog not sampled"
        )
        return (
            f"{self.rate:,}/s offered: {self.result.rps:,.0f}/s delivered "
            f"({self.delivered:.0%}), p99 {self.result.p99_ms:.1f} ms, "
            f"{self.result.errors} errors, {backlog}, "
            f"{'stored once each' if self.check.passed else 'PIPELINE MISMATCH'}: "
            + ("holds" if self.holds else "does NOT hold")
        )


def trial(
    procs: Processes, store: Store, base_url: str, *, rate: int, seconds: int, load: LoadConfig
) -> Trial:
    env = {"BENCH_RATE": str(rate), "BENCH_THREADS": str(load.threads), "BENCH_SCRIPT": "event.lua"}
    script = WRK_DIR / "paced.lua"
    wrk_run(
        procs,
        name="wrk-ramp",
        base_url=base_url,
        script=script,
        seconds=RAMP_S,
        load=load,
        nonce=secrets.token_hex(4),
        store=None,
        env=env,
    )
    # The ramp's events are drained before the count starts: each answered event of the
    # measured window must then be one new row.
    wait_drained(store, rows_sql=EVENT.rows, since=time.monotonic(), timeout=300)
    before = store.count(EVENT.rows)
    nonce = secrets.token_hex(4)
    backlog: list[int] = []
    result = wrk_run(
        procs,
        name="wrk-sustained",
        base_url=base_url,
        script=script,
        seconds=seconds,
        load=load,
        nonce=nonce,
        store=store,
        env=env,
        backlog=backlog,
    )
    drain = wait_drained(store, rows_sql=EVENT.rows, since=time.monotonic(), timeout=300)
    check = Check(
        label=f"{rate}/s",
        ok=result.ok,
        in_flight=result.in_flight,
        stored=drain.rows - before,
        tagged=store.count(EVENT.tagged, {"p": nonce + "%"}) if EVENT.tagged else None,
        wrong_kind=None,
        drain_s=drain.seconds,
        peak_backlog=result.peak_backlog,
        end_backlog=result.end_backlog,
    )
    done = Trial(rate=rate, result=result, check=check, backlog=backlog)
    log(f"  {done.line()}")
    log(f"  CPU: {cpu_line(result.cpu)}")
    return done


def run(args: argparse.Namespace) -> int:
    # wrk's connections bound the rate a closed loop could reach: with 256 of them and a
    # 100 ms answer, 2,560/s; the paced script only waits for its slots, so any rate up to
    # connections / latency can be offered.
    load = LoadConfig(2, args.connections, args.seconds, RAMP_S, 0.0)
    started = time.monotonic()
    run_dir = Path(tempfile.mkdtemp(prefix="consentry-sustained-"))
    procs = Processes(log_dir=run_dir)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    workers = default_workers(PRODUCTION_SERVER)
    trials: list[Trial] = []
    outcome = "failed"
    try:
        stack = stack_start(procs, server=PRODUCTION_SERVER, workers=workers, run_dir=run_dir)
        with Store.open() as store:
            smoke_test(procs, store, stack)
            rate = args.start
            for _ in range(args.max_trials):
                log(f"offering {rate:,} page events/s for {args.seconds}s (after a {RAMP_S}s ramp)")
                trials.append(
                    trial(
                        procs,
                        store,
                        stack.consentry_url,
                        rate=rate,
                        seconds=args.seconds,
                        load=load,
                    )
                )
                procs.check_alive()
                if not trials[-1].holds:
                    break
                rate = int(rate * args.step)
        outcome = "ok"
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 2
    except KeyboardInterrupt:
        outcome = "interrupted"
        return 130
    finally:
        teardown(procs, outcome=outcome, run_dir=run_dir)

    held = [t for t in trials if t.holds]
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(
        f"Consentry sustained-rate benchmark · {now} · {cpu_model()} · {os.cpu_count()} cores · "
        f"Python {platform.python_version()}"
    )
    print(
        f"POST /mtc/event, open loop, {args.seconds}s per rate after a {RAMP_S}s ramp, "
        f"{args.connections} connections · {server_line(PRODUCTION_SERVER, workers)} · Celery "
        "worker with beat (concurrency 2) · PostgreSQL and Redis on the same cores"
    )
    for done in trials:
        print(f"  {done.line()}")
    best = max((t.rate for t in held), default=0)
    verdict = "met" if best >= TARGET else "NOT MET"
    print(f"Sustained: {best:,} page events/s (target {TARGET:,}/s: {verdict})")
    print(f"Total run time: {time.monotonic() - started:.0f}s")
    if any(not t.check.passed for t in trials):
        print("!! PIPELINE MISMATCH: events were lost or duplicated")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--start", type=int, default=1000, help="the first rate offered (1000/s)")
    parser.add_argument(
        "--step", type=float, default=1.25, help="each next rate is this times the last (1.25)"
    )
    parser.add_argument("--seconds", type=int, default=60, help="seconds per rate (60)")
    parser.add_argument("--connections", type=int, default=256, help="wrk connections (256)")
    parser.add_argument("--max-trials", type=int, default=12, help="at most this many rates (12)")
    args = parser.parse_args(argv)
    if not (100 <= args.start <= 100_000 and 1.05 <= args.step <= 3 and 10 <= args.seconds <= 300):
        parser.error("--start 100..100000, --step 1.05..3, --seconds 10..300")
    if not (2 <= args.connections <= 4096 and 1 <= args.max_trials <= 30):
        parser.error("--connections 2..4096, --max-trials 1..30")
    return run_alone(run, args)


if __name__ == "__main__":
    sys.exit(main())
