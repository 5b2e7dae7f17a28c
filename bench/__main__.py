"""``python -m bench`` (``make bench``): run the benchmarks and write their results to docs/benchmarks.md.

Sizes are options (``make bench BENCH_ARGS="--orders 100 --only ingest"``); defaults keep the first four
near six minutes on a 2-core machine, the backfill near two and the scale run (the issue's 10,000 orders
against 1,000) five to ten.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from datetime import UTC, datetime

from bench.report import write_results
from bench.stack import ROOT, Stack

BENCHMARKS = ("ingest", "throughput", "budget", "feed", "backfill", "scale")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only this benchmark (repeatable)")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn processes (WEB_WORKERS), default 2")
    parser.add_argument("--web-threads", type=int, default=2, help="gunicorn threads each (WEB_THREADS), default 2")
    group = parser.add_argument_group("1. webhook ingest")
    group.add_argument("--connections", type=int, default=16, help="concurrent connections, default 16")
    group.add_argument("--duration", type=float, default=15, help="seconds measured per endpoint, default 15")
    group.add_argument("--warmup", type=float, default=3, help="seconds of warm-up per endpoint, default 3")
    group.add_argument(
        "--rounds", type=int, default=3, help="alternating rounds of the bare view and the webhook, default 3"
    )
    group = parser.add_argument_group("2. sync throughput")
    group.add_argument("--orders", type=int, default=100, help="full orders synced, default 100")
    group.add_argument("--workers", type=int, default=4, help="RQ workers, default 4")
    group.add_argument("--noop-jobs", type=int, default=800, help="no-op jobs for the baseline, default 800")
    group = parser.add_argument_group("3. VTEX budget")
    group.add_argument("--rate", type=int, default=4, help="R: VTEX requests/s per route allowed, default 4")
    group.add_argument("--budget-orders", type=int, default=40, help="full orders queued, default 40")
    group.add_argument("--budget-workers", type=int, default=4, help="RQ workers, default 4")
    group = parser.add_argument_group("4. feed poller")
    group.add_argument("--events", type=int, default=1000, help="feed events read by each side, default 1000")
    group.add_argument(
        "--feed-rounds",
        type=int,
        default=9,
        help="alternating rounds of the bare loop and the poller, default 9 (the events are split over them)",
    )
    group = parser.add_argument_group("5. bulk backfill")
    group.add_argument("--backfill-orders", type=int, default=100, help="VTEX orders the backfill imports, default 100")
    group.add_argument("--backfill-workers", type=int, default=4, help="RQ workers, default 4")
    group.add_argument(
        "--backfill-webhooks", type=int, default=15, help="linked orders delivered before the run, default 15"
    )
    group.add_argument(
        "--backfill-interval",
        type=float,
        default=3.0,
        help="seconds between two deliveries of linked orders, before and during the run, default 3",
    )
    group = parser.add_argument_group("6. bulk scale")
    group.add_argument("--scale-orders", type=int, default=10000, help="linked orders of the large run, default 10000")
    group.add_argument("--scale-base", type=int, default=1000, help="linked orders of the small run, default 1000")
    group.add_argument("--scale-workers", type=int, default=2, help="RQ workers, default 2")
    group.add_argument(
        "--scale-timeout", type=float, default=900, help="longest wait for one reconciliation, seconds, default 900"
    )
    parser.add_argument("--timeout", type=float, default=150, help="longest wait for the orders to sync, seconds")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    selected = args.only or list(BENCHMARKS)
    started = time.monotonic()
    stack = Stack()
    results: dict[str, dict] = {}
    failures: dict[str, str] = {}
    web = {"web_workers": args.web_workers, "web_threads": args.web_threads}
    try:
        stack.setup_django()
        from bench import budget, bulk_backfill, bulk_scale, feed, ingest, throughput

        plans = {
            "ingest": lambda: ingest.run(
                stack,
                duration=args.duration,
                warmup=args.warmup,
                connections=args.connections,
                rounds=args.rounds,
                **web,
            ),
            "throughput": lambda: throughput.run(
                stack, orders=args.orders, workers=args.workers, noop_jobs=args.noop_jobs, timeout=args.timeout, **web
            ),
            "budget": lambda: budget.run(
                stack,
                rate=args.rate,
                orders=args.budget_orders,
                workers=args.budget_workers,
                timeout=args.timeout,
                **web,
            ),
            "feed": lambda: feed.run(stack, events=args.events, timeout=args.timeout, rounds=args.feed_rounds),
            "backfill": lambda: bulk_backfill.run(
                stack,
                orders=args.backfill_orders,
                workers=args.backfill_workers,
                webhooks=args.backfill_webhooks,
                interval=args.backfill_interval,
                timeout=args.timeout,
                **web,
            ),
            "scale": lambda: bulk_scale.run(
                stack,
                orders=args.scale_orders,
                base=args.scale_base,
                workers=args.scale_workers,
                timeout=args.scale_timeout,
            ),
        }
        for name in selected:
            print(f"== {name}", flush=True)
            began = time.monotonic()
            try:
                results[name] = plans[name]()
            except Exception as exc:  # one broken benchmark must not hide the others' results
                traceback.print_exc()
                failures[name] = f"{type(exc).__name__}: {exc}"
            print(f"   {name} took {time.monotonic() - began:.0f}s: {results.get(name) or failures[name]}", flush=True)
    finally:
        stack.close()
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": len(os.sched_getaffinity(0)),
        "python": sys.version.split()[0],
        "seconds": time.monotonic() - started,
        "database": "PostgreSQL (DATABASE_URL)" if stack.postgres else "SQLite (temporary file, WAL)",
        "command": "make bench" + (f' BENCH_ARGS="{" ".join(argv)}"' if argv else ""),
    }
    text = write_results(ROOT / "docs" / "benchmarks.md", meta, results, failures, write=not args.no_write)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
