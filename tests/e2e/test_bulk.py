"""Bulk runs end to end: the sandbox over HTTP, the run's steps in a real RQ worker (sync.bulk)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from sandbox.harness import order_pair
from sync.bulk.models import BulkRun, BulkRunItem
from sync.bulk.services import BulkRunRefused, bulk_run_cancel, bulk_run_pause, bulk_run_resume, bulk_run_start
from sync.models import OrderSync
from tests.support.stack import wait_until

ONE_ITEM = [("SKU-RED-M", 1, 1999)]
TWO_ITEMS = [("SKU-RED-M", 2, 1999), ("SKU-BLUE-L", 1, 2499)]


def ended(run: BulkRun):
    run.refresh_from_db()
    return run if run.state in (BulkRun.State.FINISHED, BulkRun.State.FAILED, BulkRun.State.CANCELLED) else None


def vtex_status(sim, order_id: str) -> str:
    return sim.vtex_order(order_id)["order"]["status"]


def vtex_writes(sim) -> list[dict]:
    return [
        r for method in ("POST", "PATCH", "PUT", "DELETE") for r in sim.get("requests", remote="vtex", method=method)
    ]


def test_initial_sync_brings_each_vtex_order_to_its_erp_state(sim, quiet_channel, worker):
    # The ERP moved on while no webhook reached the portal: shipped, partly shipped, cancelled, untouched.
    shipped_vtex, shipped = order_pair(sim, TWO_ITEMS)
    sim.post(f"vario/orders/{shipped['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-777"})
    partial_vtex, partial = order_pair(sim, TWO_ITEMS)
    first_line = sim.get(f"vario/orders/{partial['id']}")["order"]["lines"][0]["id"]
    sim.post(f"vario/orders/{partial['id']}/deliver", {"lines": [{"orderLineId": first_line, "quantity": 2}]})
    cancelled_vtex, cancelled = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{cancelled['id']}/cancel", {})
    untouched = [order_pair(sim, ONE_ITEM) for _ in range(3)]  # more than one page (BULK_PAGE_SIZE 4)

    run = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    run = wait_until(lambda: ended(run), message="initial sync ended", timeout=90)

    assert run.state == BulkRun.State.FINISHED, run.message
    assert (run.total, run.done, run.failed, run.deferred) == (6, 6, 0, 0)
    assert vtex_status(sim, shipped_vtex["orderId"]) == "invoiced"
    assert sim.vtex_order(shipped_vtex["orderId"])["invoices"][0]["trackingNumber"] == "DHL-777"
    assert vtex_status(sim, partial_vtex["orderId"]) == "invoice"  # partly invoiced
    assert vtex_status(sim, cancelled_vtex["orderId"]) in ("canceled", "cancellation-requested", "cancel")
    for vtex, _erp in untouched:
        assert vtex_status(sim, vtex["orderId"]) == "handling"  # started, nothing shipped yet
    # Every order went through the normal sync (its OrderSync and timeline), once.
    assert OrderSync.objects.filter(channel=quiet_channel, kind=OrderSync.Kind.STATUS).count() == 6
    changed = set(BulkRunItem.objects.filter(run=run, outcome="changed").values_list("key", flat=True))
    assert {shipped["id"], partial["id"], cancelled["id"]} <= changed

    # A second run finds nothing left to do: level-triggered, nothing is sent twice.
    before = len(vtex_writes(sim))
    again = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    again = wait_until(lambda: ended(again), message="second run ended", timeout=60)
    items = list(again.items.values_list("key", "outcome", "detail"))
    assert (again.state, again.done, again.unchanged) == (BulkRun.State.FINISHED, 6, 6), items
    assert len(vtex_writes(sim)) == before


def test_pause_resume_cancel_and_one_run_per_kind(sim, quiet_channel, worker, settings):
    for _ in range(6):
        order_pair(sim, ONE_ITEM)
    run = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    with pytest.raises(BulkRunRefused):
        bulk_run_start(
            channel=quiet_channel,
            kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
            scope={"since": "2000-01-01"},
            dry_run=False,
            started_by="someone else",
        )
    bulk_run_pause(run=run)
    paused_at = run.done
    run.refresh_from_db()
    assert run.state == BulkRun.State.PAUSED
    assert run.done == paused_at or run.done <= 6

    run = bulk_run_resume(run=run)
    run = wait_until(lambda: ended(run), message="resumed run ended", timeout=60)
    assert (run.state, run.done) == (BulkRun.State.FINISHED, 6)

    second = bulk_run_start(
        channel=quiet_channel,
        kind=BulkRun.Kind.ORDER_STATUS_INITIAL,
        scope={"since": "2000-01-01"},
        dry_run=False,
        started_by="test",
    )
    bulk_run_cancel(run=second)
    second.refresh_from_db()
    assert second.state == BulkRun.State.CANCELLED


def test_the_cli_starts_a_run_and_follows_it_to_its_end(sim, quiet_channel, worker):
    vtex, erp = order_pair(sim, ONE_ITEM)
    sim.post(f"vario/orders/{erp['id']}/deliver", {"carrier": "DHL", "trackingNumber": "DHL-1"})
    out = io.StringIO()

    call_command(
        "bulk_run", "shop", "order_status_initial", "--ids", erp["id"], "--wait", "--poll-seconds", "0.2", stdout=out
    )

    text = out.getvalue()
    assert "about 1 item(s)" in text and "finished: 1 done, 1 changed" in text, text
    assert vtex_status(sim, vtex["orderId"]) == "invoiced"
