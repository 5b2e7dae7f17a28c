"""ERP → VTEX end to end: sandbox over HTTP, webhooks into the live portal, a real RQ worker."""

import itertools
import time

import pytest
import requests
from django.utils import timezone

from mappings.models import CarrierCode, OrderLink, SyncType, TransferToggle
from sandbox.harness import order_pair
from sync.models import OrderSync
from tests.support.stack import signed_post, wait_until

TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]


def sync_of(erp_order_id: str) -> OrderSync | None:
    return OrderSync.objects.filter(key=erp_order_id).first()


def settled(erp_order_id: str, *statuses: str):
    sync = sync_of(erp_order_id)
    statuses = statuses or (OrderSync.Status.DONE,)
    return sync if sync and sync.status in statuses and sync.done_generation == sync.generation else None


def vtex_status_is(sim, order_id: str, status: str):
    state = sim.vtex_order(order_id)
    return state if state["order"]["status"] == status else None


def wait_invoiced(sim, order_id: str, timeout: float = 30):
    return wait_until(
        lambda: vtex_status_is(sim, order_id, "invoiced"), message=f"{order_id} invoiced", timeout=timeout
    )


def accepted(sim, method: str, path: str) -> list[dict]:
    return [r for r in sim.requests_to(method, path) if 200 <= r["status"] < 300]


def line_ids(sim, erp_id: str) -> list[str]:
    return [line["id"] for line in sim.get(f"vario/orders/{erp_id}")["order"]["lines"]]


