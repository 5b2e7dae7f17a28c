"""Orderings and duplications of one order's webhooks, end to end (issue #13, item 4).

Twenty orders live through the same ERP history at once — two delivery notes (tracking with the
first, a scan, tracking after the second), the rest closed, a goods return — and each gets VARIO's
webhooks in its own seeded random order: some held back and delivered late, some twice, all
eventually. The real web (live server), RQ worker processes and the sandbox do the rest. Every order
must end with the same VTEX state, and nothing lost or doubled.

The pure plan is checked over thousands of orderings in tests/sync/test_plan_orderings.py; this test
proves the machinery around it (inbox, locks, generations, asynchronous VTEX steps) keeps that promise.
Twenty orders in one test, driven concurrently, to keep CI time in bounds.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from sandbox.harness import Sim, order_pair
from sync.inbox import VARIO_EVENTS
from sync.models import InboxEvent, OrderSync
from sync.remotes import vario_client
from tests.e2e.test_outbound import line_ids
from tests.support.invariants import assert_nothing_lost_nothing_doubled
from tests.support.stack import Worker, portal_env, signed_post, wait_until

ORDERS = 20
ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499), ("SKU-BLACK-S", 1, 1599)]
DHL_NUMBER, UPS_NUMBER = "00340434161111111111", "1Z999AA10123456784"
SCAN = {"date": "2026-03-04", "city": "Leipzig", "state": "SN", "description": "Im Paketzentrum bearbeitet"}

NOTE = "document.customer_delivery_document.order_to_delivery"
ORDER_DELIVERED = "document.customer_order.order_to_delivery"  # VARIO fires it too; the portal ignores it
PARCEL = "shipment.parcel.completed"
CLOSED = "document.customer_order.order_close_remaining"
RETURNED = "document.customer_goods_return.create"


def erp_history(sim: Sim, erp: dict):
    """The ERP side, step by step; each step yields the webhooks VARIO fires for it (docs/sandbox-vario.md)."""
    red, blue, _black = line_ids(sim, erp["id"])
    order = {"id": int(erp["id"])}
    first = sim.post(
        f"vario/orders/{erp['id']}/deliver",
        {"lines": [{"orderLineId": red, "quantity": 2}], "carrier": "DHL", "trackingNumber": DHL_NUMBER},
    )
    parcel = {"shipmentId": int(first["shipment"]["id"]), "parcelId": int(first["parcelId"])}
    yield [(NOTE, {"id": int(first["delivery"]["id"])}), (ORDER_DELIVERED, order), (PARCEL, parcel)]
    sim.post(f"vario/parcels/{first['parcelId']}/events", SCAN)
    yield [(PARCEL, parcel)]
    second = sim.post(f"vario/orders/{erp['id']}/deliver", {"lines": [{"orderLineId": blue, "quantity": 1}]})
    yield [(NOTE, {"id": int(second["delivery"]["id"])}), (ORDER_DELIVERED, order)]
    late = sim.post(
        f"vario/deliveries/{second['delivery']['id']}/parcels", {"carrier": "UPS", "trackingNumber": UPS_NUMBER}
    )
    yield [(PARCEL, {"shipmentId": int(late["shipment"]["id"]), "parcelId": int(late["parcelId"])})]
    sim.post(f"vario/orders/{erp['id']}/close-remaining")
    yield [(CLOSED, order)]
    goods_return = sim.post(f"vario/orders/{erp['id']}/return", {"lines": [{"orderLineId": red, "quantity": 1}]})
    yield [(RETURNED, {"id": int(goods_return["id"])})]


def drive(sandbox_url: str, portal_url: str, seed: int) -> tuple[dict, dict, list[str]]:
    """One order: the ERP history, and its webhooks shuffled, held back, duplicated; all delivered."""
    rng = random.Random(f"orderings:{seed}")
    sim = Sim(sandbox_url)  # a session of its own: one per thread
    vtex, erp = order_pair(sim, ITEMS)
    fired: list[tuple[str, dict]] = []
    held: list[tuple[str, dict]] = []
    delivered: list[str] = []

    def deliver(batch):
        for event, body in batch:
            response = signed_post(portal_url, f"/webhooks/vario/{event}", body)
            assert response.status_code == 200, f"{event}: {response.status_code} {response.text[:300]}"
            delivered.append(event)

    for webhooks in erp_history(sim, erp):
        fired += webhooks
        held += webhooks
        rng.shuffle(held)
        cut = rng.randint(0, len(held))
        now, held = held[:cut], held[cut:]
        now += rng.sample(fired, rng.randint(0, 1))  # VARIO delivers at least once: duplicates
        rng.shuffle(now)
        deliver(now)
    rest = held + rng.sample(fired, rng.randint(1, 2))
    rng.shuffle(rest)
    deliver(rest)
    return vtex, erp, delivered


def vtex_state(sim: Sim, order_id: str) -> dict:
    """What VTEX shows of an order, without what differs between orders by nature (ids, numbers, times)."""
    state = sim.vtex_order(order_id)
    invoices = sorted(
        (
            invoice["type"],
            tuple((i["itemIndex"], i["quantity"], i["price"]) for i in invoice["items"]),
            int(invoice["invoiceValue"]),
            invoice["courier"],
            invoice["trackingNumber"],
            invoice["trackingUrl"],
            tuple(
                (e["city"], e["state"], e["description"], e["createDate"])
                for e in (invoice.get("courierStatus") or {}).get("data") or []
            ),
            bool((invoice.get("courierStatus") or {}).get("finished")),
        )
        for invoice in state["invoices"]
    )
    return {
        "status": state["order"]["status"],
        "value": state["order"]["value"],
        "items": [(i["refId"], i["quantity"]) for i in state["order"]["items"]],
        "removed": [[(r["id"], r["quantity"]) for r in c["remove"]["items"]] for c in state["changes"]],
        "invoices": invoices,
        "notes": len(state["notes"]),
    }


def finished(sim: Sim, order_id: str) -> bool:
    """The return invoice is there: the last thing the history asks of VTEX."""
    return any(invoice["type"] == "Input" for invoice in sim.vtex_order(order_id)["invoices"])


def open_work() -> list[tuple]:
    pending = InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).count()
    syncs = OrderSync.objects.exclude(status=OrderSync.Status.DONE).values_list(
        "vtex_order_id", "status", "generation", "done_generation", "message"
    )
    return [("pending events", pending), *syncs]


def work_settled() -> bool:
    return (
        not InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).exists()
        and not OrderSync.objects.filter(status__in=OrderSync.OPEN).exists()
    )


@pytest.fixture
def webhooks_from_the_test_only(channel, live_server, sim):
    """VARIO's own deliveries off: the test is VARIO's delivery, in the orders it chooses."""
    client = vario_client()
    for registration in sim.get("vario/webhooks"):
        client.deregister_webhook(event=registration["destinationQueue"], url=registration["url"])
    assert sim.get("vario/webhooks") == []
    client.close()


def test_twenty_orderings_of_one_orders_webhooks_end_in_the_same_vtex_state(
    sim, channel, webhooks_from_the_test_only, live_sandbox, live_server, stack_settings, tmp_path
):
    # Rate limits are other tests' subject; here VARIO's 40 calls per 6 s would make 20 orders take minutes.
    assert sim.session.delete(f"{sim.url}/_sim/rate-limits", timeout=10).status_code == 200
    env = portal_env(
        sandbox_url=live_sandbox.url,
        redis_url=stack_settings.REDIS_URL,
        VARIO_RATE="10000/1",
        VTEX_DEFAULT_RATE="10000/1",
    )
    workers = [Worker(env=env, log_path=tmp_path / f"worker-{n}.log").start() for n in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=ORDERS) as pool:
            runs = list(pool.map(lambda seed: drive(sim.url, live_server.url, seed), range(ORDERS)))
        orders = [vtex["orderId"] for vtex, _, _ in runs]
        try:
            wait_until(lambda: all(finished(sim, o) for o in orders), timeout=90, message="every return invoiced")
            wait_until(work_settled, timeout=60, message="every stored event and order settled")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; open work: {open_work()}") from None
    finally:
        for worker in workers:
            worker.stop()

    assert len({tuple(delivered) for _, _, delivered in runs}) > 1, "the orderings did not differ"
    states = [vtex_state(sim, order_id) for order_id in orders]
    first = states[0]
    assert all(state == first for state in states), [i for i, s in enumerate(states) if s != first]
    # …and it is the state the ERP history calls for.
    assert first["status"] == "invoiced"
    assert first["items"] == [("SKU-RED-M", 2), ("SKU-BLUE-L", 1), ("SKU-BLACK-S", 0)]
    assert first["removed"] == [[("102", 1)]]
    [(_, lines_out, _, courier, number, *_rest, events, _delivered), *_] = [
        i for i in first["invoices"] if i[0] == "Output" and i[1][0][0] == 0
    ]
    assert (lines_out, courier, number) == (((0, 2, 1999),), "DHL", DHL_NUMBER)
    assert [e[:3] for e in events] == [(SCAN["city"], SCAN["state"], SCAN["description"])]
    [returned] = [i for i in first["invoices"] if i[0] == "Input"]
    assert returned[1] == ((0, 1, 1999),)
    assert {i[4] for i in first["invoices"] if i[0] == "Output"} == {DHL_NUMBER, UPS_NUMBER}
    assert first["notes"] == 0
    stored = InboxEvent.objects.filter(event__in=VARIO_EVENTS).count()
    assert stored == sum(len([e for e in delivered if e in VARIO_EVENTS]) for _, _, delivered in runs)
    assert_nothing_lost_nothing_doubled(sim)
