"""Benchmark 5: an order backfill against VARIO's budget of 40 requests per 6 s, while webhooks keep coming
(issue #15, item 7).

Set-up, on an emptied portal database and a reset sandbox that keeps its seeded rate limits (VARIO: 40
requests per 6 s on ``/api/vario/``; VTEX: its routes' published limits); the portal runs with its own
defaults (``VARIO_RATE=40/6``, ``BULK_BUDGET_SHARE``):

1. N VTEX orders in ready-for-handling, of articles the ERP knows, created days ago through
   ``POST /_sim/vtex/orders/bulk``: no feed event, no ERP order, no order link (what a feed outage leaves).
2. The orders for the webhooks, created now in bulk on both sides (``POST /_sim/vtex/orders/bulk`` and
   ``POST /_sim/vario/orders/bulk``, neither emits an event) and linked in the portal's database:
   orders that exist in both systems, outside the backfill's range.
3. gunicorn, W workers (the Procfile's worker command), the channel's VARIO webhooks registered.

Measured:

4. Baseline: K of the linked orders are delivered in the ERP with a tracking number, one every
   ``interval`` seconds, each delivery's webhooks released at once (``POST /_sim/deliveries/dispatch``);
   no bulk run. The phase ends when each of them is invoiced in VTEX.
5. Run: the backfill over the seeded range is started through ``bulk_run_start``, and the next linked
   orders are delivered at the same pace until it has finished; then their invoices are waited for.
6. Everything is read back from the sandbox: the request log (each call attributed to the backfill or to
   the webhooks by the order ids it names; 429s; when each invoice was accepted) and the deliveries
   (when each webhook was posted: the portal's 2xx).

Figures: time ÷ lower bound, where time = the run's ``created_at`` → ``finished_at`` and the lower bound
= the run's VARIO calls ÷ (40/6 × BULK_BUDGET_SHARE), the sandbox's own rule read back; 429s; the
webhooks' p95 delay (first webhook of a delivery posted → its invoice accepted by VTEX) during the run
÷ the same without it.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bench import orders as o
from bench.stack import Stack
from sandbox.harness import Sim

HOUR = 3600
VARIO_API = "/api/vario/"
LIST_ORDERS = "/api/oms/pvt/orders"
# The words of a path, query or body: ids, ERP order numbers (AU-1001) and VTEX order ids (1510580500001-01)
# each come out whole, never as a part of a longer one.
WORD = re.compile(r"[\w-]+")


def run_counts(run) -> dict[str, int]:
    """A bulk run's counts, as its page shows them."""
    return {k: getattr(run, k) for k in ("total", "done", "changed", "unchanged", "failed", "skipped", "deferred")}


def bulk_run_wait(run, *, timeout: float, poll: float = 0.5):
    """The run once it ended (finished, failed or cancelled); RuntimeError after ``timeout`` seconds."""
    from sync.bulk.models import BulkRun

    ended = (BulkRun.State.FINISHED, BulkRun.State.FAILED, BulkRun.State.CANCELLED)
    deadline = time.monotonic() + timeout
    while True:
        run.refresh_from_db()
        if run.state in ended:
            return run
        if time.monotonic() > deadline:
            raise RuntimeError(f"bulk run {run.pk} still {run.state} after {timeout:.0f}s: {run.done} of {run.total}")
        time.sleep(poll)


def bulk_post(sim: Sim, path: str, body: dict) -> dict:
    answer = sim.session.post(f"{sim.url}/_sim/{path}", json=body, timeout=300)
    if answer.status_code != 201:
        raise RuntimeError(f"POST /_sim/{path}: {answer.status_code} {answer.text[:500]}")
    return answer.json()


def vtex_body(basket: list[tuple[str, int, int]]) -> dict:
    return {
        "items": [
            {"skuId": str(100 + i), "name": ref, "quantity": q, "price": p, "sellingPrice": p, "refId": ref}
            for i, (ref, q, p) in enumerate(basket)
        ],
        "shippingValue": 490,
    }


