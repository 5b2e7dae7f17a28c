"""Full orders through the portal, as the end-to-end tests drive them (sandbox/harness.py).

A VTEX order in ready-for-handling and its ERP order (``order_pair``), the whole order delivered in
the ERP with a DHL tracking number; the sandbox then sends VARIO's webhooks to the portal, whose
workers bring the VTEX order to ``invoiced`` (start-handling, invoice with tracking).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from bench.stack import Stack
from sandbox.harness import VTEX_APP_KEY, VTEX_APP_TOKEN, Sim, order_pair

BASKETS = [
    [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 1999)],
    [("SHOE-BLACK-42", 1, 8990)],
    [("HOODIE-GREY-M", 1, 4900), ("SKU-WHITE-S", 3, 1999), ("SHOE-WHITE-39", 1, 8990)],
]
_local = threading.local()


def _sim(url: str) -> Sim:
    if getattr(_local, "sim", None) is None or _local.sim.url != url:
        _local.sim = Sim(url)
    return _local.sim


def sandbox_limits_without_vario(sim: Sim) -> list[dict]:
    """Remove the sandbox's rate-limit rules and put back all but VARIO's; returns the removed VARIO rules."""
    rules = sim.get("rate-limits")
    sim.session.delete(f"{sim.url}/_sim/rate-limits", timeout=10).raise_for_status()
    for rule in rules:
        if rule["remote"] != "vario":
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
    return [rule for rule in rules if rule["remote"] == "vario"]


def channel_create(sandbox_url: str, *, web_url: str | None, vtex_rate_limits: dict | None = None):
    """The demo-like sales channel on the sandbox (as tests/e2e/conftest.py), webhooks registered at
    ``web_url`` (None: none, for a run no webhook reaches)."""
    from mappings.models import CarrierCode, SalesChannel
    from mappings.services import status_mappings_load_defaults
    from sync.registration import vario_webhooks_register

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
        vtex_rate_limits=vtex_rate_limits or {},
    )
    status_mappings_load_defaults(channel=channel)
    CarrierCode.objects.create(
        channel=channel,
        erp_carrier_key="DHL",
        vtex_courier_name="DHL",
        tracking_url_template="https://www.dhl.de/track?piececode={tracking_number}",
        integrated_with_vtex_tracking=True,
    )
    if web_url is not None:
        vario_webhooks_register(base_url=web_url)
    return channel


def orders_create_delivered(sandbox_url: str, count: int, *, parallel: int = 6) -> list[tuple[str, str]]:
    """``count`` order pairs, each delivered in full; the webhooks wait in the sandbox. Returns (vtex id, erp id)."""

    def one(n: int) -> tuple[str, str]:
        sim = _sim(sandbox_url)
        vtex, erp = order_pair(sim, BASKETS[n % len(BASKETS)])
        sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": f"00340434{n:012d}"})
        return vtex["orderId"], str(erp["id"])

    with ThreadPoolExecutor(parallel) as pool:
        return list(pool.map(one, range(count)))


def dispatch_all(sim: Sim) -> int:
    """Send every due webhook now (the sandbox's loop is paused); returns how many were attempted."""
    total = 0
    while True:
        # Up to 100 webhooks sent one after another by the sandbox: slow while the portal is busy.
        answer = sim.session.post(f"{sim.url}/_sim/deliveries/dispatch", timeout=300)
        answer.raise_for_status()
        attempted = answer.json()["attempted"]
        total += attempted
        if not attempted:
            return total


def wait_synced(stack: Stack, sim: Sim, orders: int, *, timeout: float) -> bool:
    """Dispatch webhooks and wait until every order's sync settled (done, nothing newer requested)."""
    from django.db.models import F

    from sync.models import InboxEvent, OrderSync

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dispatch_all(sim)  # also the retries of webhooks the portal did not accept the first time
        settled = OrderSync.objects.filter(
            status=OrderSync.Status.DONE, done_generation=F("generation"), vtex_order_id__gt=""
        ).count()
        pending = InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).count()
        if settled >= orders and not pending:
            return True
        time.sleep(0.25)
    return False


def sandbox_log(sim: Sim, **filters) -> list[dict]:
    """Every logged simulator request matching ``filters``, oldest first (paged by sinceId)."""
    entries: list[dict] = []
    since = 0
    while True:
        page = sim.get("requests", sinceId=since, limit=10000, **filters)
        entries += page
        if len(page) < 10000:
            return entries
        since = page[-1]["id"]


def at(entry: dict) -> float:
    """When the sandbox answered (its log time; the simulated clock has no offset here)."""
    return datetime.fromisoformat(entry["at"]).timestamp()


def arrived(entry: dict) -> float:
    return at(entry) - entry["durationMs"] / 1000


def vtex_statuses(sandbox_url: str, order_ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}

    def status(order_id: str) -> str:
        return _sim(sandbox_url).vtex_order(order_id)["order"]["status"]

    with ThreadPoolExecutor(6) as pool:
        for value in pool.map(status, order_ids):
            counts[value] = counts.get(value, 0) + 1
    return counts


def sync_outcomes() -> dict[str, int]:
    from django.db.models import Count

    from sync.models import OrderSync

    return {row["status"]: row["n"] for row in OrderSync.objects.values("status").annotate(n=Count("id"))}
