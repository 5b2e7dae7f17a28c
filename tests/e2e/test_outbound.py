"""ERP → VTEX end to end: sandbox over HTTP, webhooks into the live portal, a real RQ worker."""

from mappings.models import OrderLink
from sync.models import OrderSync
from tests.support.stack import order_pair, wait_until


def sync_of(erp_order_id: str) -> OrderSync | None:
    return OrderSync.objects.filter(key=erp_order_id).first()


def settled(erp_order_id: str, *statuses: str):
    sync = sync_of(erp_order_id)
    statuses = statuses or (OrderSync.Status.DONE,)
    return sync if sync and sync.status in statuses and sync.done_generation == sync.generation else None


def test_full_shipment_with_tracking_invoices_the_whole_order(sim, channel, worker):
    vtex, erp = order_pair(sim, [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)])

    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434161234567890"})

    state = wait_until(
        lambda: (s := sim.vtex_order(vtex["orderId"]))["order"]["status"] == "invoiced" and s,
        message="VTEX order invoiced",
        timeout=30,
    )
    [invoice] = state["invoices"]
    assert invoice["trackingNumber"] == "00340434161234567890"
    assert invoice["courier"] == "DHL"
    assert "00340434161234567890" in invoice["trackingUrl"]
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    assert len(sim.requests_to("POST", "/start-handling")) == 1
    assert len(sim.requests_to("POST", "/invoice")) == 1
    link = OrderLink.objects.get(channel=channel, vtex_order_id=vtex["orderId"])
    assert link.erp_order_id == erp["id"]
