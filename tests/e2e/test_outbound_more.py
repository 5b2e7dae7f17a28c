"""More ERP → VTEX end to end: tracking events, cancellation after invoicing, Redis down (issue 4, item 7).

Same stack as test_outbound.py: the sandbox process over HTTP, webhooks into the live portal, a
real `manage.py rqworker` process.
"""

import json
import os

from django.urls import reverse
from django.utils.html import escape

from sandbox.harness import order_pair, vario_settings
from sync.models import InboxEvent, OrderSync
from tests.e2e.test_outbound import (
    TWO_ITEMS,
    accepted,
    line_ids,
    settled,
    vtex_status_is,
    wait_invoiced,
)
from tests.support import stack
from tests.support.stack import FAST_SYNC, Worker, wait_until

PARCEL_EVENT = "shipment.parcel.completed"
DELIVERY_EVENT = "document.customer_delivery_document.order_to_delivery"
IN_TRANSIT = {"date": "2026-03-04", "city": "Leipzig", "state": "SN", "description": "Im Paketzentrum bearbeitet"}
DELIVERED = {"date": "2026-03-05", "city": "Berlin", "state": "BE", "description": "Zugestellt", "delivered": True}


def invoice_of(sim, order_id: str) -> dict:
    [invoice] = sim.vtex_order(order_id)["invoices"]
    return invoice


def courier_events(sim, order_id: str) -> list[dict]:
    status = invoice_of(sim, order_id)["courierStatus"] or {}
    return status.get("data") or []


def webhooks_answered(sim, event: str, count: int):
    """The sandbox delivered ``count`` webhooks of ``event`` and the portal answered each with a 2xx."""
    log = sim.get("vario/webhook-log", event=event)
    done = [entry for entry in log if entry["state"] == "SENT"]
    return log if len(log) >= count and len(done) == len(log) else None


def all_events_processed() -> bool:
    return not InboxEvent.objects.filter(status=InboxEvent.Status.PENDING).exists()


# --- tracking events -------------------------------------------------------------------------------


def test_tracking_events_of_a_carrier_vtex_does_not_track_are_put_on_the_invoice(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    shipped = sim.post(
        f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434160000000001"}
    )
    wait_invoiced(sim, vtex["orderId"])

    sim.post(f"vario/parcels/{shipped['parcelId']}/events", IN_TRANSIT)
    wait_until(lambda: courier_events(sim, vtex["orderId"]), message="first tracking event in VTEX")
    sim.post(f"vario/parcels/{shipped['parcelId']}/events", DELIVERED)

    def finished():
        status = invoice_of(sim, vtex["orderId"])["courierStatus"] or {}
        return status if status.get("finished") else None

    status = wait_until(finished, message="VTEX invoice marked delivered")
    assert [(e["createDate"], e["city"], e["state"], e["description"]) for e in status["data"]] == [
        ("2026-03-04", "Leipzig", "SN", "Im Paketzentrum bearbeitet"),
        ("2026-03-05", "Berlin", "BE", "Zugestellt"),
    ]
    assert status["finished"] is True
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    puts = accepted(sim, "PUT", "/tracking")
    assert 1 <= len(puts) <= 2  # one per scan, or one when both scans were read in the same run


def test_a_carrier_integrated_with_vtex_gets_no_tracking_events(sim, channel, worker):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    shipped = sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "UPS", "trackingNumber": "1Z999AA10000000001"})
    wait_invoiced(sim, vtex["orderId"])

    sim.post(f"vario/parcels/{shipped['parcelId']}/events", IN_TRANSIT)
    sim.post(f"vario/parcels/{shipped['parcelId']}/events", DELIVERED)

    # The portal heard all three parcel webhooks (tracking number, two scans) and ran the sync after them.
    wait_until(lambda: webhooks_answered(sim, PARCEL_EVENT, 3), message="parcel webhooks answered")
    wait_until(all_events_processed, message="inbox processed")
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    assert sim.requests_to("PUT", "/tracking") == []
    assert invoice_of(sim, vtex["orderId"])["courierStatus"] in (None, {})
    assert invoice_of(sim, vtex["orderId"])["trackingNumber"] == "1Z999AA10000000001"


# --- cancellation after invoicing ----------------------------------------------------------------------


def test_cancellation_after_a_partial_invoice_is_a_visible_conflict_not_a_cancel(sim, channel, worker, admin_client):
    vtex, erp = order_pair(sim, TWO_ITEMS)
    first, _ = line_ids(sim, erp["id"])
    sim.post(
        f"vario/orders/{erp['id']}/deliver",
        {"lines": [{"orderLineId": first, "quantity": 2}], "carrier": "DHL", "trackingNumber": "DHL-C1"},
    )
    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "invoice"), message="partial invoice")

    # A person cancels the rest in the ERP by hand: the order's state becomes CANCELLED (fires dissolve).
    sim.post(f"vario/orders/{erp['id']}/state", {"key": "CANCELLED"})

    conflict = wait_until(lambda: settled(erp["id"], OrderSync.Status.CONFLICT), message="conflict")
    assert sim.requests_to("POST", "/cancel") == []
    assert vtex_status_is(sim, vtex["orderId"], "invoice")
    message = conflict.message
    assert erp["number"] in message
    assert vtex["orderId"] in message
    assert "cancelled" in message
    assert "already (partly) invoiced" in message
    assert "can no longer be cancelled" in message
    assert "return invoice or by hand" in message

    changelist = admin_client.get(reverse("admin:sync_ordersync_changelist"), {"status__exact": "conflict"})
    html = changelist.content.decode()
    assert changelist.status_code == 200
    assert "Conflict (needs a person)" in html
    assert escape(f"ERP order {erp['number']} is cancelled, but VTEX order {vtex['orderId']}") in html
    page = admin_client.get(reverse("admin:sync_ordersync_change", args=[conflict.pk])).content.decode()
    assert escape(message) in page


