"""Benchmark 4: feed events/s of ``manage.py poll_feed --once`` vs a bare retrieve-and-commit loop.

Each side gets a freshly reset sandbox whose feed is configured by the portal's ``feed_configure``
(the production statuses) and then filled with ``events`` feed items: one order per event, created
through ``POST /_sim/vtex/orders`` (each walks to ready-for-handling; only that status is in the
feed's filter). Bare: ``VtexClient.retrieve_feed(maxlot=10)`` and ``commit_feed(handles)`` in this
process until a retrieve comes back empty, nothing stored. Poller: ``manage.py poll_feed --once``
as a subprocess with the production settings, storing every event as an ``InboxEvent`` (its jobs
pile up in Redis: no worker runs). Both are timed from the sandbox's request log, from the first
feed request's arrival to the last feed request's answer, so the poller's start-up is left out
(its whole wall time is reported next to it).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench import orders as o
from bench.stack import NO_LIMIT, Stack
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN, Sim

FEED_PATH = "/api/orders/feed"
FEED_CALLS = (("GET", FEED_PATH), ("POST", FEED_PATH))


def channel_create(sandbox_url: str):
    """A channel on the sandbox with order download on; the portal's VTEX budget for the feed route lifted."""
    from mappings.models import SalesChannel, SyncType, TransferToggle

    channel = SalesChannel.objects.create(
        code="bench",
        name="Bench",
        vtex_account_name="demostore",
        vtex_base_url_override=sandbox_url,
        vtex_app_key=VTEX_APP_KEY,
        vtex_app_token=VTEX_APP_TOKEN,
        vario_sales_channel_id="7",
        vario_order_type_id="12",
        vario_account_id="501",
        # VTEX_DEFAULT_RATE (50/1 per route) would cap retrieve + commit at 25 batches/s for both sides.
        vtex_rate_limits={"feed": NO_LIMIT},
    )
    TransferToggle.objects.update_or_create(
        channel=channel, sync_type=SyncType.ORDER_DOWNLOAD, defaults={"enabled": True}
    )
    return channel


def feed_limits_removed(sim: Sim) -> list[str]:
    """Remove the sandbox's rate-limit rules that apply to the feed routes (others put back); their names."""
    rules = sim.get("rate-limits")
    hits = [
        rule
        for rule in rules
        if rule["remote"] == "vtex"
        and any(
            (not rule.get("method") or rule["method"] == method) and re.search(rule.get("path_pattern") or "", path)
            for method, path in FEED_CALLS
        )
    ]
    if hits:
        sim.session.delete(f"{sim.url}/_sim/rate-limits", timeout=10).raise_for_status()
        for rule in rules:
            if rule not in hits:
                sim.post(
                    "rate-limits",
                    {
                        "remote": rule["remote"],
                        "method": rule.get("method") or "",
                        "pathPattern": rule.get("path_pattern") or "",
                        "limit": rule["limit"],
                        "windowSeconds": rule["window_seconds"],
                        "name": rule.get("name") or "",
                    },
                )
    return [rule.get("name") or str(rule["id"]) for rule in hits]


def feed_fill(stack: Stack, channel, events: int, *, parallel: int = 4) -> tuple[int, float, list[str]]:
    """Reset the sandbox, configure the feed, create ``events`` orders; (items queued, seconds, limits removed)."""
    from sync.feed import feed_configure

    sandbox = stack.start_sandbox()  # reset when already running
    sim = Sim(sandbox.url)
    removed = feed_limits_removed(sim)
    feed_configure(channel=channel)  # before the orders: a feed only sees later changes

    def one(n: int) -> None:
        o._sim(sandbox.url).post(
            "vtex/orders",
            {
                "items": [{"skuId": "100", "name": "SKU-RED-M", "quantity": 1, "price": 1999, "refId": "SKU-RED-M"}],
                "shippingValue": 490,
                "currencyCode": "EUR",
            },
        )

    began = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(one, range(events)))
    seconds = time.monotonic() - began
    queued = sim.get("vtex/feed", appKey=VTEX_APP_KEY)["feed"]["quantity"]
    sim.session.delete(f"{sim.url}/_sim/requests", timeout=30).raise_for_status()
    return queued, seconds, removed


def feed_calls(sim: Sim) -> list[dict]:
    """The feed retrieves and commits in the sandbox's log (not the configuration calls)."""
    return [e for e in o.sandbox_log(sim, remote="vtex", path=FEED_PATH) if e["path"] == FEED_PATH]


def _items_in(entry: dict) -> int:
    try:
        body = json.loads(entry["responseBody"] or "[]")
    except ValueError:
        return 0
    return len(body) if isinstance(body, list) else 0