def erp_body(vtex_id: str, basket: list[tuple[str, int, int]]) -> dict:
    """The ERP order of a VTEX order of ``basket`` as an import makes it: a body of POST /_sim/vario/orders."""
    return {
        "externalIdentifier": vtex_id,
        "externalOrderId": vtex_id,
        "lines": [{"articleNumber": ref, "quantity": q, "price": p / 100} for ref, q, p in basket],
    }


def backfill_orders_seed(sim: Sim, count: int, *, since: datetime, until: datetime) -> list[str]:
    """Step 1: ``count`` VTEX orders created between ``since`` and ``until``, no event. Returns their ids."""
    bodies = [vtex_body(o.BASKETS[n % len(o.BASKETS)]) for n in range(count)]
    body = {"orders": bodies, "creationFrom": since.isoformat(), "creationTo": until.isoformat()}
    return bulk_post(sim, "vtex/orders/bulk", body)["orderIds"]


@dataclass
class Linked:
    """One order in both systems, for the webhooks; filled in as it is delivered and read back."""

    vtex_id: str
    erp_id: str
    erp_number: str
    delivery_id: str = ""
    shipment_id: str = ""
    phase: str = ""
    posted: float | None = None
    invoiced: float | None = None

    @property
    def delay(self) -> float | None:
        return self.invoiced - self.posted if self.posted is not None and self.invoiced is not None else None


def linked_orders_seed(sim: Sim, channel, count: int) -> list[Linked]:
    """Step 2: ``count`` orders in both systems, no event, and their order links."""
    from mappings.models import OrderLink

    baskets = [o.BASKETS[n % len(o.BASKETS)] for n in range(count)]
    vtex_ids = bulk_post(sim, "vtex/orders/bulk", {"orders": [vtex_body(b) for b in baskets]})["orderIds"]
    bodies = [erp_body(vtex_id, basket) for vtex_id, basket in zip(vtex_ids, baskets, strict=True)]
    erp = bulk_post(sim, "vario/orders/bulk", {"orders": bodies})["orders"]
    OrderLink.objects.bulk_create(
        [
            OrderLink(channel=channel, vtex_order_id=v, erp_order_id=e["id"], erp_order_number=e["number"])
            for v, e in zip(vtex_ids, erp, strict=True)
        ]
    )
    return [Linked(v, e["id"], e["number"]) for v, e in zip(vtex_ids, erp, strict=True)]


def deliver(sim: Sim, order: Linked, *, phase: str, n: int) -> None:
    """The whole order delivered in the ERP with a DHL parcel; its webhooks are released at once."""
    answer = sim.post(f"vario/orders/{order.erp_id}/deliver", {"carrier": "DHL", "trackingNumber": f"00340434{n:012d}"})
    order.delivery_id, order.shipment_id, order.phase = answer["delivery"]["id"], str(answer["shipment"]["id"]), phase
    o.dispatch_all(sim)


def deliver_paced(sim: Sim, orders: list[Linked], *, phase: str, interval: float, first: int, more) -> list[Linked]:
    """Steps 4 and 5: one order delivered every ``interval`` seconds while ``more()`` says so."""
    delivered: list[Linked] = []
    next_at = time.monotonic()
    for n, order in enumerate(orders):
        if not more():
            break
        time.sleep(max(0.0, next_at - time.monotonic()))
        deliver(sim, order, phase=phase, n=first + n)
        delivered.append(order)
        next_at += interval
    return delivered


def invoiced_ids(sim: Sim) -> set[str]:
    paths = (e["path"] for e in sim.get("requests", remote="vtex", method="POST", path="/invoice", limit=10000))
    return {path.split("/")[5] for path in paths if path.endswith("/invoice")}


def wait_invoiced(sim: Sim, orders: list[Linked], *, timeout: float) -> bool:
    """Release due webhooks (retries of refused ones) until every order's invoice is in VTEX."""
    deadline = time.monotonic() + timeout
    wanted = {order.vtex_id for order in orders}
    while time.monotonic() < deadline:
        o.dispatch_all(sim)
        if wanted <= invoiced_ids(sim):
            return True
        time.sleep(0.25)
    return False


# --- reading back ------------------------------------------------------------------------------------------------


