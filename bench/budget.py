"""Benchmark 3: how much of a VTEX budget of R requests/s 4 workers use, without overrunning it.

The sandbox limits each VTEX route the sync calls to R requests per 1 s sliding window (one
/_sim/rate-limits rule per route, caller = the app key); the portal gets the same budget through
VTEX_DEFAULT_RATE=R/1 (its limiter is per route too). VARIO is left unlimited on both sides so
that VTEX is the bottleneck. Enough full orders are queued that the busiest route (GET order)
always has more demand than R. Everything is read back from the sandbox's request log.
"""

from __future__ import annotations

from bench import orders as o
from bench.stack import NO_LIMIT, Stack
from sandbox.harness import Sim

# route name in the portal's VTEX client → (method, path pattern) in the sandbox
ROUTES = {
    "get_order": ("GET", r"^/api/oms/pvt/orders/[^/]+$"),
    "start_handling": ("POST", r"^/api/oms/pvt/orders/[^/]+/start-handling$"),
    "invoice": ("POST", r"^/api/oms/pvt/orders/[^/]+/invoice$"),
}


def route_of(entry: dict) -> str:
    import re

    for route, (method, pattern) in ROUTES.items():
        if entry["method"] == method and re.search(pattern, entry["path"]):
            return route
    return f"other {entry['method']} {entry['path'].split('/')[-1]}"


def retry_after_violations(calls: list[dict]) -> tuple[int, int, list[float]]:
    """(calls inside a Retry-After window the route had announced, 429s with Retry-After, their delays).

    After a 429 answered at t with ``Retry-After: r`` on a route, a call on that route arriving in
    (t, t + r) is a violation: the sandbox's answer time and a call's arrival time
    (answer time minus duration) are both taken from the sandbox's log.
    """
    by_route: dict[str, list[dict]] = {}
    for entry in calls:
        by_route.setdefault(route_of(entry), []).append(entry)
    violations: dict[int, float] = {}
    announced = 0
    for entries in by_route.values():
        for refusal in entries:
            retry_after = (refusal.get("responseHeaders") or {}).get("Retry-After")
            if refusal["status"] != 429 or not retry_after:
                continue
            announced += 1
            start, end = o.at(refusal), o.at(refusal) + float(retry_after)
            for entry in entries:
                if start < o.arrived(entry) < end:
                    violations.setdefault(entry["id"], o.arrived(entry) - start)
    return len(violations), announced, sorted(violations.values())


def run(stack: Stack, *, rate: int, orders: int, workers: int, web_workers: int, web_threads: int, timeout: float):
    stack.reset_state()
    sandbox = stack.start_sandbox()
    sim = Sim(sandbox.url)
    sim.session.delete(f"{sim.url}/_sim/rate-limits", timeout=10).raise_for_status()
    for route, (method, pattern) in ROUTES.items():
        sim.post(
            "rate-limits",
            {
                "remote": "vtex",
                "method": method,
                "pathPattern": pattern,
                "limit": rate,
                "windowSeconds": 1,
                "name": f"bench-{route}",
            },
        )
    web, web_url = stack.start_web(workers=web_workers, threads=web_threads)
    pool = []
    try:
        o.channel_create(sandbox.url, web_url=web_url)
        pool = stack.start_workers(workers, VARIO_RATE=NO_LIMIT, VTEX_DEFAULT_RATE=f"{rate}/1")
        pairs = o.orders_create_delivered(sandbox.url, orders)
        sim.session.delete(f"{sim.url}/_sim/requests", timeout=30)
        done = o.wait_synced(stack, sim, orders, timeout=timeout)
        calls = o.sandbox_log(sim, remote="vtex")
    finally:
        for process in pool:
            stack.stop(process)
        stack.stop(web)
    statuses = o.vtex_statuses(sandbox.url, [vtex_id for vtex_id, _ in pairs])
    routes = {}
    for entry in calls:
        routes.setdefault(route_of(entry), []).append(entry)
    per_route = {}
    for route, entries in sorted(routes.items(), key=lambda item: -len(item[1])):
        accepted = [e for e in entries if e["status"] != 429]
        span = o.arrived(entries[-1]) - o.arrived(entries[0]) if len(entries) > 1 else 0.0
        per_route[route] = {
            "calls": len(entries),
            "accepted": len(accepted),
            "refused_429": len(entries) - len(accepted),
            "seconds": span,
            "accepted_per_s": len(accepted) / span if span > 0 else 0.0,
            "peak_1s": peak_in_one_second(accepted),
        }
    busiest = next(iter(per_route), None)
    achieved = per_route[busiest]["accepted_per_s"] if busiest else 0.0
    refused = sum(1 for e in calls if e["status"] == 429)
    violations, announced, delays = retry_after_violations(calls)
    return {
        "rate": rate,
        "orders": orders,
        "workers": workers,
        "completed": done,
        "vtex_statuses": statuses,
        "sync_outcomes": o.sync_outcomes(),
        "per_route": per_route,
        "busiest": busiest,
        "achieved": achieved,
        "ratio": achieved / rate,
        "calls": len(calls),
        "refused_429": refused,
        "share_429": refused / len(calls) if calls else 0.0,
        "retry_after_announced": announced,
        "retry_after_violations": violations,
        "violation_delays_ms": [round(d * 1000) for d in delays],
    }


def peak_in_one_second(entries: list[dict]) -> int:
    """Most accepted calls whose arrivals fall in any 1-second window (the sandbox's own measure)."""
    times = sorted(o.arrived(e) for e in entries)
    best, left = 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - 1.0:
            left += 1
        best = max(best, right - left + 1)
    return best
