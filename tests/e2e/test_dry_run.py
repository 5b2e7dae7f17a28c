"""A dry run predicts exactly (issue #15, item 3): for orders in different states, the calls a dry run holds
back equal, call by call (remote, method, path with query, JSON body), the calls the sandbox then receives
from the real run, and the sandbox receives no write while the dry runs go on. The channel has no VARIO
webhooks, so an order runs only when the test asks for it.

Bodies are compared whole: none of their fields depends on the time of the run. Invoice issuance and
dispatch dates come from the ERP documents' dates (noon UTC, sync.transforms.issuance_date_from), tracking
event dates from the carrier's events, the ERP order's documentDate from the VTEX order's creation date.
"""

from __future__ import annotations

import json

import pytest

from sandbox.harness import order_pair
from sync.dry_run import order_import_dry_run, order_status_dry_run
from sync.models import OrderSync
from sync.runner import order_sync_request
from tests.support.stack import wait_until

TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]
IN_TRANSIT = {"date": "2026-03-04", "city": "Leipzig", "state": "SN", "description": "Im Paketzentrum bearbeitet"}
DELIVERED = {"date": "2026-03-05", "city": "Berlin", "state": "BE", "description": "Zugestellt", "delivered": True}
READS = ("/computed-queries/execute", "/protocol/openid-connect/token")  # POSTs that change nothing


def log_since(sim, since: int) -> list[dict]:
    entries, last = [], since
    while page := sim.get("requests", sinceId=last, limit=10000):
        entries += page
        last = page[-1]["id"]
    return entries


def last_log_id(sim) -> int:
    entries = log_since(sim, 0)
    return entries[-1]["id"] if entries else 0


def writes_since(sim, since: int) -> list[dict]:
    return [e for e in log_since(sim, since) if e["method"] != "GET" and not e["path"].endswith(READS)]


def received(entry: dict) -> tuple:
    path = f"{entry['path']}?{entry['query']}" if entry["query"] else entry["path"]
    return entry["remote"], entry["method"], path, json.loads(entry["requestBody"]) if entry["requestBody"] else None


def predicted(call) -> tuple:
    return call.remote, call.method, call.path, call.body


def of_order(entries: list[dict], vtex_order_id: str) -> list[tuple]:
    """The calls about one order: its id in the path (OMS) or as a JSON value in the body (notes, ERP create)."""
    return [
        received(e)
        for e in entries
        if f"/orders/{vtex_order_id}/" in e["path"] or f'"{vtex_order_id}"' in e["requestBody"]
    ]


def sync_settled(kind: str, key: str):
    sync = OrderSync.objects.filter(kind=kind, key=key).first()
    done = sync is not None and sync.status == OrderSync.Status.DONE and sync.done_generation == sync.generation
    return sync if done else None


def real_runs(channel, kind: str, keys: list[str]) -> None:
    """Each order brought up to date by the real sync (a real worker), as a webhook or the feed asks for it."""
    for key in keys:
        order_sync_request(kind=kind, channel=channel, key=key)
    for key in keys:
        wait_until(lambda key=key: sync_settled(kind, key), message=f"{kind} sync of {key} done", timeout=60)


def first_line(sim, erp_id: str) -> str:
    return sim.get(f"vario/orders/{erp_id}")["order"]["lines"][0]["id"]