def _stamp(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def times_read(sim: Sim, log: list[dict], orders: list[Linked]) -> None:
    """Step 6: when each order's first webhook was posted (accepted) and its invoice accepted."""
    by_erp = {order.erp_id: order for order in orders}
    by_shipment = {order.shipment_id: order for order in orders}
    for delivery in sim.get("deliveries", kind="vario_webhook", state="SENT"):
        body = delivery["body"] or {}
        order = by_erp.get(str(body.get("id"))) or by_shipment.get(str(body.get("shipmentId")))
        if order is None or not delivery["sentAt"]:
            continue
        sent = _stamp(delivery["sentAt"])
        order.posted = sent if order.posted is None else min(order.posted, sent)
    by_vtex = {order.vtex_id: order for order in orders}
    for entry in log:
        parts = entry["path"].split("/")
        if entry["method"] == "POST" and entry["path"].endswith("/invoice") and 200 <= entry["status"] < 300:
            order = by_vtex.get(parts[5])
            if order is not None and order.invoiced is None:
                order.invoiced = o.at(entry)


@dataclass
class Attribution:
    """Which orders a logged call is about, by the ids its path, query and body name: the backfill's (its
    VTEX ids, the ERP orders the import made), the webhooks' (their VTEX ids, ERP ids and numbers, delivery
    notes, shipments), or neither."""

    backfill: set[str]
    webhooks: set[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def owner(self, entry: dict) -> str:
        if entry["remote"] == "vtex" and entry["method"] == "GET" and entry["path"].rstrip("/") == LIST_ORDERS:
            return "backfill"  # List orders: only the run reads it (reference/vtex.md §1.6)
        text = f"{entry['path']} {entry.get('query') or ''} {entry.get('requestBody') or ''}"
        words = set(WORD.findall(text))
        if "queryArticles" in words or words & self.backfill:
            return "backfill"  # article look-ups: only an import makes them
        if words & self.webhooks:
            return "webhooks"
        return "other"

    def add(self, entry: dict) -> str:
        owner = self.owner(entry)
        remote = entry["remote"]
        if remote == "vario" and not entry["path"].startswith(VARIO_API):
            remote = "vario_token"  # the SSO server: outside the API's budget
        counts = self.counts.setdefault(owner, {})
        counts[remote] = counts.get(remote, 0) + 1
        if entry["status"] == 429:
            counts[f"{remote}_429"] = counts.get(f"{remote}_429", 0) + 1
        return owner


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def _delays(orders: list[Linked], phase: str) -> dict:
    mine = [order for order in orders if order.phase == phase]
    delays = [order.delay for order in mine if order.delay is not None]
    return {
        "webhooks": len(mine),
        "measured": len(delays),
        "p50_s": sorted(delays)[len(delays) // 2] if delays else 0.0,
        "p95_s": p95(delays),
        "max_s": max(delays, default=0.0),
    }


def vario_budget(sim: Sim) -> tuple[int, int]:
    """(limit, window seconds) of the sandbox's rule for VARIO's API."""
    for rule in sim.get("rate-limits"):
        if rule["remote"] == "vario" and "api/vario" in (rule.get("path_pattern") or ""):
            return rule["limit"], rule["window_seconds"]
    raise RuntimeError("the sandbox has no VARIO rate limit: the benchmark measures against it")


# --- the benchmark ---------------------------------------------------------------------------------------------------


def run(
    stack: Stack,
    *,
    orders: int,
    workers: int,
    webhooks: int,
    interval: float,
    web_workers: int,
    web_threads: int,
    timeout: float,
) -> dict:
    from django.conf import settings
    from django.utils import timezone

    from mappings.models import OrderLink
    from sync.bulk.models import BulkRun
    from sync.bulk.services import bulk_run_start

    stack.reset_state()
    sandbox = stack.start_sandbox()
    sim = Sim(sandbox.url)
    limit, window = vario_budget(sim)
    now = timezone.now()
    since, until = now - timedelta(days=3), now - timedelta(days=2)
    backfill_ids = backfill_orders_seed(sim, orders, since=since + timedelta(hours=1), until=until - timedelta(hours=1))
    web, web_url = stack.start_web(workers=web_workers, threads=web_threads)
    pool = []
    try:
        channel = o.channel_create(sandbox.url, web_url=web_url)
        # Enough linked orders for the baseline and for a run three times as long as its lower bound.
        guess = orders * 4 / (limit / window * settings.BULK_BUDGET_SHARE)
        linked = linked_orders_seed(sim, channel, webhooks + math.ceil(3 * guess / interval) + 10)
        pool = stack.start_workers(workers)
        sim.session.delete(f"{sim.url}/_sim/requests", timeout=30).raise_for_status()
        baseline = deliver_paced(  # 4.
            sim, linked[:webhooks], phase="baseline", interval=interval, first=0, more=lambda: True
        )
        baseline_done = wait_invoiced(sim, baseline, timeout=timeout)
        run = bulk_run_start(  # 5.
            channel=channel,
            kind=BulkRun.Kind.ORDER_BACKFILL,
            scope={"since": since.isoformat(), "until": until.isoformat()},
            dry_run=False,
            started_by="bench",
        )
        deadline = time.monotonic() + timeout

        def running() -> bool:
            run.refresh_from_db(fields=["state"])
            if time.monotonic() > deadline:
                return False
            return run.state in (BulkRun.State.QUEUED, BulkRun.State.RUNNING)

        during = deliver_paced(sim, linked[webhooks:], phase="run", interval=interval, first=webhooks, more=running)
        run = bulk_run_wait(run, timeout=max(1.0, deadline - time.monotonic()))
        during_done = wait_invoiced(sim, during, timeout=timeout)
        log = o.sandbox_log(sim)  # 6.
    finally:
        for process in pool:
            stack.stop(process)
        stack.stop(web)
    delivered = baseline + during
    times_read(sim, log, delivered)
    backfill_erp = set(
        OrderLink.objects.filter(channel=channel, vtex_order_id__in=backfill_ids).values_list("erp_order_id", flat=True)
    )
    backfill_erp -= {""}
    attribution = Attribution(
        backfill=set(backfill_ids) | backfill_erp,
        webhooks={
            i
            for order in delivered
            for i in (order.vtex_id, order.erp_id, order.erp_number, order.delivery_id, order.shipment_id)
        },
    )
    run_start = run.created_at.timestamp()
    run_end = run.finished_at.timestamp() if run.finished_at else run_start
    during_run = {"vario": 0, "vario_backfill": 0}
    for entry in log:
        owner = attribution.add(entry)
        if entry["remote"] == "vario" and entry["path"].startswith(VARIO_API) and run_start <= o.at(entry) <= run_end:
            during_run["vario"] += 1
            during_run["vario_backfill"] += owner == "backfill"
    backfill = attribution.counts.get("backfill", {})
    vario_calls = backfill.get("vario", 0)
    bound = vario_calls / (limit / window * settings.BULK_BUDGET_SHARE)
    seconds = run_end - run_start
    refused = {
        remote: sum(1 for e in log if e["remote"] == remote and e["status"] == 429) for remote in ("vario", "vtex")
    }
    base, busy = _delays(delivered, "baseline"), _delays(delivered, "run")
    statuses = o.vtex_statuses(sandbox.url, backfill_ids)
    return {
        "orders": orders,
        "workers": workers,
        "interval": interval,
        "limit": limit,
        "window": window,
        "share": settings.BULK_BUDGET_SHARE,
        "run_state": run.state,
        "run_message": run.message,
        "counts": run_counts(run),
        "vtex_statuses": statuses,
        "imported": len(backfill_erp),
        "calls": attribution.counts,
        "per_order": {
            "backfill": {r: backfill.get(r, 0) / orders for r in ("vario", "vtex", "vario_token")},
            "webhooks": {
                r: attribution.counts.get("webhooks", {}).get(r, 0) / max(1, len(delivered))
                for r in ("vario", "vtex", "vario_token")
            },
        },
        "seconds": seconds,
        "lower_bound": bound,
        "ratio": seconds / bound if bound else 0.0,
        "vario_rate_run": vario_calls / seconds if seconds else 0.0,
        "during_run": during_run,
        "refused_429": refused,
        "baseline": base,
        "during": busy,
        "delay_ratio": busy["p95_s"] / base["p95_s"] if base["p95_s"] else 0.0,
        "all_invoiced": baseline_done and during_done,
    }