def measured(calls: list[dict], events: int) -> dict:
    """Events/s from the sandbox's log, after the first batch.

    The first retrieve and its commit warm either client up (connections, lazy imports, the poller's
    first insert and script load); timing starts when that commit has been answered, and its items
    are not counted.
    """
    first_commit = next((i for i, e in enumerate(calls) if e["method"] == "POST"), None)
    if first_commit is None or first_commit + 1 >= len(calls):
        timed, counted = calls, events
    else:
        timed = calls[first_commit:]
        counted = events - sum(_items_in(e) for e in calls[:first_commit] if e["method"] == "GET")
    span = o.at(timed[-1]) - o.at(timed[0]) if len(timed) > 1 else 0.0
    return {
        "events": events,
        "timed_events": counted,
        "seconds": span,
        "events_per_s": counted / span if span > 0 else 0.0,
        "retrieves": sum(1 for e in calls if e["method"] == "GET"),
        "commits": sum(1 for e in calls if e["method"] == "POST"),
        "errors": sum(1 for e in calls if e["status"] >= 300),
    }


def bare_loop(channel) -> tuple[int, int]:
    """retrieve_feed(maxlot=10) + commit_feed until a retrieve is empty; (items, batches)."""
    from sync.remotes import vtex_client_for

    vtex = vtex_client_for(channel)
    items = batches = 0
    while True:
        lot = vtex.retrieve_feed(maxlot=10)
        if not lot:
            return items, batches
        vtex.commit_feed([item.handle for item in lot])
        items += len(lot)
        batches += 1


def poller_round(stack: Stack, sim: Sim, channel, events: int, *, timeout: float) -> dict:
    """``poll_feed --once`` on a freshly filled feed of ``events`` items."""
    from sync.models import InboxEvent

    queued, _, _ = feed_fill(stack, channel, events)
    stored_before = InboxEvent.objects.filter(source=InboxEvent.Source.VTEX_FEED).count()
    began = time.monotonic()
    poller = stack.start("poll-feed", [sys.executable, "manage.py", "poll_feed", "--once", "--channel", "bench"])
    try:
        code = poller.wait_dead(timeout=timeout)
    except subprocess.TimeoutExpired:
        code = None
    wall = time.monotonic() - began
    log = poller.log_tail(600)
    stack.stop(poller)
    if code != 0:
        raise RuntimeError(f"poll_feed --once exited with {code}: {log}")
    stored = InboxEvent.objects.filter(source=InboxEvent.Source.VTEX_FEED).count() - stored_before
    left = sim.get("vtex/feed", appKey=VTEX_APP_KEY)["feed"]["quantity"]
    return {**measured(feed_calls(sim), stored), "queued": queued, "wall_seconds": wall, "left": left}


def _total(parts: list[dict]) -> dict:
    keys = ("events", "timed_events", "seconds", "retrieves", "commits", "errors", "queued")
    total = {key: sum(part[key] for part in parts) for key in keys}
    total["events_per_s"] = total["timed_events"] / total["seconds"] if total["seconds"] else 0.0
    return total


def run(stack: Stack, *, events: int, timeout: float, rounds: int = 3):
    """``rounds`` alternations of the bare loop and the poller, ``events / rounds`` items each.

    Every round fills a freshly reset feed, for either side. The figure is the median of the rounds'
    ratios, so the drift of a shared machine between two long runs stays out of it.
    """
    stack.reset_state()
    sandbox = stack.start_sandbox()
    sim = Sim(sandbox.url)
    channel = channel_create(sandbox.url)
    per_round = max(events // rounds, 10)
    bare_rounds, poller_rounds, fill_seconds, removed = [], [], 0.0, []
    for _ in range(rounds):
        queued, seconds, removed = feed_fill(stack, channel, per_round)
        fill_seconds += seconds
        items, _ = bare_loop(channel)
        bare_rounds.append({**measured(feed_calls(sim), items), "queued": queued})
        poller_rounds.append(poller_round(stack, sim, channel, per_round, timeout=timeout))
    ratios = [
        p["events_per_s"] / b["events_per_s"] if b["events_per_s"] else 0.0
        for b, p in zip(bare_rounds, poller_rounds, strict=True)
    ]
    ordered = sorted(ratios)
    poll = _total(poller_rounds)
    poll["wall_seconds"] = max(p["wall_seconds"] for p in poller_rounds)
    poll["left"] = sum(p["left"] for p in poller_rounds)
    return {
        "events": per_round * rounds,
        "rounds": rounds,
        "fill_seconds": fill_seconds / rounds,
        "fill_events": per_round,
        "removed_rules": removed,
        "bare": _total(bare_rounds),
        "poller": poll,
        "round_ratios": ratios,
        "jobs_queued": len(stack.redis_client().keys("rq:job:*")),
        "ratio": ordered[len(ordered) // 2],
    }