@pytest.mark.once
def test_status_dry_runs_predict_call_by_call_what_the_real_runs_then_send(sim, quiet_channel, worker, settings):
    # Eight dry runs in a row read more than VARIO's 40 calls per 6 s allow: they wait for the budget.
    settings.LIMITER_MAX_WAIT_SECONDS = 15
    # Orders a real run brought up to date before the ERP moved on (or did not).
    up_to_date = order_pair(sim, TWO_ITEMS)
    returned = order_pair(sim, TWO_ITEMS)
    tracked_late = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{up_to_date[1]['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-10"})
    sim.post(f"vario/orders/{returned[1]['id']}/deliver", {"carrier": "UPS", "trackingNumber": "1Z-11"})
    late = sim.post(f"vario/orders/{tracked_late[1]['id']}/deliver", {})["delivery"]
    scanned = order_pair(sim, TWO_ITEMS)  # DHL: VTEX does not track it, the portal puts the carrier's scans
    parcel = sim.post(f"vario/orders/{scanned[1]['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-14"})
    real_runs(quiet_channel, OrderSync.Kind.STATUS, [o[1]["id"] for o in (up_to_date, returned, tracked_late, scanned)])
    sim.post(f"vario/parcels/{parcel['parcelId']}/events", IN_TRANSIT)
    real_runs(quiet_channel, OrderSync.Kind.STATUS, [scanned[1]["id"]])  # the first scan is on VTEX now
    sim.post(f"vario/parcels/{parcel['parcelId']}/events", DELIVERED)
    sim.post(
        f"vario/orders/{returned[1]['id']}/return",
        {"lines": [{"orderLineId": first_line(sim, returned[1]["id"]), "quantity": 1}]},
    )
    sim.post(f"vario/deliveries/{late['id']}/parcels", {"carrier": "DPD", "trackingNumber": "01234567890123"})
    # Orders the portal has not synced since their ERP order changed.
    not_started = order_pair(sim, TWO_ITEMS)
    shipped = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{shipped[1]['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434161234567890"})
    split = order_pair(sim, TWO_ITEMS)
    first, second = (line["id"] for line in sim.get(f"vario/orders/{split[1]['id']}")["order"]["lines"][:2])
    sim.post(
        f"vario/orders/{split[1]['id']}/deliver",
        {"lines": [{"orderLineId": first, "quantity": 2}], "carrier": "DHL", "trackingNumber": "DHL-12"},
    )
    sim.post(
        f"vario/orders/{split[1]['id']}/deliver",
        {"lines": [{"orderLineId": second, "quantity": 1}], "carrier": "UPS", "trackingNumber": "1Z-12"},
    )
    cancelled = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{cancelled[1]['id']}/cancel")
    rest_closed = order_pair(sim, TWO_ITEMS)
    sim.post(
        f"vario/orders/{rest_closed[1]['id']}/deliver",
        {
            "lines": [{"orderLineId": first_line(sim, rest_closed[1]["id"]), "quantity": 2}],
            "carrier": "DHL",
            "trackingNumber": "DHL-13",
        },
    )
    sim.post(f"vario/orders/{rest_closed[1]['id']}/close-remaining")
    orders = {
        "up to date": up_to_date,
        "returned": returned,
        "tracking after the invoice": tracked_late,
        "delivered after a first scan": scanned,
        "not started": not_started,
        "shipped in full with tracking": shipped,
        "split shipment": split,
        "cancelled": cancelled,
        "rest closed after a partial delivery": rest_closed,
    }
    mark = last_log_id(sim)

    dry = {
        name: order_status_dry_run(channel=quiet_channel, erp_order_id=erp["id"]) for name, (_, erp) in orders.items()
    }

    assert writes_since(sim, mark) == [], "a dry run sent a write"
    real_runs(quiet_channel, OrderSync.Kind.STATUS, [erp["id"] for _, erp in orders.values()])
    writes = writes_since(sim, mark)
    for name, (vtex, _) in orders.items():
        assert [predicted(c) for c in dry[name].calls] == of_order(writes, vtex["orderId"]), (name, dry[name].outcome)
    assert sum(len(of_order(writes, vtex["orderId"])) for vtex, _ in orders.values()) == len(writes)
    # What the states mean: the comparison above is not of empty lists.
    paths = {name: [c.path.rsplit("/", 1)[-1].split("?")[0] for c in run.calls] for name, run in dry.items()}
    assert paths["up to date"] == []
    assert paths["not started"] == ["start-handling"]
    assert paths["shipped in full with tracking"] == ["start-handling", "invoice"]
    assert paths["split shipment"] == ["start-handling", "invoice", "invoice"]
    assert paths["cancelled"] == ["cancel", "notes"]
    assert paths["rest closed after a partial delivery"] == ["start-handling", "changes", "invoice"]
    assert [c.body["type"] for c in dry["returned"].calls] == ["Input"]
    assert [c.method for c in dry["tracking after the invoice"].calls][:1] == ["PATCH"]
    [scans] = dry["delivered after a first scan"].calls
    assert (scans.method, scans.body["isDelivered"], [e["city"] for e in scans.body["events"]]) == (
        "PUT",
        True,
        ["Berlin"],
    )
    assert all(run.outcome.startswith("Up to date") for run in dry.values()), {n: r.outcome for n, r in dry.items()}


def test_import_dry_runs_predict_the_erp_create_and_start_handling_the_real_import_then_sends(
    sim, quiet_channel, worker
):
    new = sim.post(
        "vtex/orders",
        {
            "items": [
                {"skuId": "2001", "name": "Shirt", "quantity": 2, "price": 1999, "refId": "SKU-RED-M"},
                {"skuId": "2002", "name": "Hoodie", "quantity": 1, "price": 4900, "refId": "HOODIE-GREY-M"},
            ],
            "shippingValue": 490,
            "currencyCode": "EUR",
        },
    )
    in_the_erp_already, _ = order_pair(sim, TWO_ITEMS)
    orders = {"new": new["orderId"], "in the ERP already": in_the_erp_already["orderId"]}
    erp_orders = len(sim.get("vario/orders"))
    mark = last_log_id(sim)

    dry = {
        name: order_import_dry_run(channel=quiet_channel, vtex_order_id=order_id) for name, order_id in orders.items()
    }

    assert writes_since(sim, mark) == [], "a dry run sent a write"
    assert len(sim.get("vario/orders")) == erp_orders
    real_runs(quiet_channel, OrderSync.Kind.IMPORT, list(orders.values()))
    writes = writes_since(sim, mark)
    for name, order_id in orders.items():
        assert [predicted(c) for c in dry[name].calls] == of_order(writes, order_id), (name, dry[name].outcome)
    assert len(writes) == 3
    assert [(c.remote, c.method) for c in dry["new"].calls] == [("vario", "POST"), ("vtex", "POST")]
    assert [c.path.rsplit("/", 1)[-1] for c in dry["in the ERP already"].calls] == ["start-handling"]
    assert dry["new"].outcome.endswith("imported as (number VARIO assigns); VTEX handling")
