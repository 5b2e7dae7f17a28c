"""External-marketplace channels: the Channel Order API approval, with "not yet" answers waited out."""

from mappings.models import ChannelKind, ErpFulfilmentState, StatusMapping
from sandbox.harness import order_pair
from sync.models import OrderSync, TimelineEntry
from tests.e2e.test_outbound import TWO_ITEMS, vtex_status_is
from tests.support.stack import signed_post, wait_until


def make_marketplace(channel, live_server):
    channel.kind = ChannelKind.EXTERNAL_MARKETPLACE
    channel.connector_name = "vario-portal"
    channel.connector_endpoint = f"{live_server.url}/webhooks/vtex/{channel.code}"
    channel.save()
    StatusMapping.objects.filter(channel=channel, erp_state=ErpFulfilmentState.CONFIRMED).update(
        marketplace_status="approved"
    )


def test_eoi011_is_waited_out_then_the_order_is_approved_and_handled(sim, channel, worker, live_server):
    make_marketplace(channel, live_server)
    vtex, erp = order_pair(
        sim,
        TWO_ITEMS,
        marketplace={
            "marketplaceOrderId": "MKT-1001",
            "affiliateId": "MKP",
            "status": "waiting-for-manual-authorization",
        },
    )

    assert signed_post(live_server.url, "/webhooks/order-status-change", {"entityId": erp["id"]}).status_code == 200

    def eoi011_seen():
        return TimelineEntry.objects.filter(title__contains="EOI011").exists()

    wait_until(eoi011_seen, message="EOI011 received", timeout=45)
    sync = OrderSync.objects.get(key=erp["id"])
    assert sync.status in (OrderSync.Status.WAITING, OrderSync.Status.RUNNING, OrderSync.Status.PENDING)

    # The seller authorises the price divergence in VTEX; the next try is approved.
    sim.post(f"vtex/orders/{vtex['orderId']}/status", {"status": "payment-pending"})

    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "handling"), message="approved and handled", timeout=45)
    approvals = [r for r in sim.requests_to("PUT", "/api/order-integration/orders/status") if r["status"] == 200]
    assert len(approvals) >= 2
    wait_until(lambda: TimelineEntry.objects.filter(title__contains="SOI002").exists(), message="SOI002 received")