# --- Redis down while webhooks arrive ------------------------------------------------------------------


def _point_at(stack_settings, redis_url: str) -> None:
    from portal.settings import _with_timeouts

    stack_settings.REDIS_URL = redis_url
    stack_settings.RQ_QUEUES = {
        name: {**config, "URL": _with_timeouts(redis_url, stack_settings.REDIS_SOCKET_TIMEOUT)}
        for name, config in stack_settings.RQ_QUEUES.items()
    }


def test_webhooks_arriving_while_redis_is_down_are_stored_and_swept_later(
    sim, channel, stack_settings, live_sandbox, tmp_path
):
    from sandbox.harness import RedisServer
    from sync.inbox import inbox_sweep

    redis = RedisServer().start()
    _point_at(stack_settings, redis.url)
    env = {
        **os.environ,
        **vario_settings(live_sandbox.url),
        **FAST_SYNC,
        "DATABASE_URL": stack.worker_database_url(),
        "REDIS_URL": redis.url,
    }
    workers = [Worker(env=env, log_path=tmp_path / "worker1.log").start()]
    restarted = None
    try:
        vtex, erp = order_pair(sim, TWO_ITEMS)
        redis.stop()

        sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-R1"})

        # The portal answered every webhook with 200 and stored it, though it could not enqueue.
        for event in (DELIVERY_EVENT, PARCEL_EVENT):  # the events the portal registers (sync.registration)
            [entry] = wait_until(lambda e=event: webhooks_answered(sim, e, 1), message=f"{event} answered")
            assert entry["response"]["status"] == 200
        stored = InboxEvent.objects.filter(status=InboxEvent.Status.PENDING)
        assert sorted(stored.values_list("event", flat=True)) == [DELIVERY_EVENT, PARCEL_EVENT]
        assert vtex_status_is(sim, vtex["orderId"], "ready-for-handling")

        restarted = RedisServer()
        restarted.port = redis.port  # the same address the portal and the workers are configured with
        restarted.start()
        workers.append(Worker(env=env, log_path=tmp_path / "worker2.log").start())
        stack_settings.SYNC_SWEEP_AFTER_SECONDS = 0.0
        wait_until(lambda: inbox_sweep()["events"], timeout=15, message="sweep re-enqueued the stored events")

        wait_invoiced(sim, vtex["orderId"], timeout=40)
        wait_until(lambda: settled(erp["id"]), timeout=30, message="order sync done")
        wait_until(all_events_processed, message="inbox processed")
        assert len(accepted(sim, "POST", "/invoice")) == 1
        assert len(accepted(sim, "POST", "/start-handling")) == 1
        assert OrderSync.objects.filter(key=erp["id"]).count() == 1
    finally:
        for worker in workers:
            worker.stop()
        if restarted is not None:
            restarted.stop()
        redis.stop()


def test_two_identical_scans_reach_vtex_twice_not_more_and_the_sync_settles(sim, channel, worker):
    """Carriers repeat scans (e.g. two delivery attempts on one day): the ERP's two events are two in VTEX,
    which appends what a PUT carries, so neither may be sent again."""
    vtex, erp = order_pair(sim, TWO_ITEMS)
    shipped = sim.post(
        f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "00340434160000000002"}
    )
    wait_invoiced(sim, vtex["orderId"])
    attempt = {"date": "2026-03-04", "city": "Berlin", "state": "BE", "description": "Empfänger nicht angetroffen"}

    sim.post(f"vario/parcels/{shipped['parcelId']}/events", attempt)
    sim.post(f"vario/parcels/{shipped['parcelId']}/events", attempt)

    wait_until(lambda: webhooks_answered(sim, PARCEL_EVENT, 3), message="parcel webhooks answered")
    wait_until(all_events_processed, message="inbox processed")
    wait_until(lambda: settled(erp["id"]), message="order sync done")
    assert [e["description"] for e in courier_events(sim, vtex["orderId"])] == [attempt["description"]] * 2
    puts = accepted(sim, "PUT", "/tracking")
    assert 1 <= len(puts) <= 2 and sum(len(json.loads(p["requestBody"])["events"]) for p in puts) == 2


# --- tenant-specific state keys ----------------------------------------------------------------------


def test_a_tenant_specific_cancelled_key_cancels_an_order_nothing_was_invoiced_for(sim, channel, worker):
    channel.erp_cancelled_state_keys = ["CANCELLED", "STORNO_KUNDE"]
    channel.save()
    vtex, erp = order_pair(sim, TWO_ITEMS)

    sim.post(f"vario/orders/{erp['id']}/state", {"key": "STORNO_KUNDE"})  # fires end_editing, not dissolve

    wait_until(lambda: vtex_status_is(sim, vtex["orderId"], "canceled"), message="VTEX canceled")
    wait_until(lambda: settled(erp["id"]), message="sync settled")
    assert accepted(sim, "POST", "/invoice") == []
