"""Benchmark 1: webhook ingest under gunicorn vs a bare Django JSON view in the same server.

Both endpoints get the same load from the same generator (wrk with bench/wrk_post.lua, or a Python
thread generator when wrk is missing): ``connections`` keep-alive connections for ``duration`` seconds,
each POSTing VARIO's body for a delivery note with a valid app token.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.stack import Stack
from sandbox.harness import VARIO_APP_IDENTIFIER, VARIO_CLIENT_SECRET

EVENT = "document.customer_delivery_document.order_to_delivery"
BODY = json.dumps({"id": 20044})  # what VARIO sends for this event (reference/vario-erp.md §4.4)
LUA = Path(__file__).with_name("wrk_post.lua")


@dataclass
class Load:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int  # non-2xx answers and socket errors

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def ensure_wrk() -> str | None:
    """wrk's path; installs Debian's package when running as root with apt-get, else None (Python fallback)."""
    found = shutil.which("wrk")
    if found or os.environ.get("BENCH_NO_WRK"):
        return None if os.environ.get("BENCH_NO_WRK") else found
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        print("  installing wrk (apt-get install -y wrk) ...", flush=True)
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "wrk"],  # noqa: S607 - Debian's apt-get from PATH
                check=False,
                timeout=180,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
    return shutil.which("wrk")


def wrk_load(wrk: str, url: str, *, token: str, connections: int, duration: float, threads: int) -> Load:
    env = {**os.environ, "BENCH_BODY": BODY, "BENCH_TOKEN": token}
    result = subprocess.run(  # noqa: S603 - our own arguments
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(round(duration), 1)}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            url,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=duration + 60,
        check=False,
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no summary: {result.stdout[-2000:]} {result.stderr[-2000:]}")
    data = json.loads(line[len("BENCH_JSON ") :])
    errors = sum(data[k] for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts"))
    return Load(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=errors,
    )


def python_load(url: str, *, token: str, connections: int, duration: float) -> Load:
    """The fallback generator: one thread per keep-alive connection (much heavier than wrk on the client side)."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections
    stop_at = time.perf_counter() + duration

    def run(index: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                conn.request("POST", parts.path, body=BODY, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                ok = False
            latencies[index].append(time.perf_counter() - started)
            errors[index] += not ok
        conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    ordered = sorted(x for per in latencies for x in per)
    if not ordered:
        return Load(0, seconds, 0, 0, 0, sum(errors))
    return Load(
        requests=len(ordered),
        seconds=seconds,
        p50_ms=ordered[len(ordered) // 2] * 1000,
        p99_ms=ordered[min(int(len(ordered) * 0.99), len(ordered) - 1)] * 1000,
        max_ms=ordered[-1] * 1000,
        errors=sum(errors),
    )


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def run(
    stack: Stack,
    *,
    duration: float,
    warmup: float,
    connections: int,
    web_workers: int,
    web_threads: int,
    rounds: int = 3,
):
    """``rounds`` alternations of bare then webhook, ``duration / rounds`` seconds each.

    A shared 2-core machine drifts by a factor of two within a minute; alternating short rounds and
    taking the median of the per-round figures keeps that drift out of the ratio.
    """
    import jwt
    import requests

    from sync.models import InboxEvent

    stack.reset_state()
    web, url = stack.start_web(workers=web_workers, threads=web_threads, BENCH_VIEWS="1")
    try:
        token = jwt.encode(
            {"aud": VARIO_APP_IDENTIFIER, "exp": int(time.time()) + 3600}, VARIO_CLIENT_SECRET, algorithm="HS256"
        )
        targets = {"bare": f"{url}/_bench/bare/{EVENT}", "webhook": f"{url}/webhooks/vario/{EVENT}"}
        for name, target in targets.items():  # both must answer 200 before they are measured
            answer = requests.post(target, data=BODY, headers={"Authorization": f"Bearer {token}"}, timeout=10)
            if answer.status_code != 200:
                raise RuntimeError(f"{name} answered {answer.status_code}: {answer.text[:300]}")
        wrk = ensure_wrk()
        generator = f"wrk ({wrk}, 2 threads)" if wrk else "Python threads (wrk unavailable)"

        def load(target: str, seconds: float) -> Load:
            if wrk:
                return wrk_load(wrk, target, token=token, connections=connections, duration=seconds, threads=2)
            return python_load(target, token=token, connections=connections, duration=seconds)

        for target in targets.values():
            load(target, warmup)
        stored_before = InboxEvent.objects.count()
        per_round = [{name: load(target, duration / rounds) for name, target in targets.items()} for _ in range(rounds)]
        stored = InboxEvent.objects.count() - stored_before
        queued = stack.redis_client().llen("rq:queue:default")
    finally:
        stack.stop(web)
    ratios = [r["webhook"].rps / r["bare"].rps if r["bare"].rps else 0.0 for r in per_round]
    totals = {
        name: Load(
            requests=sum(r[name].requests for r in per_round),
            seconds=sum(r[name].seconds for r in per_round),
            p50_ms=_median([r[name].p50_ms for r in per_round]),
            p99_ms=_median([r[name].p99_ms for r in per_round]),
            max_ms=max(r[name].max_ms for r in per_round),
            errors=sum(r[name].errors for r in per_round),
        )
        for name in targets
    }
    return {
        "generator": generator,
        "connections": connections,
        "duration": duration,
        "rounds": rounds,
        "web_workers": web_workers,
        "web_threads": web_threads,
        "database": "PostgreSQL" if stack.postgres else "SQLite (WAL)",
        "bare": totals["bare"],
        "webhook": totals["webhook"],
        "round_ratios": ratios,
        "round_p99_ms": [r["webhook"].p99_ms for r in per_round],
        "ratio": _median(ratios),
        "stored": stored,
        "queued": queued,
    }