def test_documents_and_shipments_the_events_named_are_read_when_varios_queries_do_not_show_them(sim, channel, worker):
    # Every VQL query answers "nothing" (an index lagging behind the events, or a tenant without the
    # unconfirmed shipment source): the webhooks' own ids must carry the delivery note and its parcel.
    sim.post(
        "faults",
        {
            "remote": "vario",
            "method": "POST",
            "pathPattern": "/computed-queries/execute$",
            "kind": "status",
            "statusCode": 200,
            "body": {"data": []},
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434169999999999"})

    [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert invoice["trackingNumber"] == "00340434169999999999"
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    assert len(accepted(sim, "POST", "/invoice")) == 1
    refs = sync_of(erp["id"]).erp_refs
    assert len(refs["documents"]) == 1 and len(refs["shipments"]) == 1


def test_full_shipment_with_tracking_invoices_the_whole_order(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434161234567890"})

    [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert (invoice["trackingNumber"], invoice["courier"]) == ("00340434161234567890", "DHL")
    assert invoice["trackingUrl"] == "https://www.dhl.de/track?piececode=00340434161234567890"
    assert int(invoice["invoiceValue"]) == vtex["value"]
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    assert len(accepted(sim, "POST", "/start-handling")) == 1
    assert len(accepted(sim, "POST", "/invoice")) == 1
    link = OrderLink.objects.get(channel=channel, vtex_order_id=vtex["orderId"])
    assert (link.erp_order_id, link.vtex_status) == (erp["id"], "invoiced")


def test_split_shipment_with_two_carriers_is_two_partial_invoices(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    first, second = line_ids(sim, erp["id"])

    sim.post(
        f"vario/orders/{erp['id']}/deliver",
        {"lines": [{"orderLineId": first, "quantity": 2}], "carrier": "DHL", "trackingNumber": "DHL-1"},
    )
    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "invoice"), message="partial invoice")
    sim.post(
        f"vario/orders/{erp['id']}/deliver",
        {"lines": [{"orderLineId": second, "quantity": 1}], "carrier": "UPS", "trackingNumber": "1Z999"},
    )

    invoices = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert [(i["courier"], i["trackingNumber"]) for i in invoices] == [("DHL", "DHL-1"), ("UPS", "1Z999")]
    assert sum(int(i["invoiceValue"]) for i in invoices) == vtex["value"]
    assert [[(it["quantity"]) for it in i["items"]] for i in invoices] == [[2], [1]]


def test_tracking_after_the_invoice_is_patched_onto_it(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    delivery = sim.post(f"vario/orders/{erp['id']}/deliver", {})["delivery"]
    [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert invoice["trackingNumber"] in ("", None)

    sim.post(f"vario/deliveries/{delivery['id']}/parcels", {"carrier": "DPD", "trackingNumber": "01234567890123"})

    def tracked():
        [current] = sim.vtex_order(vtex["orderId"])["invoices"]
        return current if current["trackingNumber"] == "01234567890123" else None

    current = wait_until(tracked, message="tracking patched")
    assert current["courier"] == "DPD"
    wait_until(lambda: settled(erp["id"]), message="sync settled")
    assert len(accepted(sim, "PATCH", "/invoice/")) == 1


def test_cancellation_before_invoicing_cancels_with_a_timeline_note(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/cancel")

    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "canceled"), message="VTEX canceled")
    [note] = wait_until(lambda: sim.vtex_order(vtex["orderId"])["notes"], message="timeline note")
    assert erp["number"] in note["description"]
    wait_until(lambda: settled(erp["id"]), message="sync settled")
    assert accepted(sim, "POST", "/invoice") == []


def test_the_rest_closed_after_a_partial_delivery_is_removed_and_the_order_completes(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    first, _ = line_ids(sim, erp["id"])
    sim.post(
        f"vario/orders/{erp['id']}/deliver",
        {"lines": [{"orderLineId": first, "quantity": 2}], "carrier": "DHL", "trackingNumber": "DHL-2"},
    )
    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "invoice"), message="partial invoice")

    sim.post(f"vario/orders/{erp['id']}/close-remaining")

    state = wait_invoiced(sim, vtex["orderId"])
    [change] = state["changes"]
    assert [(r["id"], r["quantity"]) for r in change["remove"]["items"]] == [(vtex["items"][1]["id"], 1)]
    assert len(state["invoices"]) == 1


def test_a_goods_return_becomes_a_return_invoice(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-3"})
    wait_invoiced(sim, vtex["orderId"])
    first, _ = line_ids(sim, erp["id"])

    sim.post(f"vario/orders/{erp['id']}/return", {"lines": [{"orderLineId": first, "quantity": 1}]})

    def returned():
        invoices = sim.vtex_order(vtex["orderId"])["invoices"]
        return [i for i in invoices if i["type"] == "Input"]

    [refund] = wait_until(returned, message="return invoice")
    assert [(it["quantity"], it["price"]) for it in refund["items"]] == [(1, 1999)]
    assert int(refund["invoiceValue"]) == 1999


def signed_webhook(live_server, event: str, body: dict) -> requests.Response:
    return signed_post(live_server.url, f"/webhooks/vario/{event}", body)


def test_the_same_webhook_ten_times_invoices_once(sim, channel, worker, live_server):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    delivery = sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-4"})["delivery"]
    for _ in range(10):
        assert (
            signed_webhook(
                live_server, "document.customer_delivery_document.order_to_delivery", {"id": int(delivery["id"])}
            ).status_code
            == 200
        )

    wait_invoiced(sim, vtex["orderId"])
    wait_until(lambda: settled(erp["id"]), message="sync settled")
    assert len(accepted(sim, "POST", "/invoice")) == 1
    assert OrderSync.objects.filter(key=erp["id"]).count() == 1


def test_reordered_webhooks_still_end_in_the_right_state(sim, channel, worker, live_server):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post("faults", {"remote": "vario", "kind": "latency", "latencyMs": 0})  # no-op rule keeps logs comparable
    result = sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-5"})
    # The parcel event first, then the delivery note event, then an old order event.
    signed_webhook(
        live_server,
        "shipment.parcel.completed",
        {"shipmentId": int(result["shipment"]["id"]), "parcelId": int(result["parcelId"])},
    )
    signed_webhook(
        live_server, "document.customer_delivery_document.order_to_delivery", {"id": int(result["delivery"]["id"])}
    )
    signed_webhook(live_server, "document.customer_order.dissolve", {"id": int(erp["id"])})

    [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert invoice["trackingNumber"] == "DHL-5"
    wait_until(lambda: settled(erp["id"]), message="sync settled")
    assert accepted(sim, "POST", "/cancel") == []


def test_a_429_storm_is_waited_out_without_calling_inside_retry_after(sim, channel, worker):
    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "POST",
            "pathPattern": "/invoice$",
            "kind": "status",
            "statusCode": 429,
            "retryAfter": 1,
            "remaining": 3,
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-6"})

    wait_invoiced(sim, vtex["orderId"], timeout=60)
    calls = wait_until(
        lambda: (c := sim.requests_to("POST", "/invoice")) and c[-1]["status"] == 200 and c, message="request log"
    )
    assert [c["status"] for c in calls] == [429, 429, 429, 200]
    for previous, following in itertools.pairwise(calls):
        gap = timezone.datetime.fromisoformat(following["at"]) - timezone.datetime.fromisoformat(previous["at"])
        assert gap.total_seconds() >= 0.95, "a call was made inside the Retry-After window"


def test_5xx_then_success(sim, channel, worker):
    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "POST",
            "pathPattern": "/invoice$",
            "kind": "status",
            "statusCode": 503,
            "remaining": 2,
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-7"})

    wait_invoiced(sim, vtex["orderId"], timeout=60)
    # The sandbox logs a request after answering it: wait for the last entry, not just its effect.
    statuses = wait_until(
        lambda: (
            [c["status"] for c in sim.requests_to("POST", "/invoice")][2:]
            and [c["status"] for c in sim.requests_to("POST", "/invoice")]
        ),
        message="request log",
    )
    assert statuses == [503, 503, 200]


def test_an_unmapped_carrier_parks_the_order_until_the_mapping_is_saved(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "GLS", "trackingNumber": "GLS-1"})

    parked = wait_until(lambda: settled(erp["id"], OrderSync.Status.PARKED), message="parked")
    assert parked.needs_mapping == "carrier:GLS"
    assert "GLS" in parked.message
    assert vtex_status_is(sim, vtex["orderId"], "ready-for-handling")

    CarrierCode.objects.create(
        channel=channel,
        erp_carrier_key="GLS",
        vtex_courier_name="GLS",
        tracking_url_template="https://gls-group.com/track/{tracking_number}",
    )

    [invoice] = wait_invoiced(sim, vtex["orderId"])["invoices"]
    assert invoice["courier"] == "GLS"


def test_order_status_upload_switched_off_pushes_nothing(sim, channel, worker):
    TransferToggle.objects.filter(channel=channel, sync_type=SyncType.ORDER_STATUS_UPLOAD).update(enabled=False)
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-8"})

    skipped = wait_until(lambda: settled(erp["id"], OrderSync.Status.SKIPPED), message="skipped")
    assert "switched off" in skipped.message
    assert vtex_status_is(sim, vtex["orderId"], "ready-for-handling")
    assert sim.requests_to("POST", "/start-handling") == []


@pytest.mark.parametrize("kill_during", ["/invoice$"])
def test_a_worker_killed_in_the_middle_of_a_push_loses_and_doubles_nothing(
    sim, channel, worker, kill_during, stack_settings, tmp_path
):
    from sync.inbox import inbox_sweep
    from tests.support.stack import Worker

    sim.post(
        "faults",
        {
            "remote": "vtex",
            "method": "POST",
            "pathPattern": kill_during,
            "kind": "latency",
            "latencyMs": 2500,
            "remaining": 1,
        },
    )
    vtex, erp = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-9"})
    wait_until(lambda: sim.requests_to("POST", "/start-handling"), message="handling started")
    time.sleep(0.8)  # the invoice request is now held by the latency fault: the push is in flight
    worker.kill()

    # VTEX accepted the invoice after the worker died; nobody recorded it.
    wait_until(lambda: accepted(sim, "POST", "/invoice"), message="invoice accepted by VTEX")
    replacement = Worker(env=worker.env, log_path=tmp_path / "worker2.log").start()
    try:
        stack_settings.SYNC_LOCK_SECONDS = 0.0
        wait_until(lambda: inbox_sweep()["orders"] or settled(erp["id"]), timeout=15, message="swept")
        wait_until(lambda: settled(erp["id"]), timeout=45, message="order settled after the crash")
    finally:
        replacement.stop()
    assert len(accepted(sim, "POST", "/invoice")) == 1
    assert vtex_status_is(sim, vtex["orderId"], "invoiced")
